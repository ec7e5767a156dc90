"""Training: configuration, the paper's callbacks, and one run as a function.

Example:
    >>> from hg_keras.training import TrainConfig, train
    >>> summary = train(TrainConfig.from_preset("cpu-demo", epochs=2))   # doctest: +SKIP
"""

from hg_keras.training.callbacks import (
    ElapsedTime,
    PCKValidation,
    PlateauLearningRateDrop,
    SaveModelAtomically,
    TimeBudget,
    step_schedule,
)
from hg_keras.training.config import PRESETS, TrainConfig

__all__ = [
    "ElapsedTime",
    "PCKValidation",
    "PRESETS",
    "PlateauLearningRateDrop",
    "SaveModelAtomically",
    "TimeBudget",
    "TrainConfig",
    "step_schedule",
    "train",
]


def train(config, **kwargs):
    """Run one training (see ``hg_keras.training.trainer.train``)."""
    from hg_keras.training.trainer import train as _train

    return _train(config, **kwargs)
