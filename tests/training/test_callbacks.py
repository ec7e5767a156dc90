"""The paper's LR schedule and the validation metrics of the training callbacks."""

import json

import keras
import numpy as np
import pytest

from hg_keras.training.callbacks import (
    LIMB_JOINTS,
    PlateauLearningRateDrop,
    limb_accuracy,
    save_model_atomically,
    step_schedule,
)


def _model_with_optimizer(learning_rate):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate), loss="mse")
    return model


def _run(callback, values):
    """Feed a sequence of validation values; return the learning rate after each epoch."""
    rates = []
    callback.on_train_begin()
    for epoch, value in enumerate(values):
        logs = {"val_pckh": value}
        callback.on_epoch_end(epoch, logs)
        rates.append(logs["learning_rate"])
    return rates


def test_plateau_drops_once_by_a_factor_of_five_and_never_again():
    callback = PlateauLearningRateDrop("val_pckh", factor=0.2, patience=2, min_delta=0.5, verbose=0)
    callback.set_model(_model_with_optimizer(2.5e-4))
    rates = _run(callback, [10, 20, 20.2, 20.4, 20.1, 20.0, 20.0, 20.0])
    # improvement of 0.2 and 0.4 < min_delta: two stale epochs -> drop at epoch index 3
    assert rates == pytest.approx([2.5e-4, 2.5e-4, 2.5e-4, 5e-5, 5e-5, 5e-5, 5e-5, 5e-5], rel=1e-6)


def test_plateau_allows_more_drops_when_asked():
    callback = PlateauLearningRateDrop("val_pckh", factor=0.2, patience=1, min_delta=0.0,
                                       max_drops=2, verbose=0)
    callback.set_model(_model_with_optimizer(1.0))
    assert _run(callback, [5, 5, 5, 5]) == pytest.approx([1.0, 0.2, 0.04, 0.04], rel=1e-6)


def test_plateau_state_survives_a_restart(tmp_path):
    state = tmp_path / "lr_state.json"
    first = PlateauLearningRateDrop(
        "val_pckh", patience=1, min_delta=0.0, state_path=state, verbose=0
    )
    first.set_model(_model_with_optimizer(1.0))
    _run(first, [5, 5])
    assert json.loads(state.read_text())["drops"] == 1
    second = PlateauLearningRateDrop(
        "val_pckh", patience=1, min_delta=0.0, state_path=state, verbose=0
    )
    model = _model_with_optimizer(1.0)
    second.set_model(model)
    # the restarted run keeps the dropped rate and does not drop a second time
    assert _run(second, [5, 5, 5]) == pytest.approx([0.2, 0.2, 0.2], rel=1e-6)


def test_step_schedule_of_the_ports():
    schedule = step_schedule(2.5e-4, (60, 90), factor=0.1)
    assert [schedule(e) for e in (0, 59, 60, 89, 90)] == pytest.approx(
        [2.5e-4, 2.5e-4, 2.5e-5, 2.5e-5, 2.5e-6]
    )


def test_limb_accuracy_pools_wrists_elbows_knees_and_ankles():
    gt = np.zeros((2, 16, 2))
    pred = np.zeros((2, 16, 2))
    pred[0, 10] = [6.0, 0.0]  # right wrist 0.6 head sizes away: wrong
    pred[1, 0] = [5.0, 0.0]  # right ankle exactly at 0.5: correct
    pred[:, 9] = [100.0, 0.0]  # head top is not a limb: ignored
    annotated = np.ones((2, 16), bool)
    annotated[1, 15] = False  # an unannotated left wrist is not counted
    value = limb_accuracy(pred, gt, annotated, np.array([10.0, 10.0]), 0.5, LIMB_JOINTS["pckh"])
    assert value == pytest.approx(100.0 * 14 / 15)


def test_model_is_saved_atomically_and_loads_safely(tmp_path):
    model = _model_with_optimizer(0.1)
    path = tmp_path / "last.keras"
    save_model_atomically(model, path)
    assert [p.name for p in tmp_path.iterdir()] == ["last.keras"]
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_array_equal(loaded.get_weights()[0], model.get_weights()[0])


