"""One training run as a function: data, model, ``model.fit`` with the paper's callbacks.

``train(config)`` is what ``scripts/train.py`` and ``hg-train`` call. Everything in it is
plain Keras (``compile`` + ``fit``); the pieces are public so user code can assemble its own.

A run directory ends with ``config.json``, ``best.keras``, ``last.keras``, ``history.csv``,
``training_curve.png`` and ``tensorboard/``. ``backup/`` holds ``BackupAndRestore``'s state
while a run is unfinished: re-running the same command after a crash resumes at the last
finished epoch with the optimizer state.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import shutil
import time
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from hg_keras.data import PipelineConfig, make_dataset
from hg_keras.datasets.registry import load_dataset
from hg_keras.model import build_stacked_hourglass, heatmap_losses
from hg_keras.training.callbacks import (
    ElapsedTime,
    PCKValidation,
    PlateauLearningRateDrop,
    SaveModelAtomically,
    TimeBudget,
    step_schedule,
    write_json_atomically,
)
from hg_keras.training.config import ARCHITECTURE_FIELDS, TrainConfig
from hg_keras.training.curves import plot_training_curve

log = logging.getLogger("hg_keras.training")

#: Split used for validation by each dataset.
VALIDATION_SPLIT = {"flic": "test", "mpii": "valid", "synthetic": "valid", "coco": "valid"}
#: Bytes per trainable parameter in a ``.keras`` file with RMSprop state (weights + slot).
CHECKPOINT_BYTES_PER_PARAMETER = 12


class RunDirectoryError(RuntimeError):
    """The run directory holds another run's configuration."""


def make_strategy(name: str) -> tf.distribute.Strategy:
    """The ``tf.distribute`` strategy for ``--strategy`` (default, mirrored, multiworker)."""
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multiworker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """True unless this process is a non-chief worker of a multi-worker strategy."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    if resolver.task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return resolver.task_type == "worker" and resolver.task_id == 0 and not has_chief


@contextlib.contextmanager
def fit_context(model: keras.Model, strategy: tf.distribute.Strategy):
    """Where ``model.fit`` runs: as is, or, under ``MultiWorkerMirroredStrategy``, around the
    two reductions that fail in Keras 3's ``fit`` across workers (keras-team/keras#20585).

    1. Before the first step ``fit`` reduces one distributed batch to a plain one, to build
       the model symbolically; across workers that reduction fails. A model made in a
       strategy's scope remembers the strategy and always takes that path; with the memory
       cleared, Keras asks ``tf.distribute.get_strategy()``, which inside the strategy's
       scope is the same strategy, and skips the reduction (model and optimizer are built).
    2. Each step averages its logs over the workers along axis 0, which scalar losses do
       not have; the step returns them as one-element vectors instead, which that average
       turns back into scalars: the logged loss is the mean over the workers.

    Training itself is Keras' own: each worker takes its share of every global batch and the
    gradients are all-reduced, so all workers keep the same weights. Everything is restored
    when ``fit`` returns.

    Example:
        >>> with fit_context(model, strategy):                     # doctest: +SKIP
        ...     model.fit(train, epochs=1)
    """
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        yield
        return
    remembered = model._distribute_strategy
    keras_train_step = model.train_step

    def train_step(data):
        return {name: keras.ops.reshape(value, (1,))
                for name, value in keras_train_step(data).items()}

    model._distribute_strategy = None
    model.train_step = train_step
    try:
        with strategy.scope():
            yield
    finally:
        model._distribute_strategy = remembered
        del model.train_step


def pipeline_config(config: TrainConfig, training: bool) -> PipelineConfig:
    """The input pipeline's settings for training or validation crops."""
    return PipelineConfig(
        input_size=config.input_size,
        heatmap_sigma_px=config.heatmap_sigma_px,
        rotation_deg=config.rotation_deg,
        scale_range=tuple(config.scale_range),
        flip_prob=config.flip_prob,
        color_jitter=config.color_jitter,
        flip_test=(not training) and config.val_flip_test,
    )


