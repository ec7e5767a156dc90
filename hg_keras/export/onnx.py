"""ONNX export of the heatmap network through ``tf2onnx`` (optional dependency).

Like TFLite, the ONNX model is the SavedModel's ``heatmaps`` signature: input ``images``
(N, S, S, 3) float32 RGB in [0, 1], outputs ``stack_1`` ... ``stack_S`` (N, S/4, S/4, K).
Image decoding and cropping (``serving_default``) use TF ops ONNX does not have, so they
are left to the client, as for TFLite. Checked with tf2onnx 1.17 and TensorFlow 2.21
(opset 17); ``onnx.reference`` reproduces the TF heatmaps within 1e-5.

Example:
    >>> export_onnx("saved_models/hourglass/1", "saved_models/onnx/hourglass/1/hourglass.onnx")
"""

from __future__ import annotations

import shutil
from pathlib import Path

import tensorflow as tf

from hg_keras.export.saved_model import (
    HEATMAPS,
    METADATA_FILE,
    write_version_atomically,
)

ONNX_DIR = "onnx"
DEFAULT_OPSET = 17


def onnx_available() -> bool:
    """Whether ``tf2onnx`` can be imported."""
    try:
        import tf2onnx  # noqa: F401
    except ImportError:
        return False
    return True


def convert_to_onnx(saved_model_dir, opset: int = DEFAULT_OPSET) -> bytes:
    """Convert the ``heatmaps`` signature of an exported SavedModel to ONNX bytes.

    Raises:
        ImportError: ``tf2onnx`` is not installed (``pip install tf2onnx``).
    """
    try:
        import tf2onnx
    except ImportError as error:
        raise ImportError("--format onnx needs tf2onnx: pip install tf2onnx") from error
    loaded = tf.saved_model.load(str(saved_model_dir))
    signature = loaded.signatures[HEATMAPS]
    spec = signature.structured_input_signature[1]["images"]

    @tf.function(input_signature=[tf.TensorSpec(spec.shape, spec.dtype, name="images")])
    def heatmaps(images):
        return signature(images=images)

    model_proto, _ = tf2onnx.convert.from_function(
        heatmaps, input_signature=heatmaps.input_signature, opset=opset
    )
    return model_proto.SerializeToString()


def export_onnx(saved_model_dir, out_dir="saved_models", name: str = "hourglass",
                version: int | None = None, opset: int = DEFAULT_OPSET) -> Path:
    """Write ``out_dir/onnx/name/version/name.onnx`` (+ ``joints.json``) atomically.

    Returns:
        Path of the ``.onnx`` file.
    """
    saved_model_dir = Path(saved_model_dir)
    data = convert_to_onnx(saved_model_dir, opset)

    def write(folder: Path):
        (folder / f"{name}.onnx").write_bytes(data)
        metadata = saved_model_dir / "assets" / METADATA_FILE
        if metadata.is_file():
            shutil.copyfile(metadata, folder / METADATA_FILE)

    folder = write_version_atomically(Path(out_dir) / ONNX_DIR / name, version, write)
    return folder / f"{name}.onnx"
