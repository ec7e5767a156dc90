"""ONNX export of the heatmaps signature (skipped when tf2onnx / onnx are not installed)."""

import json

import numpy as np
import pytest
import tensorflow as tf
from conftest import HEATMAP_SIZE, INPUT_SIZE

onnx = pytest.importorskip("onnx")
pytest.importorskip("tf2onnx")

from onnx.reference import ReferenceEvaluator  # noqa: E402

from hg_keras.export.onnx import export_onnx  # noqa: E402


def test_onnx_heatmaps_match_the_saved_model(saved_model_dir, loaded_saved_model, tmp_path):
    path = export_onnx(saved_model_dir, tmp_path, "hourglass", 3)
    assert path == tmp_path / "onnx" / "hourglass" / "3" / "hourglass.onnx"
    metadata = json.loads((path.parent / "joints.json").read_text())
    assert metadata["joint_names"] == ["red", "green", "blue", "yellow"]

    model = onnx.load(str(path))
    onnx.checker.check_model(model)
    assert [i.name for i in model.graph.input] == ["images"]
    assert [o.name for o in model.graph.output] == ["stack_1"]
    crops = np.random.default_rng(0).uniform(0, 1, (1, INPUT_SIZE, INPUT_SIZE, 3))
    crops = crops.astype(np.float32)
    [heatmaps] = ReferenceEvaluator(model).run(None, {"images": crops})
    expected = loaded_saved_model.signatures["heatmaps"](images=tf.constant(crops))["stack_1"]
    assert heatmaps.shape == (1, HEATMAP_SIZE, HEATMAP_SIZE, 4)
    assert np.abs(heatmaps - expected.numpy()).max() <= 1e-5
