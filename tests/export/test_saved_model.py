"""The TF Serving SavedModel: layout, signatures, parity with the in-project predictor, errors."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import tensorflow as tf
from conftest import HEATMAP_SIZE, INPUT_SIZE, image_px_per_heatmap_px

from hg_keras.datasets.records import MPII_INFO
from hg_keras.export.inference import model_outputs
from hg_keras.export.saved_model import (
    TEMP_PREFIX,
    export_saved_model,
    next_version,
    write_version_atomically,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
SERVING_DOC = REPO_ROOT / "docs" / "SERVING.md"

FRESH_PROCESS_SCRIPT = """
import json, sys
import tensorflow as tf
loaded = tf.saved_model.load(sys.argv[1])
with open(sys.argv[2], "rb") as f:
    data = f.read()
out = loaded.signatures["serving_default"](image_bytes=tf.constant([data]))
print(json.dumps({
    "keypoints": out["keypoints"].numpy().tolist(),
    "scores": out["scores"].numpy().tolist(),
    "joint_names": [n.decode() for n in loaded.joint_names.numpy()],
    "hg_keras_imported": any(m.split(".")[0] == "hg_keras" for m in sys.modules),
}))
"""


@pytest.fixture(scope="module")
def in_project_prediction(disc_predictor, disc_photo):
    """The Keras model (BatchNorm not folded) run by PosePredictor."""
    return disc_predictor.predict_encoded([disc_photo["bytes"]])[0]


def test_export_layout_is_what_tf_serving_loads(saved_model_dir):
    assert saved_model_dir.name == "1"
    assert (saved_model_dir / "saved_model.pb").is_file()
    assert (saved_model_dir / "variables" / "variables.index").is_file()
    metadata = json.loads((saved_model_dir / "assets" / "joints.json").read_text())
    assert metadata["joint_names"] == ["red", "green", "blue", "yellow"]
    assert metadata["flip_permutation"] == [0, 1, 2, 3]
    assert metadata["input_size"] == INPUT_SIZE
    assert metadata["heatmap_size"] == HEATMAP_SIZE
    assert not [p for p in saved_model_dir.parent.iterdir() if p.name.startswith(TEMP_PREFIX)]


def test_fresh_tensorflow_process_reproduces_in_project_keypoints(
    saved_model_dir, disc_photo, in_project_prediction
):
    result = subprocess.run(
        [sys.executable, "-c", FRESH_PROCESS_SCRIPT, str(saved_model_dir),
         str(disc_photo["path"])],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    served = json.loads(result.stdout.strip().splitlines()[-1])
    assert served["hg_keras_imported"] is False
    assert served["joint_names"] == ["red", "green", "blue", "yellow"]
    keypoints = np.array(served["keypoints"])[0]
    assert keypoints.shape == (4, 2)
    assert np.abs(keypoints - in_project_prediction.keypoints_xy).max() <= 0.5
    np.testing.assert_allclose(served["scores"][0], in_project_prediction.scores, atol=1e-3)
    # Both found the discs: within one heatmap pixel of where they were drawn.
    error_px = np.linalg.norm(keypoints - disc_photo["centers"], axis=1)
    assert error_px.max() < image_px_per_heatmap_px(120, 160)


def test_saved_model_cli_lists_the_documented_signatures(saved_model_dir):
    command = shutil.which("saved_model_cli")
    base = [command] if command else [sys.executable, "-m",
                                      "tensorflow.python.tools.saved_model_cli"]
    result = subprocess.run(
        base + ["show", "--dir", str(saved_model_dir), "--all"], capture_output=True,
        text=True, timeout=300, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    signatures = _parse_saved_model_cli(result.stdout)
    assert signatures["serving_default"] == {
        "inputs": {"image_bytes": ("DT_STRING", "(-1)")},
        "outputs": {"keypoints": ("DT_FLOAT", "(-1, 4, 2)"), "scores": ("DT_FLOAT", "(-1, 4)")},
    }
    assert signatures["with_box"] == {
        "inputs": {"image_bytes": ("DT_STRING", "(-1)"), "box": ("DT_FLOAT", "(-1, 4)")},
        "outputs": {"keypoints": ("DT_FLOAT", "(-1, 4, 2)"), "scores": ("DT_FLOAT", "(-1, 4)")},
    }
    assert signatures["heatmaps"] == {
        "inputs": {"images": ("DT_FLOAT", f"(-1, {INPUT_SIZE}, {INPUT_SIZE}, 3)")},
        "outputs": {"stack_1": ("DT_FLOAT", f"(-1, {HEATMAP_SIZE}, {HEATMAP_SIZE}, 4)")},
    }


def _parse_saved_model_cli(text):
    """{signature: {"inputs"|"outputs": {name: (dtype, shape)}}} from ``show --all``."""
    signatures, current, section, name = {}, None, None, None
    for line in text.splitlines():
        match = re.match(r"signature_def\['(.+)'\]:", line.strip())
        if match:
            current = signatures.setdefault(match.group(1), {"inputs": {}, "outputs": {}})
            continue
        if current is None:
            continue
        if "input(s):" in line:
            section = "inputs"
        elif "output(s):" in line:
            section = "outputs"
        match = re.match(r"\s*(?:inputs|outputs)\['(.+)'\] tensor_info:", line)
        if match:
            name = match.group(1)
        match = re.match(r"\s*dtype: (\w+)", line)
        if match and name:
            dtype = match.group(1)
        match = re.match(r"\s*shape: (.+)", line)
        if match and name:
            current[section][name] = (dtype, match.group(1).strip())
            name = None
    return signatures


def test_serving_doc_rest_example_uses_the_signature_names(loaded_saved_model):
    if not SERVING_DOC.is_file():
        pytest.fail(f"{SERVING_DOC} is missing")
    text = SERVING_DOC.read_text()
    assert ("docker run -p 8501:8501 -v $PWD/saved_models/hourglass:/models/hourglass "
            "-e MODEL_NAME=hourglass tensorflow/serving") in text
    blocks = re.findall(r"```json\n(.*?)```", text, re.DOTALL)
    bodies = [json.loads(b) for b in blocks if '"instances"' in b]
    assert bodies, "no REST request body found in docs/SERVING.md"
    for body in bodies:
        signature = loaded_saved_model.signatures[body.get("signature_name", "serving_default")]
        expected = set(signature.structured_input_signature[1])
        for instance in body["instances"]:
            assert set(instance) == expected
            binary = [key for key, value in instance.items() if isinstance(value, dict)]
            # TF Serving base64-decodes {"b64": ...} for string tensors; the _bytes suffix is
            # the convention that marks binary inputs.
            assert binary == ["image_bytes"] and "b64" in instance["image_bytes"]


def test_joint_names_and_flip_pairs_travel_with_the_model(loaded_saved_model):
    assert [n.decode() for n in loaded_saved_model.joint_names.numpy()] == [
        "red", "green", "blue", "yellow"
    ]
    assert loaded_saved_model.flip_permutation.numpy().tolist() == [0, 1, 2, 3]
    assert int(loaded_saved_model.input_size.numpy()) == INPUT_SIZE


def test_heatmaps_signature_matches_keras(loaded_saved_model, disc_model, disc_photo):
    photo = cv2.resize(disc_photo["image"], (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_AREA)
    noise = np.random.default_rng(0).uniform(0, 1, (INPUT_SIZE, INPUT_SIZE, 3))
    crops = np.stack([photo / 255.0, noise]).astype("float32")
    served = loaded_saved_model.signatures["heatmaps"](images=tf.constant(crops))
    expected = np.asarray(model_outputs(disc_model, crops)[-1])
    assert np.abs(served["stack_1"].numpy() - expected).max() <= 1e-4


def test_box_signature_matches_the_predictor_and_nan_rows_mean_whole_image(
    loaded_saved_model, disc_predictor, disc_photo
):
    box = np.array([10.0, 5.0, 150.0, 110.0], np.float32)
    whole = np.full(4, np.nan, np.float32)
    sentinel = np.full(4, -1.0, np.float32)
    out = loaded_saved_model.signatures["with_box"](
        image_bytes=tf.constant([disc_photo["bytes"]] * 3),
        box=tf.constant(np.stack([box, whole, sentinel])),
    )
    default = loaded_saved_model.signatures["serving_default"](
        image_bytes=tf.constant([disc_photo["bytes"]])
    )
    keypoints = out["keypoints"].numpy()
    np.testing.assert_array_equal(keypoints[1], default["keypoints"].numpy()[0])
    np.testing.assert_array_equal(keypoints[2], keypoints[1])
    expected = disc_predictor.predict_encoded([disc_photo["bytes"]], boxes=[box])[0]
    assert np.abs(keypoints[0] - expected.keypoints_xy).max() <= 0.5


@pytest.mark.parametrize(
    "request_kwargs, message",
    [
        ({"image_bytes": [b"not an image"]}, "Unknown image file format"),
        ({"image_bytes": tf.constant([], tf.string)}, "the batch is empty"),
        ({"image_bytes": "PHOTO", "box": [[500.0, 500.0, 600.0, 600.0]]},
         "lies outside the image"),
        ({"image_bytes": "PHOTO", "box": [[50.0, 50.0, 40.0, 60.0]]}, "x2 > x1"),
        ({"image_bytes": "PHOTO", "box": [[np.nan, 1.0, 50.0, 60.0]]}, "must be finite"),
        ({"image_bytes": ["PHOTO", "PHOTO"], "box": [[0.0, 0.0, 50.0, 50.0]]},
         "one (x1, y1, x2, y2) row per image"),
    ],
)
def test_bad_requests_fail_with_a_clear_error_and_the_next_one_works(
    loaded_saved_model, disc_photo, request_kwargs, message
):
    kwargs = dict(request_kwargs)
    photo = disc_photo["bytes"]
    if isinstance(kwargs["image_bytes"], (list, str)):
        items = kwargs["image_bytes"] if isinstance(kwargs["image_bytes"], list) else ["PHOTO"]
        kwargs["image_bytes"] = tf.constant([photo if i == "PHOTO" else i for i in items])
    name = "with_box" if "box" in kwargs else "serving_default"
    if "box" in kwargs:
        kwargs["box"] = tf.constant(kwargs["box"], tf.float32)
    with pytest.raises(tf.errors.InvalidArgumentError, match=re.escape(message)):
        loaded_saved_model.signatures[name](**kwargs)
    out = loaded_saved_model.signatures["serving_default"](image_bytes=tf.constant([photo]))
    assert out["keypoints"].shape == (1, 4, 2)


def test_wrong_dtype_is_refused_and_the_next_request_works(loaded_saved_model, disc_photo):
    with pytest.raises((tf.errors.InvalidArgumentError, TypeError, ValueError),
                       match="string"):
        loaded_saved_model.signatures["serving_default"](image_bytes=tf.constant([1.0]))
    out = loaded_saved_model.signatures["serving_default"](
        image_bytes=tf.constant([disc_photo["bytes"]])
    )
    assert out["scores"].shape == (1, 4)


def test_grey_and_rgba_png_requests_are_accepted(loaded_saved_model, disc_photo):
    rgb = disc_photo["image"]
    grey = tf.io.encode_png(np.mean(rgb, axis=2, keepdims=True).astype(np.uint8)).numpy()
    alpha = np.full(rgb.shape[:2] + (1,), 255, np.uint8)
    rgba = tf.io.encode_png(np.concatenate([rgb, alpha], axis=2)).numpy()
    rgb_png = tf.io.encode_png(rgb).numpy()
    out = loaded_saved_model.signatures["serving_default"](
        image_bytes=tf.constant([grey, rgba, rgb_png])
    )
    keypoints = out["keypoints"].numpy()
    assert keypoints.shape == (3, 4, 2)
    np.testing.assert_array_equal(keypoints[1], keypoints[2])  # alpha is ignored


def test_versions_increase_and_are_never_overwritten(disc_model, disc_info, tmp_path):
    calls = []

    def write(folder):
        calls.append(folder)
        (folder / "saved_model.pb").write_text(str(len(calls)))

    base = tmp_path / "hourglass"
    assert write_version_atomically(base, None, write) == base / "1"
    assert write_version_atomically(base, None, write) == base / "2"
    assert write_version_atomically(base, 7, write) == base / "7"
    assert next_version(base) == 8
    with pytest.raises(FileExistsError, match="never overwritten"):
        write_version_atomically(base, 2, write)
    assert (base / "2" / "saved_model.pb").read_text() == "2"
    assert len(calls) == 3  # the refused version wrote nothing
    assert sorted(p.name for p in base.iterdir()) == ["1", "2", "7"]


def test_a_failed_export_leaves_nothing_behind(tmp_path):
    def write(folder):
        (folder / "partial").write_text("half")
        raise RuntimeError("disk full")

    base = tmp_path / "hourglass"
    with pytest.raises(RuntimeError, match="disk full"):
        write_version_atomically(base, None, write)
    assert list(base.iterdir()) == []


def test_export_refuses_a_dataset_with_another_joint_count(disc_model, tmp_path):
    with pytest.raises(ValueError, match="'mpii' has 16 joints but model .* predicts 4"):
        export_saved_model(disc_model, MPII_INFO, out_dir=tmp_path)
    assert not (tmp_path / "hourglass").exists()
