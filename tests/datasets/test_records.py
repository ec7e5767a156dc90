"""The record schema on disk (JSON Lines, TFRecords) and the checks on bad input."""

import json
import logging
import math
import os

import cv2
import numpy as np
import pytest

from hg_keras.datasets.records import (
    MPII_INFO,
    AnnotationError,
    check_records,
    flip_permutation_from_names,
    make_records,
    read_info,
    read_jsonl,
    read_tfrecords,
    select_split,
    validate_images,
    write_jsonl,
    write_tfrecords,
)


def _row(image="images/a.jpg", k=3, **changes):
    row = dict(image=image, center=[50.5, 60.0], scale=1.25,
               joints=[[10.0 * j, 20.0 + j] for j in range(k)],
               annotated=[True] * (k - 1) + [False], visible=[True] + [False] * (k - 1),
               norm_size=12.5, split="train", image_index=4, person_index=1)
    row.update(changes)
    return row


def _records(tmp_path, rows=None):
    rows = rows or [_row(image=str(tmp_path / "images" / "a.jpg")),
                    _row(image=str(tmp_path / "images" / "b.jpg"), split="valid",
                         norm_size=math.nan)]
    return make_records(rows)


def test_jsonl_round_trip_keeps_values_and_stores_relative_paths(tmp_path):
    records = _records(tmp_path)
    path = write_jsonl(records, tmp_path / "annotations.jsonl", info=MPII_INFO)
    first = json.loads((tmp_path / "annotations.jsonl").read_text().splitlines()[0])
    assert first["image"] == "images/a.jpg"
    assert first["joints"][1] == [10.0, 21.0]
    back = read_jsonl(path)
    assert list(back.image) == [os.path.abspath(tmp_path / "images" / f"{n}.jpg") for n in "ab"]
    np.testing.assert_array_equal(np.stack(back.joints), np.stack(records.joints))
    assert back.annotated[0].tolist() == [True, True, False]
    assert back.norm_size[0] == 12.5 and math.isnan(back.norm_size[1])
    assert read_info(tmp_path / "annotations.info.json") == MPII_INFO


def test_jsonl_split_selection_and_empty_split(tmp_path):
    path = write_jsonl(_records(tmp_path), tmp_path / "a.jsonl")
    assert len(read_jsonl(path, split="valid")) == 1
    with pytest.raises(AnnotationError, match=r"a\.jsonl: split 'test' has no records "
                                              r"\(splits present: \['train', 'valid'\]\)"):
        read_jsonl(path, split="test")


def test_jsonl_through_tf_gfile_paths():
    records = make_records([_row(image="ram://data/images/a.jpg")])
    write_jsonl(records, "ram://data/annotations.jsonl")
    back = read_jsonl("ram://data/annotations.jsonl")
    assert back.image[0] == "ram://data/images/a.jpg"


def test_jsonl_line_that_is_not_json_names_the_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(_row()) + "\n{oops\n")
    with pytest.raises(AnnotationError, match=r"bad\.jsonl: line 2"):
        read_jsonl(path)


def test_skip_bad_lines_logs_a_count_and_the_list(tmp_path, caplog):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(_row()) + "\n" + json.dumps(_row(scale=-1.0)) + "\n[1]\n")
    with caplog.at_level(logging.WARNING):
        records = read_jsonl(path, skip_bad=True)
    assert len(records) == 1
    assert "skipped 2 bad line(s)" in caplog.text and "line 3" in caplog.text


@pytest.mark.parametrize("changes, message", [
    (dict(scale=math.nan), "scale nan; scale must be > 0"),
    (dict(scale=-1.0), "scale -1.0; scale must be > 0"),
    (dict(center=[1.0, math.inf]), "center must be finite"),
    (dict(norm_size=0.0), "norm_size 0.0; norm_size must be > 0"),
    (dict(split="val"), "split 'val'; split must be one of"),
    (dict(visible=[True, True, True]), "visible joints that are not annotated"),
    (dict(annotated=[True, True]), r"annotated of shape \(2,\); expected \(3,\)"),
    (dict(joints=[[1.0, 2.0, 3.0]] * 3), r"joints of shape \(3, 3\)"),
    (dict(joints=[[1.0, math.nan]] * 3), "non-finite coordinates for annotated joints"),
    (dict(center=[1.0]), r"field 'center' has shape \(1,\)"),
    (dict(joints="abc"), "field 'joints' is not numeric"),
])
def test_bad_record_names_the_source_record_and_field(changes, message):
    with pytest.raises(AnnotationError, match=f"people.jsonl: .*{message}"):
        make_records([_row(), _row(**changes)], source="people.jsonl")


