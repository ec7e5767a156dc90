"""MPII loader: the real valid.h5, and small .mat / JSON / .h5 files in all three formats."""

import json
import math
import os
from pathlib import Path

import h5py
import numpy as np
import pytest
import scipy.io

from hg_keras.datasets import mpii
from hg_keras.datasets.records import AnnotationError

SHARED_MPII = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "mpii"
EMPTY = np.zeros((0, 0))


@pytest.fixture(scope="module")
def real_valid():
    path = SHARED_MPII / "valid.h5"
    if not path.is_file():
        pytest.skip(f"reference MPII valid.h5 not found at {path.resolve()}")
    with h5py.File(path, "r") as f:
        raw = {k: f[k][()] for k in f}
    return raw, mpii.load(path, split="valid")


def test_real_valid_h5_yields_2958_validation_people(real_valid):
    _, records = real_valid
    assert len(records) == 2958
    assert set(records.split) == {"valid"}
    assert records.image[0].endswith("images/005808361.jpg")


def test_real_h5_centre_and_scale_are_not_adjusted_again(real_valid):
    raw, records = real_valid
    np.testing.assert_array_equal(np.stack(records.center), raw["center"])
    np.testing.assert_array_equal(records.scale, raw["scale"])
    np.testing.assert_array_equal(records.norm_size, raw["normalize"])


def test_real_h5_zero_parts_are_missing_and_zero_visible_flags_occluded(real_valid):
    raw, records = real_valid
    annotated = np.stack(records.annotated)
    visible = np.stack(records.visible)
    expected_missing = (raw["part"][..., 0] == 0) & (raw["part"][..., 1] == 0)
    np.testing.assert_array_equal(annotated, ~expected_missing)
    np.testing.assert_array_equal(visible, (raw["visible"] > 0) & ~expected_missing)
    occluded = annotated & ~visible
    assert occluded.sum() > 0 and (~annotated).sum() > 0


def test_shipped_valid_pairs_are_the_real_valid_h5_people(real_valid):
    raw, _ = real_valid
    pairs = mpii.valid_pairs()
    np.testing.assert_array_equal(pairs.image_index, raw["index"].astype(int))
    np.testing.assert_array_equal(pairs.person_index, raw["person"].astype(int))
    np.testing.assert_allclose(pairs.normalize, raw["normalize"])


def test_real_valid_h5_has_no_train_people(real_valid):
    with pytest.raises(AnnotationError, match=r"valid\.h5: split 'train' has no records"):
        mpii.load(SHARED_MPII / "valid.h5", split="train")


# --- small synthetic files in the three formats ------------------------------------------

def _struct_array(items, fields):
    array = np.zeros((1, len(items)), dtype=[(f, object) for f in fields])
    for i, item in enumerate(items):
        for f in fields:
            array[0, i][f] = item.get(f, EMPTY)
    return array


def _points(points):
    """Points as a struct array, or a single struct (the 1-element quirk)."""
    items = [dict(x=x, y=y, id=k, is_visible=v) for k, x, y, v in points]
    if len(items) == 1:
        return items[0]
    return _struct_array(items, ("x", "y", "id", "is_visible"))


# (6, 0) is the first validation pair; its raw objpos/scale reproduce valid.h5's first person.
VALID_RAW_SCALE = 5.898109866728492 / 1.25
VALID_OBJPOS = (966.0, 410.7773184 - 15 * VALID_RAW_SCALE)