def build_model(config: TrainConfig, num_joints: int) -> keras.Model:
    """The network of ``config`` for ``num_joints`` heatmaps."""
    return build_stacked_hourglass(
        num_stacks=config.num_stacks,
        num_joints=num_joints,
        num_features=config.num_features,
        num_residuals=config.num_residuals,
        input_shape=(config.input_size, config.input_size, 3),
        variant=config.variant,
    )


def synchronize_batch_norm(model: keras.Model) -> None:
    """Make every BatchNormalization use global-batch statistics across replicas.

    Under a ``tf.distribute`` strategy each replica otherwise normalises with the statistics
    of its own share of the batch; synchronised, R replicas train like one device with the
    same global batch.
    """
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.synchronized = True


def make_optimizer(config: TrainConfig, learning_rate: float) -> keras.optimizers.Optimizer:
    """RMSprop (paper) or Adam with the given learning rate."""
    if config.optimizer == "adam":
        return keras.optimizers.Adam(learning_rate)
    return keras.optimizers.RMSprop(learning_rate)


def compile_model(model: keras.Model, config: TrainConfig, learning_rate: float) -> None:
    """``model.compile`` with the summed per-stack MSE and the speed options of ``config``."""
    model.compile(
        optimizer=make_optimizer(config, learning_rate),
        loss=heatmap_losses(model),
        jit_compile=config.jit_compile,
        steps_per_execution=config.steps_per_execution,
    )
    # Slot variables made now, eagerly: made inside the first train step instead, they cost
    # a second trace of the whole step (75 s instead of 98 s to the cpu-demo's first step).
    model.optimizer.build(model.trainable_variables)


def prepare_run_directory(
    config: TrainConfig, resume: bool = False, overwrite: bool = False
) -> Path:
    """Create the run directory, or check that an existing one belongs to this config.

    An existing directory with the same configuration is resumed. One with a different
    configuration is refused unless ``overwrite`` (start again, deleting it) or ``resume``
    (keep going with the new settings; the architecture must be the same).

    Raises:
        RunDirectoryError: the directory holds another configuration.
    """
    run_dir = config.resolved_run_dir
    config_path = run_dir / "config.json"
    if overwrite and run_dir.exists():
        shutil.rmtree(run_dir)
    if config_path.exists():
        previous = json.loads(config_path.read_text())
        current = config.to_dict()
        changed = sorted(k for k in current if previous.get(k) != current[k] and k != "run_dir")
        if changed and not resume:
            raise RunDirectoryError(
                f"{run_dir}: holds a run with a different configuration "
                f"(differs in: {', '.join(changed)}); pass --resume to continue it with the "
                f"new settings, --overwrite to start again, or another --run-dir"
            )
        architecture = [k for k in changed if k in ARCHITECTURE_FIELDS]
        if architecture:
            raise RunDirectoryError(
                f"{run_dir}: cannot resume a run with a different network "
                f"({', '.join(architecture)}); use --overwrite or another --run-dir"
            )
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomically(config_path, config.to_dict())
    return run_dir


def check_disk_space(run_dir: Path, model: keras.Model) -> None:
    """Refuse to start when the disk cannot hold the checkpoints of this model.

    Needs room for ``best.keras``, ``last.keras`` and the two backup copies, with their
    temporary files.
    """
    parameters = sum(math.prod(w.shape) for w in model.weights)
    needed = 6 * CHECKPOINT_BYTES_PER_PARAMETER * parameters
    free = shutil.disk_usage(run_dir).free
    if free < needed:
        raise OSError(
            f"{run_dir}: only {free / 1e6:.0f} MB free; checkpoints of this model need about "
            f"{needed / 1e6:.0f} MB. Free some space or choose another --run-dir"
        )


