"""Training configuration: one dataclass, filled from a preset and then from CLI flags.

Config flows one way: ``scripts/train.py`` flags → ``TrainConfig`` → builders. Every field has
the paper's value (§3.4) or, for the ``cpu-demo`` preset, a reduced setting of the same
architecture that trains in minutes on a laptop CPU.

Example:
    >>> config = TrainConfig.from_preset("cpu-demo", epochs=3)
    >>> config.num_stacks, config.input_size, config.optimizer
    (2, 128, 'adam')
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

#: Values that differ from the dataclass defaults (which are the paper's) for each preset.
PRESETS = {
    "paper": {},
    "cpu-demo": dict(
        num_stacks=2,
        num_features=64,
        input_size=128,
        batch_size=2,  # 0.19 s per step against 0.31 s at batch 4: more updates per minute
        optimizer="adam",
        learning_rate=5.6e-3,  # batch 4's best (8e-3 of 4e-3, 8e-3, 1.6e-2) / sqrt(2)
        heatmap_sigma_px=2.0,
        rotation_deg=0.0,  # within one pass over the data there is nothing to overfit:
        scale_range=(1.0, 1.0),  # +6 points at 1200 steps without rotation and scaling
        epochs=100,  # an upper bound: the time limit ends the run
        steps_per_epoch=200,
        val_every=2,
        val_samples=200,
        time_limit_min=18.0,
        lr_schedule="budget",
        lr_drop_at=0.75,  # one drop by lr_drop_factor (1/5) for the last quarter
    ),
}

#: Fields whose command-line flag is not simply ``--field-name``.
_SHORT_FLAGS = {
    "num_stacks": "--stacks",
    "num_features": "--features",
    "num_residuals": "--residuals",
    "learning_rate": "--lr",
    "heatmap_sigma_px": "--sigma",
    "val_flip_test": "--no-val-flip",
    "tensorboard": "--no-tensorboard",
}


def flag_name(field_name: str) -> str:
    """The ``scripts/train.py`` flag that sets a ``TrainConfig`` field.

    Example:
        >>> flag_name("learning_rate"), flag_name("batch_size")
        ('--lr', '--batch-size')
    """
    return _SHORT_FLAGS.get(field_name, "--" + field_name.replace("_", "-"))


#: Fields that describe the network; a run directory refuses to resume with other values.
ARCHITECTURE_FIELDS = ("num_stacks", "num_features", "num_residuals", "input_size", "variant")


@dataclass
class TrainConfig:
    """Everything one training run needs. Defaults are the paper's (``--preset paper``).

    Attributes:
        dataset: ``"flic"``, ``"mpii"``, ``"synthetic"`` or ``"coco:PATH"``.
        data_root: folder holding the datasets (``datasets/``).
        run_dir: output folder; ``None`` means ``runs/{dataset}-{preset}``.
        preset: name of the preset these values started from.
        num_stacks, num_features, num_residuals, variant: the network (see
            ``hg_keras.build_stacked_hourglass``).
        input_size: square input side in pixels; heatmaps are ``input_size // 4``.
        batch_size: global batch size (split across replicas under a distribution strategy).
        epochs: number of epochs.
        steps_per_epoch: batches per epoch; ``None`` is one pass over the training set.
        learning_rate: initial learning rate (paper: 2.5e-4 with RMSprop).
        optimizer: ``"rmsprop"`` (paper) or ``"adam"``.
        heatmap_sigma_px: Gaussian sigma of the targets at output resolution (paper: 1).
        rotation_deg, scale_range, flip_prob, color_jitter: augmentation (SPEC §3).
        val_every: run the PCK/PCKh validation every this many epochs.
        val_samples: validate on at most this many people (``None``: the whole split).
        val_flip_test: average with the mirrored crop when validating.
        lr_schedule: ``"plateau"`` (paper: drop once by ``lr_drop_factor`` when the validation
            accuracy plateaus), ``"step"`` (drop at ``lr_step_epochs``, as the ports do) or
            ``"budget"`` (drop once at ``lr_drop_at`` of ``time_limit_min``).
        lr_drop_factor: multiply the learning rate by this at a drop (paper: 1/5).
        lr_patience: epochs without improvement before a plateau drop.
        lr_min_delta: improvement (in percentage points) that resets the patience.
        max_lr_drops: how many plateau drops are allowed (paper: 1).
        lr_step_epochs: epochs at which the ``"step"`` schedule drops the learning rate.
        time_limit_min: stop training before this many minutes (validation included, counted
            across resumes), validating and saving the last epoch; ``None`` or 0: no limit.
        lr_drop_at: with ``lr_schedule="budget"``, the fraction of ``time_limit_min`` after
            which the learning rate drops once by ``lr_drop_factor``.
        mixed_precision: ``"none"``, ``"mixed_float16"`` (GPU) or ``"mixed_bfloat16"``.
        jit_compile: compile the train step with XLA.
        steps_per_execution: batches per compiled call.
        strategy: ``"default"``, ``"mirrored"`` (all local GPUs) or ``"multiworker"``
            (hosts from ``TF_CONFIG``).
        scale_lr_with_replicas: multiply the learning rate by the number of replicas.
        synthetic_images: images of the generated synthetic set (5000, as
            ``scripts/evaluate.py`` expects, so both use the same cached set).
        seed: seed of shuffling, augmentation and initialisation.
        tensorboard: write TensorBoard logs under ``run_dir/tensorboard``.
    """

    dataset: str = "synthetic"
    data_root: str = "datasets"
    run_dir: str | None = None
    preset: str = "paper"
    num_stacks: int = 8
    num_features: int = 256
    num_residuals: int = 1
    variant: str = "stacked"
    input_size: int = 256
    batch_size: int = 6
    epochs: int = 100
    steps_per_epoch: int | None = None
    learning_rate: float = 2.5e-4
    optimizer: str = "rmsprop"
    heatmap_sigma_px: float = 1.0
    rotation_deg: float = 30.0
    scale_range: tuple = (0.75, 1.25)
    flip_prob: float = 0.5
    color_jitter: float = 0.0
    val_every: int = 1
    val_samples: int | None = None
    val_flip_test: bool = True
    lr_schedule: str = "plateau"
    lr_drop_factor: float = 0.2
    lr_patience: int = 5
    lr_min_delta: float = 0.1
    max_lr_drops: int = 1
    lr_step_epochs: tuple = field(default_factory=lambda: (60, 90))
    time_limit_min: float | None = None
    lr_drop_at: float = 0.75
    mixed_precision: str = "none"
    jit_compile: bool = False
    steps_per_execution: int = 1
    strategy: str = "default"
    scale_lr_with_replicas: bool = False
    synthetic_images: int = 5000
    seed: int = 0
    tensorboard: bool = True

    @classmethod
    def from_preset(cls, preset: str = "paper", **overrides) -> TrainConfig:
        """A config from a preset's values, then ``overrides`` (``None`` values are ignored).

        Raises:
            ValueError: for an unknown preset or field, or an invalid value.
        """
        if preset not in PRESETS:
            raise ValueError(f"--preset {preset!r} is unknown; choose one of {sorted(PRESETS)}")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(overrides) - names)
        if unknown:
            raise ValueError(f"unknown training option(s): {', '.join(unknown)}")
        values = dict(PRESETS[preset], preset=preset)
        values.update({k: v for k, v in overrides.items() if v is not None})
        config = cls(**values)
        config.validate()
        return config

    def validate(self) -> None:
        """Raise ``ValueError`` naming the flag of the first nonsensical value."""
        positive = {
            "batch_size": self.batch_size,
            "epochs": self.epochs,
            "learning_rate": self.learning_rate,
            "num_stacks": self.num_stacks,
            "num_features": self.num_features,
            "num_residuals": self.num_residuals,
            "heatmap_sigma_px": self.heatmap_sigma_px,
            "val_every": self.val_every,
            "steps_per_execution": self.steps_per_execution,
            "synthetic_images": self.synthetic_images,
        }
        for name, value in positive.items():
            if value is None or value <= 0:
                raise ValueError(f"{flag_name(name)} must be > 0; got {value}")
        if self.steps_per_epoch is not None and self.steps_per_epoch <= 0:
            raise ValueError(f"--steps-per-epoch must be > 0; got {self.steps_per_epoch}")
        if self.input_size % 64:
            raise ValueError(f"--input-size must be a multiple of 64; got {self.input_size}")
        choices = {
            "optimizer": ("rmsprop", "adam"),
            "lr_schedule": ("plateau", "step", "budget"),
            "mixed_precision": ("none", "mixed_float16", "mixed_bfloat16"),
            "strategy": ("default", "mirrored", "multiworker"),
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(
                    f"{flag_name(name)} must be one of {allowed}; got {getattr(self, name)!r}"
                )
        if not 0.0 < self.lr_drop_factor < 1.0:
            raise ValueError(f"--lr-drop-factor must be in (0, 1); got {self.lr_drop_factor}")
        if self.time_limit_min is not None and self.time_limit_min < 0:
            raise ValueError(f"--time-limit-min must be >= 0; got {self.time_limit_min}")
        if self.lr_schedule == "budget" and not self.time_limit_min:
            raise ValueError("--lr-schedule budget drops the learning rate at a fraction of "
                             "--time-limit-min; give --time-limit-min too")
        if not 0.0 < self.lr_drop_at < 1.0:
            raise ValueError(f"--lr-drop-at must be in (0, 1); got {self.lr_drop_at}")
        low, high = self.scale_range
        if not 0 < low <= high:
            raise ValueError(f"--scale-range must be 0 < low <= high; got {self.scale_range}")

    @property
    def resolved_run_dir(self) -> Path:
        """``run_dir``, or ``runs/{dataset}-{preset}`` when unset."""
        if self.run_dir:
            return Path(self.run_dir)
        safe = self.dataset.replace(":", "_").replace("/", "_")
        return Path("runs") / f"{safe}-{self.preset}"

    def to_dict(self) -> dict:
        """Plain JSON-ready values (tuples become lists)."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        """Inverse of ``to_dict`` (unknown keys are an error)."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ValueError(f"config.json: unknown field(s) {', '.join(unknown)}")
        values = dict(values)
        for key in ("scale_range", "lr_step_epochs"):
            if key in values and values[key] is not None:
                values[key] = tuple(values[key])
        return cls(**values)