def test_validation_runs_every_n_epochs_and_marks_the_epochs_it_measured():
    import pandas as pd

    from hg_keras.datasets.synthetic import SYNTHETIC_INFO
    from hg_keras.training import PCKValidation
    from hg_keras.training.curves import validated_epochs

    records = pd.DataFrame({"joints": [np.zeros((16, 2))], "annotated": [np.ones(16, bool)],
                            "norm_size": [10.0]})
    callback = PCKValidation(None, records, SYNTHETIC_INFO, every_n_epochs=2)
    measured = iter([{"val_pckh": 10.0}, {"val_pckh": 30.0}, {"val_pckh": 50.0}])
    callback.evaluate = lambda: next(measured)
    rows = []
    for epoch in range(5):
        logs = {"epoch": epoch, "loss": 1.0}
        callback.on_epoch_end(epoch, logs)
        rows.append(logs)
    history = pd.DataFrame(rows)
    # the first epoch always validates, then every second one; the others repeat the values
    assert list(history["val_pckh"]) == [10.0, 30.0, 30.0, 50.0, 50.0]
    assert list(history["val_evaluated"]) == [1.0, 1.0, 0.0, 1.0, 0.0]
    assert list(validated_epochs(history)["epoch"]) == [0, 1, 3]


def test_elapsed_minutes_keep_counting_across_a_resume(tmp_path):
    import pandas as pd

    from hg_keras.training import ElapsedTime

    class SlowEpoch(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            import time

            time.sleep(0.3)

    model = _model_with_optimizer(0.01)
    x, y = np.ones((4, 2), np.float32), np.ones((4, 1), np.float32)
    path = tmp_path / "history.csv"
    callbacks = [SlowEpoch(), ElapsedTime(offset_min=5.0), keras.callbacks.CSVLogger(str(path))]
    model.fit(x, y, epochs=3, verbose=0, callbacks=callbacks)
    minutes = pd.read_csv(path)["elapsed_min"].to_numpy()
    # 5 minutes of an earlier session, then at least 0.3 s more per epoch
    assert minutes[0] >= 5.0 + 0.3 / 60 and np.all(np.diff(minutes) >= 0.3 / 60)
    assert minutes[-1] < 5.0 + 1.0


def test_training_curve_marks_the_learning_rate_drop_and_shows_minutes(tmp_path):
    import pandas as pd

    from hg_keras.training.curves import (
        learning_rate_drops,
        minutes_at_epochs,
        plot_training_curve,
    )

    history = pd.DataFrame({
        "epoch": [0, 1, 2, 3],
        "loss": [0.05, 0.02, 0.015, 0.01],
        "learning_rate": [8e-3, 8e-3, 1.6e-3, 1.6e-3],
        "val_pckh": [7.0, 18.0, 40.0, 41.0],
        "val_evaluated": [1.0, 1.0, 1.0, 0.0],
        "elapsed_min": [2.5, 3.8, 5.0, 6.1],
    })
    # the third epoch (number 3 on the axis) is the first one at a fifth of the rate
    assert learning_rate_drops(history) == [(3, 0.2)]
    assert learning_rate_drops(history.drop(columns="learning_rate")) == []
    path = plot_training_curve(history, tmp_path / "curve.png")
    assert path.stat().st_size > 10_000
    # the minutes axis starts at 0 minutes at epoch 0, before the first epoch's 2.5 minutes
    numbers, minutes = minutes_at_epochs(history)
    assert list(numbers) == [0, 1, 2, 3, 4] and list(minutes) == [0, 2.5, 3.8, 5.0, 6.1]


class _Clock:
    """A stand-in for ``time.monotonic`` that moves only when told to."""

    def __init__(self):
        self.seconds = 1000.0

    def __call__(self):
        return self.seconds

    def advance(self, minutes):
        self.seconds += 60.0 * minutes


def _budget_run(budget, epochs, train_min, pause_min, validation=None):
    """Drive ``budget`` (and ``validation`` after it) through epochs of a fake clock.

    Returns the learning rate of each epoch and the epoch at which training stopped.
    """
    clock = _Clock()
    budget.clock = clock
    model = _model_with_optimizer(1.0)
    model.stop_training = False
    budget.set_model(model)
    if validation is not None:
        validation.set_model(model)
    budget.on_train_begin()
    rates, rows = [], []
    for epoch in range(epochs):
        budget.on_epoch_begin(epoch)
        rates.append(float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)))
        clock.advance(train_min)
        logs = {}
        budget.on_epoch_end(epoch, logs)
        if validation is not None:
            validation.on_epoch_end(epoch, logs)
        rows.append(logs)
        clock.advance(pause_min[epoch] if isinstance(pause_min, list) else pause_min)
        if model.stop_training:
            break
    return rates, epoch, rows


