"""Keras callbacks for the paper's training (§3.4, §4.2): PCK/PCKh validation and LR drops.

Each callback works on its own in user code with plain ``model.fit``. Put ``PCKValidation``
before callbacks that read its metrics (``ModelCheckpoint``, ``EarlyStopping``,
``PlateauLearningRateDrop``, ``CSVLogger``, ``TensorBoard``): Keras hands the same ``logs``
dict to every callback in list order.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

import keras
import numpy as np

from hg_keras.evaluation import normalized_distances, pck_table, pckh_table, predict_dataset

#: Joints of the Fig. 8 metric (wrists, elbows, knees, ankles) by dataset metric.
LIMB_JOINTS = {
    "pckh": (0, 1, 4, 5, 10, 11, 14, 15),  # MPII ankles, knees, wrists, elbows
    "pck": (1, 2, 4, 5),  # FLIC elbows and wrists
}


def limb_accuracy(pred_xy, gt_xy, annotated, norm_size, threshold, joints) -> float:
    """Percent of annotated ``joints`` within ``threshold`` (pooled over instances)."""
    distances = normalized_distances(pred_xy, gt_xy, annotated, norm_size)[:, list(joints)]
    valid = ~np.isnan(distances)
    if not valid.any():
        return float("nan")
    return float(100.0 * np.mean(distances[valid] <= threshold))


class PCKValidation(keras.callbacks.Callback):
    """Decode the validation set every ``every_n_epochs`` and log PCKh / PCK.

    Logs (for ``info.metric == "pckh"``, MPII-style joints) ``val_pckh`` (the official Total)
    and ``val_pckh_limbs`` (mean over wrists, elbows, knees and ankles: the Fig. 8 metric);
    for ``"pck"`` (FLIC) ``val_pck`` (all joints pooled), ``val_pck_elbow``, ``val_pck_wrist``
    and ``val_pck_limbs``. The first epoch validates too, and so does an epoch at whose end
    an earlier callback (``TimeBudget``) has stopped training, so a run always ends on fresh
    values. Epochs between validations repeat the last values so that every
    row of ``history.csv`` is complete; ``val_evaluated`` is 1 on the epochs that validated
    and 0 on those that repeat (the training curve plots only the former).

    Args:
        dataset: eval-mode dataset from ``hg_keras.data.make_dataset(..., training=False)``
            (with ``PipelineConfig(flip_test=True)`` for the flip test).
        records: the records the dataset was built from (ground truth, normalisers).
        info: the dataset's ``DatasetInfo``.
        every_n_epochs: validation period.
        flip_test: average with the mirrored crop (needs ``image_flipped`` in the dataset).

    Example:
        >>> val = make_dataset(val_records, info, PipelineConfig(flip_test=True), training=False)
        >>> model.fit(train, epochs=10, callbacks=[PCKValidation(val, val_records, info)])
    """

    def __init__(self, dataset, records, info, every_n_epochs: int = 1, flip_test: bool = True):
        super().__init__()
        self.dataset = dataset
        self.info = info
        self.every_n_epochs = every_n_epochs
        self.flip_test = flip_test
        self.gt_xy = np.stack(records["joints"].to_numpy()).astype(np.float64)
        self.annotated = np.stack(records["annotated"].to_numpy()).astype(bool)
        self.norm_size = records["norm_size"].to_numpy(dtype=np.float64)
        self.last_logs: dict = {}

    def evaluate(self) -> dict:
        """Predict the validation set now and return the metrics (no ``logs`` needed)."""
        permutation = self.info.flip_permutation if self.flip_test else None
        predictions = predict_dataset(self.model, self.dataset, permutation, progress=False)
        gt = self.gt_xy[predictions.index]
        annotated = self.annotated[predictions.index]
        norm = self.norm_size[predictions.index]
        limbs = limb_accuracy(
            predictions.coords, gt, annotated, norm, self.info.threshold,
            LIMB_JOINTS.get(self.info.metric, ()),
        )
        if self.info.metric == "pckh" and self.info.num_joints == 16:
            table = pckh_table(predictions.coords, gt, annotated, norm, self.info.threshold)
            return {"val_pckh": table["Total"], "val_pckh_limbs": limbs}
        if self.info.metric == "pck" and self.info.name == "flic":
            table = pck_table(predictions.coords, gt, annotated, norm, self.info.threshold)
            return {
                "val_pck": table["Total"],
                "val_pck_elbow": table["Elbow"],
                "val_pck_wrist": table["Wrist"],
                "val_pck_limbs": limbs,
            }
        key = f"val_{self.info.metric}"
        everything = limb_accuracy(
            predictions.coords, gt, annotated, norm, self.info.threshold,
            range(self.info.num_joints),
        )
        return {key: everything}

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        # The first epoch, every n-th, and the last one when a callback stops training.
        stopping = bool(getattr(self.model, "stop_training", False))
        evaluated = (epoch + 1) % self.every_n_epochs == 0 or not self.last_logs or stopping
        if evaluated:
            self.last_logs = self.evaluate()
        logs.update(self.last_logs)
        logs["val_evaluated"] = float(evaluated)


class _TrainingClock(keras.callbacks.Callback):
    """Wall-clock minutes since ``fit`` began, plus those of earlier sessions of the run.

    The clock also starts at construction, so it works when called by hand without
    ``on_train_begin``. ``clock`` returns seconds (``time.monotonic``; a fake one in tests).
    """

    def __init__(self, offset_min: float = 0.0, clock=time.monotonic):
        super().__init__()
        self.offset_min = float(offset_min)
        self.clock = clock
        self._started = self.clock()

    def elapsed_min(self) -> float:
        """Minutes spent so far, earlier sessions included."""
        return self.offset_min + (self.clock() - self._started) / 60.0

    def on_train_begin(self, logs=None):
        self._started = self.clock()


class ElapsedTime(_TrainingClock):
    """Log ``elapsed_min``: wall-clock minutes of training so far, at every epoch's end.

    Put it after ``PCKValidation`` so that the time includes validation. A resumed run passes
    the minutes its earlier sessions took as ``offset_min``, so the column keeps counting.

    Example:
        >>> model.fit(train, epochs=5, callbacks=[PCKValidation(...), ElapsedTime(),
        ...                                       keras.callbacks.CSVLogger("history.csv")])
    """

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["elapsed_min"] = self.elapsed_min()


class TimeBudget(_TrainingClock):
    """Fit training into a wall-clock budget: stop before it runs out, drop the LR once in it.

    At every epoch's end the callback projects the next epoch (its training time plus the
    longest of the last ``recent_pauses`` pauses between epochs, which is where validation
    and checkpoints happen) and sets ``model.stop_training`` when it would end after
    ``limit_min``; the epoch that stops is then validated by ``PCKValidation`` and saved like
    any other. With ``drop_at`` the learning rate is multiplied by ``drop_factor`` from the
    first epoch that starts after ``drop_at * limit_min`` minutes (or after ``drop_at`` of
    ``fit``'s epochs, on a machine fast enough to finish them within the budget), so a
    schedule tuned on one machine keeps its shape on a slower or faster one.

    Put it first in the callback list, so that the callbacks after it see ``stop_training``
    at the epoch that ends the run. A resumed run passes the minutes its earlier sessions
    took as ``offset_min``.

    Args:
        limit_min: the budget in minutes of training (including validation).
        offset_min: minutes already spent by earlier sessions of the same run.
        drop_at: fraction of the budget after which the learning rate drops (``None``: never).
        drop_factor: multiplier of the drop (0.2 = divide by 5, as in the paper).
        initial_learning_rate: learning rate before the drop; ``None`` reads the optimizer's.
        verbose: print a line when training stops.
        recent_pauses: how many of the latest pauses between epochs the projection looks at
            (at least the validation period, so that one of them validated).
        clock: function returning seconds (``time.monotonic``; a fake one in tests).

    Example:
        >>> budget = TimeBudget(limit_min=18, drop_at=0.75)
        >>> model.fit(train, epochs=1000, steps_per_epoch=200,
        ...           callbacks=[budget, PCKValidation(...), ElapsedTime()])
    """

    def __init__(self, limit_min: float, offset_min: float = 0.0, drop_at: float | None = None,
                 drop_factor: float = 0.2, initial_learning_rate: float | None = None,
                 verbose: int = 1, recent_pauses: int = 4, clock=time.monotonic):
        super().__init__(offset_min, clock)
        self.recent_pauses = recent_pauses
        self.verbose = verbose
        self.limit_min = float(limit_min)
        self.drop_at = drop_at
        self.drop_factor = drop_factor
        self.initial_learning_rate = initial_learning_rate
        self.stopped_epoch: int | None = None
        self._epoch_started = self._started
        self._epoch_ended: float | None = None
        self._pauses_min: list[float] = []

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        if self.initial_learning_rate is None:
            self.initial_learning_rate = float(
                keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)
            )

    def on_epoch_begin(self, epoch, logs=None):
        now = self.clock()
        if self._epoch_ended is not None:
            self._pauses_min.append((now - self._epoch_ended) / 60)
        self._epoch_started = now
        if self.drop_at is not None:
            # At the fraction of the budget, or of the epochs if they run out first.
            epochs = (self.params or {}).get("epochs") or math.inf
            dropped = (self.elapsed_min() >= self.drop_at * self.limit_min
                       or epoch >= self.drop_at * epochs)
            factor = self.drop_factor if dropped else 1.0
            self.model.optimizer.learning_rate = self.initial_learning_rate * factor

    def on_epoch_end(self, epoch, logs=None):
        now = self.clock()
        self._epoch_ended = now
        epoch_min = (now - self._epoch_started) / 60.0
        # The pause after this epoch, the next epoch, and the pause after it; a pause is as
        # long as the longest of the last few (a validating one, but not the first validation,
        # which also builds the prediction function).
        pause_min = max(self._pauses_min[-self.recent_pauses:], default=0.0)
        spent_min = self.elapsed_min()
        if spent_min + epoch_min + 2 * pause_min > self.limit_min:
            self.model.stop_training = True
            self.stopped_epoch = epoch
            if self.verbose:
                print(f"\nEpoch {epoch + 1}: {spent_min:.1f} of {self.limit_min:g} "
                      f"minutes spent; another epoch would end after the budget, so training "
                      f"stops here")
        if logs is not None and self.drop_at is not None:
            logs["learning_rate"] = float(
                keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)
            )


class PlateauLearningRateDrop(keras.callbacks.Callback):
    """Drop the learning rate by ``factor`` when a validation metric stops improving.

    The paper (§3.4) drops once by a factor of 5 after the validation accuracy plateaus and
    never again; ``max_drops`` allows more. With ``state_path`` the callback's state (drops
    made, best value, epochs waited, learning rate) survives a crash and restart.

    Args:
        monitor: metric in ``logs`` (e.g. ``"val_pckh"``), higher is better.
        factor: multiplier applied at a drop (0.2 = divide by 5).
        patience: epochs without an improvement of more than ``min_delta`` before dropping.
        min_delta: improvement that counts, in the metric's units (percentage points).
        max_drops: drops allowed in the whole run.
        state_path: optional JSON file to persist the state.

    Example:
        >>> drop = PlateauLearningRateDrop("val_pckh", factor=0.2, patience=5)
    """

    def __init__(self, monitor="val_pckh", factor=0.2, patience=5, min_delta=0.1, max_drops=1,
                 state_path=None, verbose=1):
        super().__init__()
        self.monitor = monitor
        self.factor = factor
        self.patience = patience
        self.min_delta = min_delta
        self.max_drops = max_drops
        self.state_path = Path(state_path) if state_path else None
        self.verbose = verbose
        self.state = {"best": -math.inf, "wait": 0, "drops": 0, "learning_rate": None}

    def on_train_begin(self, logs=None):
        if self.state_path and self.state_path.exists():
            self.state.update(json.loads(self.state_path.read_text()))
            if self.state["learning_rate"] is not None:
                self.model.optimizer.learning_rate = self.state["learning_rate"]

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        value = logs.get(self.monitor)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return
        if value > self.state["best"] + self.min_delta:
            self.state["best"] = float(value)
            self.state["wait"] = 0
        else:
            self.state["wait"] += 1
            if self.state["wait"] >= self.patience and self.state["drops"] < self.max_drops:
                old = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
                new = old * self.factor
                self.model.optimizer.learning_rate = new
                self.state["drops"] += 1
                self.state["wait"] = 0
                if self.verbose:
                    print(f"\nEpoch {epoch + 1}: {self.monitor} plateaued; "
                          f"learning rate {old:.3g} -> {new:.3g}")
        learning_rate = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        self.state["learning_rate"] = learning_rate
        logs["learning_rate"] = learning_rate
        if self.state_path:
            write_json_atomically(self.state_path, self.state)


def step_schedule(initial_learning_rate: float, drop_epochs, factor: float = 0.1):
    """Learning-rate function for ``keras.callbacks.LearningRateScheduler``: the step
    schedule of the PyTorch ports (multiply by ``factor`` at each epoch in ``drop_epochs``).

    Example:
        >>> schedule = step_schedule(2.5e-4, (60, 90))
        >>> schedule(0, None), schedule(60, None)
        (0.00025, 2.5e-05)
    """
    drops = sorted(int(e) for e in drop_epochs)

    def schedule(epoch, learning_rate=None):
        count = sum(1 for e in drops if epoch >= e)
        return float(initial_learning_rate * factor**count)

    return schedule


class SaveModelAtomically(keras.callbacks.Callback):
    """Save the whole model (``.keras``) each epoch, and the best one by a metric.

    Writes go to a temporary file in the same folder and are renamed into place, so a crash
    never leaves a truncated ``last.keras`` or ``best.keras``.

    Args:
        last_path: file rewritten after every epoch.
        best_path: file rewritten when ``monitor`` improves (higher is better).
        monitor: metric in ``logs``.
        initial_best: best value so far (from an earlier, interrupted run).
    """

    def __init__(self, last_path, best_path=None, monitor="val_pckh", initial_best=-math.inf):
        super().__init__()
        self.last_path = Path(last_path)
        self.best_path = Path(best_path) if best_path else None
        self.monitor = monitor
        self.best = initial_best

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        save_model_atomically(self.model, self.last_path)
        value = logs.get(self.monitor)
        if self.best_path is not None and value is not None and value > self.best:
            self.best = float(value)
            save_model_atomically(self.model, self.best_path)


def save_model_atomically(model: keras.Model, path) -> None:
    """``model.save(path)`` through a temporary file and an atomic rename."""
    path = Path(path)
    temporary = path.with_name(f".{path.stem}.tmp{os.getpid()}.keras")
    model.save(temporary)
    os.replace(temporary, path)


def write_json_atomically(path, values) -> None:
    """Write JSON through a temporary file and an atomic rename."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.tmp{os.getpid()}")
    temporary.write_text(json.dumps(values, indent=2))
    os.replace(temporary, path)
