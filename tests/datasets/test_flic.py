"""FLIC loader against the real examples.mat and small synthetic .mat files."""

import os
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from hg_keras.datasets import flic
from hg_keras.datasets.records import FLIC_INFO, AnnotationError

SHARED_FLIC = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "flic"


@pytest.fixture(scope="module")
def real_examples():
    path = SHARED_FLIC / "examples.mat"
    if not path.is_file():
        pytest.skip(f"real FLIC annotations not found at {path.resolve()}")
    raw = scipy.io.loadmat(path)["examples"][0]
    both = flic.load(path, split=["train", "test"])
    person_centric = flic.load(path, split=["train", "test"], observer_centric=False)
    return raw, both, person_centric


def test_real_file_has_3987_train_and_1016_test_people(real_examples):
    _, both, _ = real_examples
    assert (both.split == "train").sum() == 3987
    assert (both.split == "test").sum() == 1016
    assert np.stack(both.joints).shape == (5003, 11, 2)


def test_crop_centre_is_torsobox_middle_and_half_height(real_examples):
    raw, both, _ = real_examples
    for row in both.iloc[[0, 1000, 4999]].itertuples():
        x1, _, x2, _ = raw[row.image_index]["torsobox"][0]
        assert row.center[0] == pytest.approx((x1 + x2) / 2)
        assert row.center[1] == 240.0
    assert set(both.scale) == {2.2}


def test_joints_are_the_eleven_columns_in_data_md_order(real_examples):
    raw, _, person_centric = real_examples
    row = person_centric.iloc[7]
    coords = raw[row.image_index]["coords"]
    np.testing.assert_allclose(row.joints[:, 0], coords[0, [0, 1, 2, 3, 4, 5, 6, 9, 12, 13, 16]])
    np.testing.assert_allclose(row.joints[:, 1], coords[1, [0, 1, 2, 3, 4, 5, 6, 9, 12, 13, 16]])


def test_observer_centric_swaps_199_train_and_48_test_people(real_examples):
    _, both, person_centric = real_examples
    swapped = [not np.allclose(a, b) for a, b in zip(both.joints, person_centric.joints)]
    swapped = np.array(swapped)
    assert swapped[both.split == "train"].sum() == 199
    assert swapped[both.split == "test"].sum() == 48
    i = int(np.flatnonzero(swapped)[0])
    flip = list(FLIC_INFO.flip_permutation)
    np.testing.assert_allclose(both.joints[i], person_centric.joints[i][flip])
    # After the swap the left shoulder is never left of the right shoulder.
    lsho_x = np.stack(both.joints)[:, 0, 0]
    rsho_x = np.stack(both.joints)[:, 3, 0]
    assert np.all(lsho_x >= rsho_x)


def test_norm_size_is_right_shoulder_to_left_hip_on_raw_labels(real_examples):
    raw, both, _ = real_examples
    coords = np.stack([raw[i]["coords"] for i in both.image_index])
    expected = np.hypot(*(coords[:, :, 3] - coords[:, :, 6]).T)
    np.testing.assert_allclose(both.norm_size, expected)
    assert both.norm_size.min() > 0


def _write_examples(path, examples):
    dtype = [(name, object) for name in ("coords", "filepath", "imgdims", "torsobox",
                                          "istrain", "istest")]
    array = np.zeros((1, len(examples)), dtype=dtype)
    for i, example in enumerate(examples):
        for name, value in example.items():
            array[0, i][name] = value
    scipy.io.savemat(path, {"examples": array})


def _example(lsho_x=300.0, rsho_x=200.0, train=1):
    coords = np.full((2, 29), np.nan)
    coords[:, :7] = [[lsho_x, 320, 330, rsho_x, 190, 180, 280],
                     [200, 260, 320, 200, 260, 320, 360]]
    coords[:, [9, 12, 13, 16]] = [[220, 270, 230, 250], [360, 120, 120, 140]]
    return {"coords": coords, "filepath": "a.jpg", "imgdims": np.array([480, 720, 3]),
            "torsobox": np.array([200.0, 190, 310, 370]), "istrain": train,
            "istest": 1 - train}


def test_small_file_gives_exact_centre_joints_and_image_path(tmp_path):
    _write_examples(tmp_path / "examples.mat", [_example(), _example(train=0)])
    records = flic.load(tmp_path, split="test")
    row = records.iloc[0]
    np.testing.assert_allclose(row.center, [255.0, 240.0])
    np.testing.assert_allclose(row.joints[3], [200.0, 200.0])
    assert row.norm_size == pytest.approx(np.hypot(200 - 280, 200 - 360))
    assert row.image == os.path.abspath(tmp_path / "images" / "a.jpg")
    assert row.image_index == 1


def test_modec_normaliser_uses_left_shoulder_to_right_hip(tmp_path):
    _write_examples(tmp_path / "examples.mat", [_example()])
    row = flic.load(tmp_path, split="train", torso="lsho_rhip").iloc[0]
    assert row.norm_size == pytest.approx(np.hypot(300 - 220, 200 - 360))


def test_person_facing_away_is_swapped_only_when_observer_centric(tmp_path):
    _write_examples(tmp_path / "examples.mat", [_example(lsho_x=150.0, rsho_x=260.0)])
    observer = flic.load(tmp_path, split="train").iloc[0]
    person = flic.load(tmp_path, split="train", observer_centric=False).iloc[0]
    np.testing.assert_allclose(person.joints[0], [150.0, 200.0])
    np.testing.assert_allclose(observer.joints[0], [260.0, 200.0])
    np.testing.assert_allclose(observer.joints[8], person.joints[9])
    assert observer.norm_size == person.norm_size


def test_missing_joint_is_not_annotated_and_zero(tmp_path):
    example = _example()
    example["coords"][:, 16] = np.nan
    _write_examples(tmp_path / "examples.mat", [example])
    row = flic.load(tmp_path / "examples.mat", split="train").iloc[0]
    assert list(row.annotated) == [True] * 10 + [False]
    np.testing.assert_array_equal(row.joints[10], [0.0, 0.0])


def test_empty_split_names_the_file(tmp_path):
    _write_examples(tmp_path / "examples.mat", [_example(train=1)])
    with pytest.raises(AnnotationError, match=r"examples\.mat: split .*test.* has no records"):
        flic.load(tmp_path / "examples.mat", split="test")


def test_file_without_examples_names_the_variable(tmp_path):
    scipy.io.savemat(tmp_path / "examples.mat", {"other": np.zeros(3)})
    with pytest.raises(AnnotationError, match="examples.mat: has no variable 'examples'"):
        flic.load(tmp_path / "examples.mat")


def test_valid_split_is_rejected_for_flic(tmp_path):
    with pytest.raises(AnnotationError, match="split"):
        flic.load(tmp_path, split="valid")
