"""``hg-predict`` entry point: ``main`` is ``hg_keras.export.cli.predict_main``."""

from hg_keras.export.cli import predict_main as main

__all__ = ["main"]
