"""Parsers fed arbitrary input fail only with the documented errors."""

import json
import tempfile
from pathlib import Path

import numpy as np
import scipy.io
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hg_keras.datasets import custom, flic, mpii
from hg_keras.datasets.records import AnnotationError, read_jsonl

SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.floats(allow_nan=False)
    | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4),
    max_leaves=12,
)


def _record_like(draw_values):
    keys = ["image", "center", "scale", "joints", "annotated", "visible", "norm_size",
            "split", "image_index", "person_index"]
    return st.fixed_dictionaries({k: draw_values for k in keys})


def _parse(write, parse):
    with tempfile.TemporaryDirectory() as folder:
        path = write(Path(folder))
        try:
            parse(path)
        except AnnotationError:
            pass


@SETTINGS
@given(st.text(max_size=200))
def test_jsonl_reader_accepts_or_rejects_any_text(text):
    def write(folder):
        (folder / "a.jsonl").write_text(text)
        return folder / "a.jsonl"

    _parse(write, read_jsonl)


@SETTINGS
@given(st.lists(_record_like(json_values) | json_values, min_size=1, max_size=3))
def test_jsonl_reader_accepts_or_rejects_any_record_shaped_json(rows):
    def write(folder):
        (folder / "a.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
        return folder / "a.jsonl"

    _parse(write, read_jsonl)


ids = st.integers(0, 2) | st.lists(st.integers(0, 2), max_size=2) | json_values
numbers = st.lists(st.integers(0, 3) | st.floats() | st.none(), max_size=7) | json_values
coco_like = st.fixed_dictionaries({
    "images": st.lists(st.fixed_dictionaries({"id": ids, "file_name": json_values})
                       | json_values, max_size=3),
    "annotations": st.lists(st.fixed_dictionaries({
        "image_id": ids, "category_id": ids, "keypoints": numbers,
        "bbox": numbers, "iscrowd": json_values}) | json_values, max_size=3),
    "categories": st.lists(st.fixed_dictionaries({
        "id": ids, "name": json_values,
        "keypoints": st.lists(st.sampled_from(["nose", "left_eye", "right_eye", "l_x"]),
                              max_size=3) | json_values}) | json_values, max_size=2),
})


@SETTINGS
@given(coco_like | json_values)
def test_coco_reader_accepts_or_rejects_any_json(data):
    def write(folder):
        (folder / "k.json").write_text(json.dumps(data))
        return folder / "k.json"

    _parse(write, lambda p: custom.load(p, split="train"))
    _parse(write, custom.info_from_coco)


@SETTINGS
@given(st.lists(st.fixed_dictionaries({
    "img_paths": json_values, "objpos": numbers,
    "joint_self": st.lists(st.lists(st.integers(0, 3) | st.floats(), min_size=3, max_size=3),
                           min_size=16, max_size=16) | numbers,
    "scale_provided": ids, "annolist_index": ids,
    "people_index": ids}) | json_values, max_size=3) | json_values)
def test_mpii_json_reader_accepts_or_rejects_any_json(data):
    def write(folder):
        (folder / "mpii_annotations.json").write_text(json.dumps(data))
        return folder / "mpii_annotations.json"

    _parse(write, lambda p: mpii.load(p, split=["train", "valid"]))


mat_values = (st.floats(allow_nan=True) | st.integers(-3, 20) | st.text(max_size=3)
              | st.just(np.zeros((0, 0))) | st.lists(st.floats(-5, 5), max_size=3))


@SETTINGS
@given(st.fixed_dictionaries({k: mat_values for k in (
    "x", "y", "id", "is_visible", "scale", "x1", "y1", "x2", "y2", "ox", "oy", "train")}))
def test_release_mat_reader_accepts_or_rejects_any_field_values(v):
    def write(folder):
        point = dict(x=v["x"], y=v["y"], id=v["id"], is_visible=v["is_visible"])
        rect = dict(x1=v["x1"], y1=v["y1"], x2=v["x2"], y2=v["y2"], scale=v["scale"],
                    objpos=dict(x=v["ox"], y=v["oy"]), annopoints=dict(point=point))
        entry = np.zeros((1, 1), dtype=[("image", object), ("annorect", object)])
        entry[0, 0]["image"] = dict(name="a.jpg")
        entry[0, 0]["annorect"] = rect
        release = dict(annolist=entry, img_train=v["train"])
        scipy.io.savemat(folder / "r.mat", {"RELEASE": release})
        return folder / "r.mat"

    _parse(write, lambda p: mpii.load(p, split=["train", "valid", "test"]))


@SETTINGS
@given(st.fixed_dictionaries({k: mat_values for k in (
    "coords", "filepath", "imgdims", "torsobox", "istrain", "istest")}))
def test_flic_reader_accepts_or_rejects_any_field_values(v):
    def write(folder):
        examples = np.zeros((1, 1), dtype=[(k, object) for k in v])
        for k, value in v.items():
            examples[0, 0][k] = value
        scipy.io.savemat(folder / "examples.mat", {"examples": examples})
        return folder / "examples.mat"

    _parse(write, lambda p: flic.load(p, split=["train", "test"]))


@SETTINGS
@given(st.binary(max_size=300))
def test_any_bytes_as_annotation_file_give_annotation_errors(data):
    def write(folder):
        (folder / "x.mat").write_bytes(b"MATLAB 5.0" + data)
        return folder / "x.mat"

    _parse(write, mpii.load)
    _parse(write, flic.load)
