"""Write models to disk so that a crash never leaves a truncated file behind."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import keras


def save_model_atomically(model: keras.Model, out_path) -> Path:
    """Save ``model`` as a ``.keras`` file without ever leaving a half-written file at ``out_path``.

    Writes to a temporary file in the same folder, then renames it over ``out_path``.

    Args:
        model: the model to save.
        out_path: destination, ending in ``.keras``; missing folders are created.

    Returns:
        The destination ``Path``.

    Example:
        >>> save_model_atomically(from_pytorch_port("checkpoint.pt"), "weights.keras")
        PosixPath('weights.keras')
    """
    out_path = Path(out_path)
    if out_path.suffix != ".keras":
        raise ValueError(f"{out_path}: the output file name must end in .keras")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(
        prefix=f".{out_path.stem}.", suffix=".keras", dir=out_path.parent
    )
    os.close(fd)
    try:
        model.save(temp_name)
        os.replace(temp_name, out_path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return out_path
