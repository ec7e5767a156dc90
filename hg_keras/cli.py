"""Console scripts (``hg-train``, ``hg-evaluate``, ``hg-export``, ``hg-predict``).

Each calls the same ``main`` as the matching ``scripts/*.py``; imports are deferred so that
``--help`` answers quickly.
"""

from __future__ import annotations

import importlib


def _run(module: str, function: str, argv=None) -> int:
    return getattr(importlib.import_module(module), function)(argv) or 0


def train_main(argv=None) -> int:
    """``hg-train``: same as ``python scripts/train.py``."""
    return _run("hg_keras.training.cli", "main", argv)


def evaluate_main(argv=None) -> int:
    """``hg-evaluate``: same as ``python scripts/evaluate.py``."""
    return _run("hg_keras.evaluation.evaluate", "main", argv)


def export_main(argv=None) -> int:
    """``hg-export``: same as ``python scripts/export.py``."""
    return _run("hg_keras.export.cli", "export_main", argv)


def predict_main(argv=None) -> int:
    """``hg-predict``: same as ``python scripts/predict.py``."""
    return _run("hg_keras.export.cli", "predict_main", argv)
