"""scripts/export.py and scripts/predict.py command lines (called in-process)."""

import json

import cv2
import keras
import numpy as np
import pytest

from hg_keras import build_stacked_hourglass
from hg_keras.datasets.records import write_info
from hg_keras.export.cli import export_main, predict_main


@pytest.fixture(scope="module")
def mpii_weights(tmp_path_factory):
    """A tiny random 16-joint model (depth-1 hourglass) saved as runs/tiny/best.keras."""
    keras.utils.set_random_seed(0)
    model = build_stacked_hourglass(num_stacks=1, num_joints=16, num_features=16, depth=1,
                                    input_shape=(64, 64, 3))
    run = tmp_path_factory.mktemp("runs") / "tiny"
    run.mkdir()
    model.save(run / "best.keras")
    return run / "best.keras"


@pytest.fixture(scope="module")
def photos(tmp_path_factory, disc_photo):
    folder = tmp_path_factory.mktemp("calibration_photos")
    for index in range(3):
        cv2.imwrite(str(folder / f"p{index}.png"), np.roll(disc_photo["image"], index * 7, 1))
    return folder


def _last_json(text):
    return json.loads(text[text.index("{"):])


def test_export_writes_a_savedmodel_labelled_mpii_by_joint_count(mpii_weights, tmp_path,
                                                                 capsys):
    out = tmp_path / "saved_models"
    assert export_main(["--weights", str(mpii_weights), "--out-dir", str(out)]) == 0
    summary = _last_json(capsys.readouterr().out)
    assert summary["dataset"] == "mpii"
    assert summary["savedmodel"] == str(out / "hourglass" / "1")
    metadata = json.loads((out / "hourglass" / "1" / "assets" / "joints.json").read_text())
    assert metadata["joint_names"][:2] == ["r_ankle", "r_knee"]

    assert export_main(["--weights", str(mpii_weights), "--out-dir", str(out),
                        "--version", "1"]) == 2
    assert "already exists; versions are never overwritten" in capsys.readouterr().err


def test_the_run_config_names_the_dataset_and_a_joint_mismatch_is_an_error(
    mpii_weights, tmp_path, capsys
):
    (mpii_weights.parent / "config.json").write_text(json.dumps({"dataset": "flic"}))
    try:
        code = export_main(["--weights", str(mpii_weights), "--out-dir", str(tmp_path)])
    finally:
        (mpii_weights.parent / "config.json").unlink()
    assert code == 2
    assert "--dataset flic: dataset 'flic' has 11 joints but model" in capsys.readouterr().err
    assert not (tmp_path / "hourglass").exists()


def test_tflite_only_export_calibrates_on_photos_and_reports_parity(mpii_weights, photos,
                                                                    tmp_path, capsys):
    out = tmp_path / "saved_models"
    assert export_main([
        "--weights", str(mpii_weights), "--out-dir", str(out), "--format", "tflite",
        "--quantize", "int8", "--calibration-images", str(photos),
    ]) == 0
    summary = _last_json(capsys.readouterr().out)
    assert not (out / "hourglass").exists()  # no SavedModel asked for
    path = out / "tflite" / "hourglass" / "1" / "hourglass_int8.tflite"
    assert summary["tflite"] == {"int8": str(path)}
    parity = summary["tflite_parity"]["int8"]
    assert parity["num_crops"] == 3 and parity["size_bytes"] == path.stat().st_size
    assert 0.0 <= parity["agreement_1px"] <= 1.0


def test_bad_flags_are_refused_by_name(mpii_weights, capsys):
    with pytest.raises(SystemExit):
        export_main(["--weights", str(mpii_weights), "--quantize", "int4"])
    assert "'int4': choose from none, fp16, int8" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        predict_main(["x.jpg", "--weights", str(mpii_weights), "--box", "5,5,1,1"])
    assert "x2 > x1" in capsys.readouterr().err
    assert export_main(["--weights", "missing.keras"]) == 2
    assert "--weights missing.keras: file not found" in capsys.readouterr().err


def test_predict_with_a_saved_model_or_weights_writes_json(
    saved_model_dir, disc_model, disc_info, disc_photo, tmp_path, capsys
):
    weights = tmp_path / "discs.keras"
    disc_model.save(weights)
    info = tmp_path / "discs.info.json"
    write_info(disc_info, info)
    image = str(disc_photo["path"])

    assert predict_main([image, "--saved-model", str(saved_model_dir.parent), "--out",
                         str(tmp_path / "served"), "--no-progress"]) == 0
    assert predict_main([image, "--weights", str(weights), "--dataset", str(info),
                         "--box", "0,0,159,119", "--out", str(tmp_path / "local"),
                         "--no-progress", "--no-overlay"]) == 0
    served = json.loads((tmp_path / "served" / "discs.json").read_text())
    local = json.loads((tmp_path / "local" / "discs.json").read_text())
    assert (tmp_path / "served" / "discs_pose.jpg").is_file()
    assert not (tmp_path / "local" / "discs_pose.jpg").exists()
    assert served["joint_names"] == local["joint_names"] == ["red", "green", "blue", "yellow"]
    assert local["box"] == [0.0, 0.0, 159.0, 119.0]
    # Both located the discs within one heatmap pixel (160 * 1.25 / 16 = 12.5 image px).
    for data in (served, local):
        error = np.linalg.norm(np.array(data["keypoints"]) - disc_photo["centers"], axis=1)
        assert error.max() < 12.5


def test_console_scripts_reach_the_same_command_lines(capsys):
    from hg_keras import cli

    for entry, program in ((cli.export_main, "export.py"), (cli.predict_main, "predict.py")):
        with pytest.raises(SystemExit) as exit_info:
            entry(["--help"])
        assert exit_info.value.code == 0
        assert capsys.readouterr().out.startswith(f"usage: {program}")