def _release(tmp_path):
    """A 7-image RELEASE: images 0-5 train (image 1 has 1 person, image 2 none,
    image 3 a person without joints, image 4 a test image), image 6 holds pair (6, 0)."""
    person = dict(x1=100.0, y1=50.0, x2=130.0, y2=90.0, scale=2.0,
                  objpos=dict(x=120.0, y=200.0),
                  annopoints=dict(point=_points([(0, 110.0, 380.0, "1"), (9, 115.0, 52.0, ""),
                                                 (12, 90.0, 140.0, "0"),
                                                 (13, 150.0, 140.0, 1)])))
    valid_person = dict(x1=900.0, y1=100.0, x2=960.0, y2=170.0, scale=VALID_RAW_SCALE,
                        objpos=dict(x=VALID_OBJPOS[0], y=VALID_OBJPOS[1]),
                        annopoints=dict(point=_points([(7, 950.0, 300.0, "1")])))
    rect_fields = ("x1", "y1", "x2", "y2", "scale", "objpos", "annopoints")
    annolist = [
        dict(image=dict(name="a.jpg"), annorect=_struct_array([person, person], rect_fields)),
        dict(image=dict(name="b.jpg"), annorect=person),  # single struct, not an array
        dict(image=dict(name="c.jpg"), annorect=EMPTY),  # nobody
        dict(image=dict(name="d.jpg"), annorect=dict(scale=1.0, objpos=dict(x=5.0, y=6.0))),
        dict(image=dict(name="t.jpg"), annorect=dict(scale=3.0, objpos=dict(x=50.0, y=60.0))),
        dict(image=dict(name="e.jpg"), annorect=EMPTY),
        dict(image=dict(name="v.jpg"), annorect=valid_person),
    ]
    single_person = np.empty((7, 1), dtype=object)  # a cell: rect ids or empty
    for i, ids in enumerate([1, 1, EMPTY, EMPTY, 1, EMPTY, 1]):
        single_person[i, 0] = ids
    release = dict(
        annolist=_struct_array(annolist, ("image", "annorect")),
        img_train=np.array([[1, 1, 1, 1, 0, 1, 1]]),
        single_person=single_person,
    )
    path = tmp_path / "mpii_human_pose_v1_u12_1.mat"
    scipy.io.savemat(path, {"RELEASE": release})
    return path


def test_mat_train_people_are_adjusted_once(tmp_path):
    records = mpii.load(_release(tmp_path), split="train")
    assert list(zip(records.image_index, records.person_index)) == [(0, 0), (0, 1), (1, 0)]
    row = records.iloc[2]
    np.testing.assert_allclose(row.center, [120.0, 200.0 + 15 * 2.0])
    assert row.scale == 2.5
    assert row.norm_size == pytest.approx(0.6 * math.hypot(30.0, 40.0))
    np.testing.assert_allclose(row.head_box, [100.0, 50.0, 130.0, 90.0])
    assert row.image == os.path.abspath(tmp_path / "images" / "b.jpg")


def test_mat_points_keep_missing_and_occluded_apart(tmp_path):
    row = mpii.load(_release(tmp_path), split="train").iloc[0]
    assert np.flatnonzero(row.annotated).tolist() == [0, 9, 12, 13]
    # '' counts as visible, '0' as occluded, '1' and 1 as visible.
    assert np.flatnonzero(row.visible).tolist() == [0, 9, 13]
    np.testing.assert_allclose(row.joints[12], [90.0, 140.0])
    np.testing.assert_array_equal(row.joints[1], [0.0, 0.0])


def test_mat_and_h5_agree_on_the_same_validation_person(tmp_path, real_valid):
    raw, _ = real_valid
    row = mpii.load(_release(tmp_path), split="valid").iloc[0]
    assert (row.image_index, row.person_index) == (6, 0)
    np.testing.assert_allclose(row.center, raw["center"][0])
    assert row.scale == pytest.approx(raw["scale"][0])


def test_mat_test_people_have_no_joints(tmp_path):
    records = mpii.load(_release(tmp_path), split="test")
    assert len(records) == 1
    row = records.iloc[0]
    assert not row.annotated.any() and math.isnan(row.norm_size)
    np.testing.assert_allclose(row.center, [50.0, 60.0 + 45.0])
    assert row.scale == 3.75 and bool(row.single_person)


def test_mat_without_release_names_the_file_and_variable(tmp_path):
    scipy.io.savemat(tmp_path / "x.mat", {"annolist": np.zeros(2)})
    with pytest.raises(AnnotationError, match=r"x\.mat: has no variable 'RELEASE'"):
        mpii.load(tmp_path / "x.mat")


def test_mat_point_with_bad_id_names_the_point(tmp_path):
    person = dict(scale=1.0, objpos=dict(x=1.0, y=2.0),
                  annopoints=dict(point=dict(x=1.0, y=1.0, id=16, is_visible=1)))
    release = dict(annolist=_struct_array([dict(image=dict(name="a.jpg"), annorect=person)],
                                          ("image", "annorect")), img_train=1)
    scipy.io.savemat(tmp_path / "bad.mat", {"RELEASE": release})
    with pytest.raises(AnnotationError, match=r"annolist\(1\)\.annorect\(1\)\.annopoints"
                                              r"\.point\(1\)\.id is 16"):
        mpii.load(tmp_path / "bad.mat")


