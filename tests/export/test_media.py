"""Prediction over files, folders and videos; overlays with faded absent joints."""

import json

import cv2
import numpy as np
import pytest
from conftest import disc_radius_for
from disc_model import draw_discs

from hg_keras.export.media import collect_inputs, predict_inputs
from hg_keras.export.overlay import FADED_ALPHA, draw_pose, joint_color_bgr


@pytest.fixture(scope="module")
def media_folder(tmp_path_factory):
    """A grey PNG, an RGBA PNG with one disc missing, and a 5-frame video."""
    folder = tmp_path_factory.mktemp("media")
    rng = np.random.default_rng(5)
    rgb, _ = draw_discs(rng, 90, 120, disc_radius_for(90, 120))
    cv2.imwrite(str(folder / "grey.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))
    partial, _ = draw_discs(rng, 100, 80, disc_radius_for(100, 80), missing=(3,))
    alpha = np.full(partial.shape[:2] + (1,), 200, np.uint8)
    cv2.imwrite(str(folder / "rgba.png"), np.concatenate([partial[:, :, ::-1], alpha], axis=2))
    writer = cv2.VideoWriter(str(folder / "clip.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 5,
                             (96, 64))
    for _ in range(5):
        frame, _ = draw_discs(rng, 64, 96, disc_radius_for(64, 96))
        writer.write(frame[:, :, ::-1])
    writer.release()
    (folder / "notes.txt").write_text("not an image")
    return folder


@pytest.fixture(scope="module")
def predicted(disc_predictor, media_folder, tmp_path_factory):
    out = tmp_path_factory.mktemp("predictions")
    written = predict_inputs(disc_predictor, [media_folder], out, progress=False)
    return out, written


def test_every_image_and_video_gets_json_and_an_overlay(predicted):
    out, written = predicted
    assert [p.name for p in written] == ["clip.json", "grey.json", "rgba.json"]
    assert sorted(p.name for p in out.iterdir()) == [
        "clip.json", "clip_pose.mp4", "grey.json", "grey_pose.jpg", "rgba.json", "rgba_pose.jpg"
    ]
    assert cv2.imread(str(out / "grey_pose.jpg")).shape == (90, 120, 3)
    assert cv2.imread(str(out / "rgba_pose.jpg")).shape == (100, 80, 3)


def test_image_json_names_joints_and_flags_absent_ones(predicted):
    out, _ = predicted
    data = json.loads((out / "rgba.json").read_text())
    assert (data["width"], data["height"]) == (80, 100)
    assert data["joint_names"] == ["red", "green", "blue", "yellow"]
    assert data["box"] is None
    assert [j["name"] for j in data["joints"]] == data["joint_names"]
    assert data["present"] == [True, True, True, False]
    assert len(data["keypoints"]) == 4 and len(data["scores"]) == 4


def test_video_json_has_one_entry_per_frame_and_the_overlay_video_plays(predicted):
    out, _ = predicted
    data = json.loads((out / "clip.json").read_text())
    assert data["frame_count"] == 5
    assert [f["frame"] for f in data["frames"]] == [0, 1, 2, 3, 4]
    assert all(len(f["joints"]) == 4 for f in data["frames"])
    capture = cv2.VideoCapture(str(out / "clip_pose.mp4"))
    frames = 0
    while capture.read()[0]:
        frames += 1
    capture.release()
    assert frames == 5


def test_missing_inputs_are_reported_by_name(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.jpg: no such file"):
        collect_inputs([tmp_path / "nowhere.jpg"])
    with pytest.raises(FileNotFoundError, match="holds no image or video"):
        collect_inputs([tmp_path])


def test_absent_joints_are_drawn_faded():
    canvas = np.zeros((40, 40, 3), np.uint8)
    drawn = draw_pose(canvas, [[10.0, 10.0], [30.0, 30.0]], [True, False],
                      ["r_wrist", "l_wrist"], skeleton=())
    solid = drawn[10, 10].astype(float)
    np.testing.assert_allclose(solid, joint_color_bgr("r_wrist"), atol=1)
    # The absent joint is a hollow ring: its centre stays dark, the ring is blended.
    assert drawn[30, 30].max() == 0
    ring = drawn[30 - 3 : 30 + 4, 30 - 3 : 30 + 4].reshape(-1, 3).max(axis=0).astype(float)
    faded = np.array(joint_color_bgr("l_wrist")) * FADED_ALPHA
    assert np.all(ring <= faded + 1) and np.all(ring >= 0.5 * faded)