def _resume_point(run_dir: Path, monitor: str) -> tuple[int, float, float]:
    """Epochs already finished in ``run_dir``, the best validation value so far, and minutes.

    While a backup exists (an interrupted run), ``history.csv`` rows of epochs that the backup
    does not cover are dropped, since ``BackupAndRestore`` will train them again.
    """
    history = run_dir / "history.csv"
    metadata = run_dir / "backup" / "training_metadata.json"
    if not history.exists():
        return 0, -math.inf, 0.0
    frame = pd.read_csv(history)
    if metadata.exists():
        finished = json.loads(metadata.read_text())["epoch"]
        frame = frame[frame["epoch"] < finished]
        frame.to_csv(history, index=False)
    best = float(frame[monitor].max()) if monitor in frame and len(frame) else -math.inf
    minutes = frame["elapsed_min"].dropna() if "elapsed_min" in frame else pd.Series([])
    return int(len(frame)), best, float(minutes.iloc[-1]) if len(minutes) else 0.0


def _stopped_by_time_limit(run_dir: Path, config: TrainConfig) -> bool:
    """True when the run in ``run_dir`` ended because this config's time budget ran out."""
    path = run_dir / "summary.json"
    if not config.time_limit_min or not path.exists() or (run_dir / "backup").exists():
        return False
    return json.loads(path.read_text()).get("stopped_by_time_limit") == config.time_limit_min


