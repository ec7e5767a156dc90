"""Prediction files: community 'preds' (.h5 / .mat) and the MPII submission .mat."""

import h5py
import numpy as np
import pytest
import scipy.io

from hg_keras.evaluation.predictions_io import (
    load_mpii_submission,
    load_predictions,
    save_mpii_submission,
    save_predictions,
)


@pytest.fixture
def coords():
    return np.random.default_rng(0).uniform(0, 500, size=(5, 16, 2))


@pytest.mark.parametrize("suffix", [".h5", ".mat"])
def test_predictions_round_trip(tmp_path, coords, suffix):
    path = save_predictions(tmp_path / f"preds{suffix}", coords)
    np.testing.assert_allclose(load_predictions(path, num_joints=16), coords)


def test_offset_is_added_on_save_and_undone_on_load(tmp_path, coords):
    path = save_predictions(tmp_path / "preds.h5", coords, offset_px=1.0)
    with h5py.File(path) as f:
        np.testing.assert_allclose(f["preds"][()], coords + 1.0)
    np.testing.assert_allclose(load_predictions(path, offset_px=-1.0), coords)


def test_matlab_transposed_layout_is_recognised(tmp_path, coords):
    path = tmp_path / "matlab.mat"
    scipy.io.savemat(path, {"preds": coords.transpose(2, 1, 0)})  # 2 x 16 x N
    np.testing.assert_allclose(load_predictions(path, num_joints=16), coords)


def test_missing_preds_variable_is_named(tmp_path, coords):
    path = tmp_path / "other.mat"
    scipy.io.savemat(path, {"joints": coords})
    with pytest.raises(ValueError, match="no 'preds' variable"):
        load_predictions(path)


def test_wrong_joint_count_is_an_error(tmp_path, coords):
    path = save_predictions(tmp_path / "preds.h5", coords)
    with pytest.raises(ValueError, match="expected 11"):
        load_predictions(path, num_joints=11)


def test_mpii_submission_reads_back_per_test_image_and_rect(tmp_path, coords):
    image_index = [3, 3, 7, 10, 12]
    person_index = [0, 2, 1, 0, 0]
    test_images = [1, 3, 7, 9, 10, 12]
    path = save_mpii_submission(tmp_path / "pred_keypoints_mpii.mat", coords, image_index,
                                person_index, test_image_indices=test_images, offset_px=1.0)
    raw = scipy.io.loadmat(path)["pred"]
    assert raw.shape == (1, 6)                       # one entry per test image
    assert raw[0, 0]["annorect"].shape == (1, 0)     # image 1: no prediction
    assert raw[0, 1]["annorect"].shape == (1, 3)     # image 3: rects 0..2, rect 1 empty
    people = load_mpii_submission(path)
    assert sorted(people) == [(1, 0), (1, 2), (2, 1), (4, 0), (5, 0)]
    np.testing.assert_allclose(people[(1, 2)], coords[1] + 1.0)
    np.testing.assert_allclose(people[(5, 0)], coords[4] + 1.0)
    point = raw[0, 2]["annorect"][0, 1]["annopoints"][0, 0]["point"][0, 13]
    assert int(point["id"][0, 0]) == 13              # 0-based MPII joint id
    assert float(point["x"][0, 0]) == pytest.approx(coords[2, 13, 0] + 1.0)


def test_submission_defaults_to_the_images_it_has(tmp_path, coords):
    path = save_mpii_submission(tmp_path / "sub.mat", coords, [5, 2, 2, 9, 5],
                                [0, 0, 1, 0, 1])
    assert sorted(load_mpii_submission(path)) == [(0, 0), (0, 1), (1, 0), (1, 1), (2, 0)]


def test_submission_rejects_an_image_outside_the_test_list(tmp_path, coords):
    with pytest.raises(ValueError, match="image index 4"):
        save_mpii_submission(tmp_path / "sub.mat", coords, [1, 2, 3, 4, 5], [0] * 5,
                             test_image_indices=[1, 2, 3, 5])