def test_time_budget_stops_when_the_next_epoch_would_end_after_the_budget():
    from hg_keras.training import TimeBudget

    budget = TimeBudget(limit_min=10.0, verbose=0)
    _, stopped, _ = _budget_run(budget, epochs=20, train_min=3.0, pause_min=0.5)
    # epoch 0 ends at 3.0 (no pause seen yet: 3.0 + 3.0 < 10); epoch 1 ends at 6.5, and
    # its pause, a third epoch and that epoch's pause would end at 6.5 + 0.5 + 3 + 0.5 = 10.5
    assert stopped == 1 and budget.stopped_epoch == 1


def test_time_budget_counts_the_minutes_of_earlier_sessions():
    from hg_keras.training import TimeBudget

    budget = TimeBudget(limit_min=10.0, offset_min=6.0, verbose=0)
    _, stopped, _ = _budget_run(budget, epochs=20, train_min=1.0, pause_min=0.0)
    # 6 minutes spent before: epochs end at 7, 8, 9; after the one ending at 9 another
    # would end at 10 (allowed), after the one ending at 10 none fits
    assert stopped == 3


def test_time_budget_drops_the_learning_rate_once_at_its_fraction():
    from hg_keras.training import TimeBudget

    budget = TimeBudget(limit_min=10.0, drop_at=0.5, drop_factor=0.2, verbose=0)
    rates, stopped, _ = _budget_run(budget, epochs=20, train_min=2.0,
                                    pause_min=0.0)
    # epochs start at 0, 2, 4, 6, 8 minutes: the ones starting at or after 5 use the drop
    assert stopped == 4
    assert rates == pytest.approx([1.0, 1.0, 1.0, 0.2, 0.2], rel=1e-6)


def test_the_epoch_where_the_budget_stops_training_is_validated():
    import pandas as pd

    from hg_keras.datasets.synthetic import SYNTHETIC_INFO
    from hg_keras.training import PCKValidation, TimeBudget

    records = pd.DataFrame({"joints": [np.zeros((16, 2))], "annotated": [np.ones(16, bool)],
                            "norm_size": [10.0]})
    validation = PCKValidation(None, records, SYNTHETIC_INFO, every_n_epochs=4)
    measured = iter([{"val_pckh": 10.0}, {"val_pckh": 40.0}])
    validation.evaluate = lambda: next(measured)
    budget = TimeBudget(limit_min=7.0, verbose=0)
    _, stopped, rows = _budget_run(budget, epochs=20, train_min=2.0,
                                   pause_min=0.0, validation=validation)
    # epochs end at 2, 4, 6: validated at the first and at the third, where training stops,
    # although every_n_epochs=4 would wait for the fourth
    assert stopped == 2
    assert [row["val_pckh"] for row in rows] == [10.0, 10.0, 40.0]
    assert [row["val_evaluated"] for row in rows] == [1.0, 0.0, 1.0]


def test_time_budget_drops_at_the_fraction_of_the_epochs_when_they_run_out_first():
    from hg_keras.training import TimeBudget

    budget = TimeBudget(limit_min=100.0, drop_at=0.75, drop_factor=0.2, verbose=0)
    budget.set_params({"epochs": 4})
    rates, stopped, _ = _budget_run(budget, epochs=4, train_min=1.0, pause_min=0.0)
    # a fast machine: 4 epochs take 4 of 100 minutes; the drop comes at epoch 3 = 0.75 * 4
    assert stopped == 3 and budget.stopped_epoch is None
    assert rates == pytest.approx([1.0, 1.0, 1.0, 0.2], rel=1e-6)


def test_time_budget_projects_with_the_recent_pauses_not_the_first_validation():
    from hg_keras.training import TimeBudget

    # the first validation also builds the prediction function: 2 minutes; later ones 0.5
    pauses = [2.0, 0.0, 0.5, 0.0, 0.5, 0.0, 0.5, 0.0]
    # epochs of 1 minute then end at 1, 4, 5, 6.5, 7.5, 9, 10, 11.5
    recent = TimeBudget(limit_min=12.0, recent_pauses=2, verbose=0)
    _, stopped, _ = _budget_run(recent, epochs=8, train_min=1.0, pause_min=pauses)
    # at 10 the last two pauses (0.5, 0) project 10 + 1 + 2 * 0.5 = 12: one more epoch
    assert stopped == 7
    every = TimeBudget(limit_min=12.0, recent_pauses=100, verbose=0)
    _, stopped, _ = _budget_run(every, epochs=8, train_min=1.0, pause_min=pauses)
    # with the first pause in view: at 7.5, 7.5 + 1 + 2 * 2 = 12.5 > 12, three epochs early
    assert stopped == 4