def train(config: TrainConfig, resume: bool = False, overwrite: bool = False,
          verbose: int | str = "auto") -> dict:
    """Train a stacked hourglass as ``config`` says and return a summary.

    Args:
        config: the run's settings (``TrainConfig.from_preset(...)``).
        resume: continue a run whose directory holds a different (compatible) config.
        overwrite: delete an existing run directory first.
        verbose: ``model.fit`` verbosity (the progress bar).

    Returns:
        dict with ``run_dir``, ``epochs`` finished, the final and best validation metric,
        ``seconds`` spent by this call, ``minutes_trained`` over all sessions of the run,
        ``replicas`` (the strategy's replicas in sync, all workers counted) and
        ``stopped_by_time_limit`` (the budget) when ``time_limit_min`` ended it.

    Example:
        >>> summary = train(TrainConfig.from_preset("cpu-demo", epochs=1))   # doctest: +SKIP
        >>> summary["best_val"]
    """
    started = time.time()
    strategy = make_strategy(config.strategy)  # first: multi-worker set-up precedes other ops
    keras.utils.set_random_seed(config.seed)
    if config.mixed_precision != "none":
        keras.mixed_precision.set_global_policy(config.mixed_precision)
    run_dir = prepare_run_directory(config, resume=resume, overwrite=overwrite)
    if not is_chief(strategy):
        # Other workers keep their checkpoints apart; the chief's run_dir is the result.
        run_dir = run_dir / "workers" / str(strategy.cluster_resolver.task_id)
        run_dir.mkdir(parents=True, exist_ok=True)

    dataset_name = config.dataset.partition(":")[0].lower()
    options = {}
    if dataset_name == "synthetic":
        options = dict(num_images=config.synthetic_images, seed=config.seed)
        log.info("training on the generated synthetic dataset under %s/synthetic", config.data_root)
    train_records, info = load_dataset(config.dataset, "train", root=config.data_root, **options)
    val_records, _ = load_dataset(
        config.dataset, VALIDATION_SPLIT[dataset_name], root=config.data_root, **options
    )
    if config.val_samples is not None:
        val_records = val_records.iloc[: config.val_samples].reset_index(drop=True)
    if len(train_records) == 0:
        raise ValueError(f"--dataset {config.dataset}: the training split is empty")

    replicas = strategy.num_replicas_in_sync
    learning_rate = config.learning_rate * (replicas if config.scale_lr_with_replicas else 1)
    with strategy.scope():
        model = build_model(config, info.num_joints)
        if replicas > 1:
            synchronize_batch_norm(model)
        compile_model(model, config, learning_rate)
    check_disk_space(run_dir, model)

    train_data = make_dataset(
        train_records, info, pipeline_config(config, training=True), training=True,
        batch_size=config.batch_size, output_names=model.output_names, seed=config.seed,
    )
    steps = config.steps_per_epoch
    if steps is not None:
        train_data = train_data.repeat()
    val_data = make_dataset(
        val_records, info, pipeline_config(config, training=False), training=False,
        batch_size=max(1, min(config.batch_size * 2, 32)),
    )

    monitor = "val_pckh" if info.metric == "pckh" else "val_pck"
    finished_epochs, best_so_far, minutes_so_far = _resume_point(run_dir, monitor)
    has_backup = (run_dir / "backup").exists()
    initial_epoch = 0
    if finished_epochs and not has_backup and (run_dir / "last.keras").exists():
        # A finished run extended with more epochs: continue from its last model.
        model.load_weights(run_dir / "last.keras")
        initial_epoch = finished_epochs
    callbacks = [
        PCKValidation(val_data, val_records, info, config.val_every, config.val_flip_test),
        ElapsedTime(minutes_so_far),
    ]
    budget = None
    if config.time_limit_min:
        budget = TimeBudget(
            config.time_limit_min, minutes_so_far,
            drop_at=config.lr_drop_at if config.lr_schedule == "budget" else None,
            drop_factor=config.lr_drop_factor, initial_learning_rate=learning_rate,
            recent_pauses=max(4, 2 * config.val_every),
        )
        callbacks.insert(0, budget)  # first: the callbacks after it see the stop
    if config.lr_schedule == "plateau":
        callbacks.append(PlateauLearningRateDrop(
            monitor, config.lr_drop_factor, config.lr_patience, config.lr_min_delta,
            config.max_lr_drops, state_path=run_dir / "lr_state.json",
        ))
    elif config.lr_schedule == "step":
        callbacks.append(keras.callbacks.LearningRateScheduler(
            step_schedule(learning_rate, config.lr_step_epochs, config.lr_drop_factor)
        ))
    callbacks += [
        SaveModelAtomically(run_dir / "last.keras", run_dir / "best.keras", monitor, best_so_far),
        keras.callbacks.BackupAndRestore(str(run_dir / "backup"), double_checkpoint=True),
        keras.callbacks.CSVLogger(str(run_dir / "history.csv"), append=True),
    ]
    if config.tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(str(run_dir / "tensorboard")))

    budget_spent = bool(initial_epoch) and _stopped_by_time_limit(run_dir, config)
    if initial_epoch >= config.epochs:
        log.info("%s: all %d epochs are finished already", run_dir, config.epochs)
    elif budget_spent:
        log.info("%s: the %g-minute budget was spent already", run_dir, config.time_limit_min)
    else:
        with fit_context(model, strategy):
            model.fit(
                train_data,
                epochs=config.epochs,
                initial_epoch=initial_epoch,
                steps_per_epoch=steps,
                callbacks=callbacks,
                verbose=verbose,
                shuffle=False,  # the pipeline shuffles; Keras would warn that it cannot
            )
    frame = pd.read_csv(run_dir / "history.csv")
    plot_training_curve(frame, run_dir / "training_curve.png", monitor)
    shutil.rmtree(run_dir / "backup", ignore_errors=True)
    values = frame[monitor].to_numpy(dtype=np.float64) if monitor in frame else np.array([np.nan])
    summary = {
        "run_dir": str(run_dir),
        "epochs": int(len(frame)),
        "monitor": monitor,
        "final_val": float(values[-1]),
        "best_val": float(np.nanmax(values)) if np.isfinite(values).any() else float("nan"),
        "seconds": round(time.time() - started, 1),
        "minutes_trained": float(frame["elapsed_min"].iloc[-1])
        if "elapsed_min" in frame and len(frame) else 0.0,
        "replicas": replicas,
    }
    if budget is not None and (budget.stopped_epoch is not None or budget_spent):
        summary["stopped_by_time_limit"] = config.time_limit_min
    write_json_atomically(run_dir / "summary.json", summary)
    return summary
