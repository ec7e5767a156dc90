"""COCO keypoints files (CVAT / Label Studio / COCO exports) as custom data."""

import json

import numpy as np
import pytest

from hg_keras.datasets import custom
from hg_keras.datasets.records import AnnotationError
from hg_keras.datasets.registry import load_dataset

NAMES = ["nose", "left_eye", "right_eye", "l_wrist", "r_wrist"]


def _coco(annotations, names=NAMES, images=None):
    return {
        "images": images or [{"id": 7, "file_name": "a.jpg", "width": 640, "height": 480},
                             {"id": 9, "file_name": "b.jpg", "width": 640, "height": 480}],
        "annotations": annotations,
        "categories": [{"id": 1, "name": "person", "keypoints": names}],
    }


def _ann(image_id=7, keypoints=None, bbox=(100, 50, 80, 200), **extra):
    if keypoints is None:
        keypoints = [150, 60, 2, 140, 55, 2, 160, 55, 1, 110, 150, 0, 190, 150, 2]
    return {"id": 1, "image_id": image_id, "category_id": 1, "iscrowd": 0,
            "bbox": list(bbox), "keypoints": keypoints, **extra}


def _write(tmp_path, data, name="keypoints.json"):
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def test_bbox_gives_centre_and_scale_with_a_quarter_margin(tmp_path):
    row = custom.load(_write(tmp_path, _coco([_ann()])), split="train").iloc[0]
    np.testing.assert_allclose(row.center, [140.0, 150.0])
    assert row.scale == pytest.approx(200 * 1.25 / 200)
    assert row.norm_size == 200.0


def test_visibility_flags_map_to_annotated_and_visible(tmp_path):
    row = custom.load(_write(tmp_path, _coco([_ann()])), split="valid").iloc[0]
    assert row.annotated.tolist() == [True, True, True, False, True]
    assert row.visible.tolist() == [True, True, False, False, True]
    np.testing.assert_array_equal(row.joints[3], [0.0, 0.0])
    assert row.split == "valid"


def test_flip_pairs_come_from_left_right_and_l_r_names(tmp_path):
    info = custom.info_from_coco(_write(tmp_path, _coco([_ann()])))
    assert info.flip_permutation == (0, 2, 1, 4, 3)
    assert info.joint_names == tuple(NAMES)
    assert (info.metric, info.threshold) == ("pck", 0.1)


def test_explicit_flip_pairs_override_names(tmp_path):
    names = ["a", "b", "c"]
    data = _coco([_ann(keypoints=[1, 1, 2, 2, 2, 2, 3, 3, 2])], names=names)
    info = custom.info_from_coco(_write(tmp_path, data), flip_pairs=[("a", "c")])
    assert info.flip_permutation == (2, 1, 0)


def test_flip_pairs_naming_an_unknown_joint_are_rejected(tmp_path):
    path = _write(tmp_path, _coco([_ann()]))
    with pytest.raises(AnnotationError, match=r"flip_pairs: \('nose', 'chin'\) does not name"):
        custom.info_from_coco(path, flip_pairs=[("nose", "chin")])


def test_unpaired_side_name_is_an_error_naming_the_joint(tmp_path):
    names = ["nose", "left_ear"]
    data = _coco([_ann(keypoints=[1, 1, 2, 2, 2, 2])], names=names)
    with pytest.raises(AnnotationError, match="'left_ear' has no mirror joint 'right_ear'"):
        custom.info_from_coco(_write(tmp_path, data))


def test_crowd_and_unlabelled_people_are_skipped_and_indices_follow_images(tmp_path):
    anns = [_ann(iscrowd=1), _ann(keypoints=[0] * 15), _ann(image_id=9), _ann(image_id=9)]
    records = custom.load(_write(tmp_path, _coco(anns)), split="train")
    assert list(zip(records.image_index, records.person_index)) == [(1, 0), (1, 1)]


def test_missing_bbox_falls_back_to_the_labelled_keypoints(tmp_path):
    ann = _ann()
    del ann["bbox"]
    row = custom.load(_write(tmp_path, _coco([ann])), split="train").iloc[0]
    np.testing.assert_allclose(row.center, [165.0, 102.5])  # x 140..190, y 55..150
    assert row.norm_size == 95.0


def test_images_folder_beside_the_file_is_found(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "a.jpg").write_bytes(b"")
    row = custom.load(_write(tmp_path, _coco([_ann()])), split="train").iloc[0]
    assert row.image == str(tmp_path / "images" / "a.jpg")


def test_valid_fraction_divides_one_file_by_image(tmp_path):
    images = [{"id": i, "file_name": f"{i}.jpg"} for i in range(40)]
    anns = [_ann(image_id=i) for i in range(40)]
    path = _write(tmp_path, _coco(anns, images=images))
    train = custom.load(path, split="train", valid_fraction=0.25)
    valid = custom.load(path, split="valid", valid_fraction=0.25)
    assert len(train) + len(valid) == 40
    assert 0 < len(valid) < 20
    assert set(train.image_index).isdisjoint(valid.image_index)


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d["annotations"][0].update(keypoints=[1, 2, 2]),
     r"annotations\[0\]: field 'keypoints' has 3 numbers"),
    (lambda d: d["annotations"][0].update(keypoints=[1] * 14 + [5]), "visibility flags"),
    (lambda d: d["annotations"][0].update(image_id=99), "image_id 99 is not in 'images'"),
    (lambda d: d["annotations"][0].update(bbox=[1, 2]), "'bbox' must be"),
    (lambda d: d.pop("categories"), "field 'categories' must be a list"),
    (lambda d: d["categories"][0].update(keypoints=[]), "no category has a 'keypoints'"),
])
def test_malformed_file_names_file_and_field(tmp_path, mutate, message):
    data = _coco([_ann()])
    mutate(data)
    with pytest.raises(AnnotationError, match=message):
        custom.load(_write(tmp_path, data), split="train")


def test_json_list_instead_of_coco_object_is_rejected(tmp_path):
    with pytest.raises(AnnotationError, match="keypoints.json: expected a COCO object"):
        custom.load(_write(tmp_path, [1, 2]))


def test_registry_coco_spec_returns_records_and_info(tmp_path):
    path = _write(tmp_path, _coco([_ann()]))
    records, info = load_dataset(f"coco:{path}", "train")
    assert len(records) == 1 and info.num_joints == 5 and info.name == "keypoints"