def test_joints_array_of_the_wrong_length_is_rejected():
    with pytest.raises(AnnotationError, match=r"record 1 \(image 4, person 1\) has 4 joints; "
                                              r"expected 3"):
        make_records([_row(k=3), _row(k=4)], source="x")
    with pytest.raises(AnnotationError, match="has 3 joints; expected 16"):
        check_records(make_records([_row()]), "x", num_joints=MPII_INFO.num_joints)


def test_missing_field_is_named():
    row = _row()
    del row["scale"]
    with pytest.raises(AnnotationError, match=r"x: record 0 lacks field\(s\) \['scale'\]"):
        make_records([row], source="x")


def test_check_records_can_skip_bad_rows_with_a_logged_count(caplog):
    records = make_records([_row(), _row()])
    records.loc[1, "scale"] = -2.0
    with caplog.at_level(logging.WARNING):
        kept = check_records(records, "x.jsonl", skip_bad=True)
    assert len(kept) == 1 and "x.jsonl: skipped 1 bad record(s)" in caplog.text


def test_validate_images_names_missing_files(tmp_path):
    records = _records(tmp_path)
    (tmp_path / "images").mkdir()
    cv2.imwrite(str(tmp_path / "images" / "a.jpg"), np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(FileNotFoundError, match=r"1 image file\(s\) missing.*b\.jpg"):
        validate_images(records)


def test_validate_images_finds_corrupt_files_and_can_skip_them(tmp_path, caplog):
    records = _records(tmp_path)
    (tmp_path / "images").mkdir()
    cv2.imwrite(str(tmp_path / "images" / "a.jpg"), np.zeros((8, 8, 3), np.uint8))
    (tmp_path / "images" / "b.jpg").write_bytes(b"not a jpeg")
    assert validate_images(records) is records  # exists: fine without decoding
    with pytest.raises(AnnotationError, match=r"cannot be decoded.*b\.jpg"):
        validate_images(records, decode=True)
    with caplog.at_level(logging.WARNING):
        kept = validate_images(records, decode=True, skip_bad=True)
    assert list(kept.image) == [records.image[0]]
    assert "skipped 0 missing and 1 corrupt image(s)" in caplog.text


def test_select_split_rejects_unknown_names():
    with pytest.raises(AnnotationError, match="split 'validation' is not one of"):
        select_split(make_records([_row()]), "validation")


def test_flip_permutation_from_names_handles_prefixes_and_suffixes():
    names = ["head", "left_hand", "right_hand", "l.foot", "r.foot", "Knee_L", "Knee_R"]
    assert flip_permutation_from_names(names) == (0, 2, 1, 4, 3, 6, 5)


def test_tfrecords_round_trip_over_shards_with_embedded_images(tmp_path):
    (tmp_path / "images").mkdir()
    for name in "ab":
        cv2.imwrite(str(tmp_path / "images" / f"{name}.jpg"), np.zeros((4, 4, 3), np.uint8))
    records = _records(tmp_path)
    paths = write_tfrecords(records, tmp_path / "train", num_shards=2, embed_images=True)
    assert [os.path.basename(p) for p in paths] == ["train-00000-of-00002.tfrecord",
                                                    "train-00001-of-00002.tfrecord"]
    back = read_tfrecords(str(tmp_path / "train-*.tfrecord"))
    assert sorted(back.image) == sorted(records.image)
    back = back.sort_values("image").reset_index(drop=True)
    np.testing.assert_allclose(np.stack(back.joints), np.stack(records.joints))
    assert back.visible[0].tolist() == [True, False, False]
    assert math.isnan(back.norm_size[1]) and list(back.split) == ["train", "valid"]


def test_tfrecords_without_matching_files_raise(tmp_path):
    with pytest.raises(FileNotFoundError, match="no TFRecord files match"):
        read_tfrecords(str(tmp_path / "none-*.tfrecord"))
