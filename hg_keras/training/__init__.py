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
    "fit_context",
    "step_schedule",
    "train",
]


def train(config, **kwargs):
    """Run one training (see ``hg_keras.training.trainer.train``)."""
    from hg_keras.training.trainer import train as _train

    return _train(config, **kwargs)


def fit_context(model, strategy):
    """Context for ``model.fit`` under any strategy, ``MultiWorkerMirroredStrategy`` included
    (see ``hg_keras.training.trainer.fit_context``).

    Example:
        >>> with fit_context(model, strategy):                     # doctest: +SKIP
        ...     model.fit(train, epochs=1)
    """
    from hg_keras.training.trainer import fit_context as _fit_context

    return _fit_context(model, strategy)