def _json_person(annolist_index, people_index, joint_self=None):
    joints = joint_self if joint_self is not None else [[10.0 + k, 20.0, 1] for k in range(16)]
    return {"dataset": "MPI", "isValidation": 0.0, "img_paths": "a.jpg", "img_width": 640,
            "img_height": 480, "objpos": [100.0, 150.0], "joint_self": joints,
            "scale_provided": 2.0, "annolist_index": annolist_index,
            "people_index": people_index}


def test_json_people_are_adjusted_once_and_split_by_the_valid_list(tmp_path):
    joints = [[10.0 + k, 20.0, 1] for k in range(16)]
    joints[3] = [0, 0, 0]  # missing
    joints[4] = [30.0, 40.0, 0]  # occluded
    path = tmp_path / "mpii_annotations.json"
    path.write_text(json.dumps([_json_person(1, 1, joints), _json_person(7, 1)]))
    train = mpii.load(path, split="train")
    valid = mpii.load(path, split="valid")
    assert (len(train), len(valid)) == (1, 1)
    row = train.iloc[0]
    np.testing.assert_allclose(row.center, [100.0, 180.0])
    assert row.scale == 2.5 and math.isnan(row.norm_size)
    assert not row.annotated[3] and row.annotated[4] and not row.visible[4]
    assert valid.norm_size[0] == pytest.approx(117.96219733456985)


@pytest.mark.parametrize("content, field", [
    ('{"a": 1}', "expected a list of people"),
    ('[{"img_paths": "a.jpg"}]', "person 0 lacks field"),
    ('[3]', "person 0 is int"),
    ("[" + json.dumps(_json_person(1, 1, [[1, 2, 1]] * 15)) + "]", "joint_self has shape"),
])
def test_json_of_the_wrong_shape_names_file_and_field(tmp_path, content, field):
    path = tmp_path / "mpii_annotations.json"
    path.write_text(content)
    with pytest.raises(AnnotationError, match=f"mpii_annotations.json: .*{field}"):
        mpii.load(path)


def _write_h5(path, parts, index=(0,), person=(0,)):
    n = len(index)
    with h5py.File(path, "w") as f:
        f["index"] = np.asarray(index, float)
        f["person"] = np.asarray(person, float)
        f["imgname"] = np.array([b"a.jpg"] * n)
        f["center"] = np.full((n, 2), 50.0)
        f["scale"] = np.full(n, 1.5)
        f["part"] = parts
        f["visible"] = np.ones((n, 16))
        f["normalize"] = np.full(n, 20.0)


def test_h5_train_file_marks_zero_parts_missing(tmp_path):
    parts = np.full((1, 16, 2), 5.0)
    parts[0, 2] = 0.0
    parts[0, 3] = [0.0, 7.0]  # one zero coordinate is still a label
    (tmp_path / "annot").mkdir()
    _write_h5(tmp_path / "annot" / "train.h5", parts)
    row = mpii.load(tmp_path, split="train").iloc[0]
    assert not row.annotated[2] and row.annotated[3] and not row.visible[2]
    assert row.image == os.path.abspath(tmp_path / "images" / "a.jpg")


def test_h5_test_file_people_have_no_joints(tmp_path):
    _write_h5(tmp_path / "test.h5", np.zeros((2, 16, 2)), index=(0, 1), person=(0, 0))
    records = mpii.load(tmp_path / "test.h5", split="test")
    assert len(records) == 2 and not np.stack(records.annotated).any()


def test_h5_with_wrong_part_shape_names_the_dataset(tmp_path):
    _write_h5(tmp_path / "train.h5", np.zeros((1, 14, 2)))
    with pytest.raises(AnnotationError, match=r"train\.h5: dataset 'part' has shape"):
        mpii.load(tmp_path / "train.h5")


def test_unknown_file_format_is_rejected(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(AnnotationError, match="notes.txt: not an MPII annotation file"):
        mpii.load(tmp_path / "notes.txt")
