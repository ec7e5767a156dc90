"""Custom data in the COCO keypoints format (what CVAT, Label Studio and COCO export).

Choices (see ``datasets/README.md`` for an example file):

* one record per annotation of the keypoint category (``iscrowd`` annotations and
  annotations with fewer than ``min_keypoints`` labelled keypoints are skipped);
* crop: ``center`` = bounding-box centre, ``scale = max(w, h) · 1.25 / 200`` (the box side
  is 1.25 × the larger bbox side, like MPII's margin); without a usable bbox, the box of the
  labelled keypoints is used;
* visibility flags: ``v = 0`` not annotated, ``v = 1`` annotated but not visible (occluded),
  ``v = 2`` annotated and visible;
* ``norm_size`` = the larger bbox side; the metric is PCK at 0.1 of it (``DatasetInfo``
  ``metric="pck", threshold=0.1``): for an upright person 0.1 × height is about half a head
  size, i.e. close to PCKh@0.5;
* any number of keypoints K, named by the category's ``keypoints`` list; left/right pairs are
  found from the names (``left_*``/``right_*``, ``l_*``/``r_*``, ``*_left``/``*_right``) or
  given explicitly with ``flip_pairs``;
* splits: a COCO file is usually one split, so every record gets ``split``; with
  ``valid_fraction`` one file is divided by image (a stable hash of the image id) and
  ``split`` picks ``"train"`` or ``"valid"``.

Coordinates are used as stored (COCO's continuous pixel coordinates).

Example:
    >>> records = load("datasets/mine/person_keypoints.json", split="train")  # doctest: +SKIP
    >>> info = info_from_coco("datasets/mine/person_keypoints.json")          # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from hg_keras.datasets.records import (
    SPLITS,
    AnnotationError,
    DatasetInfo,
    flip_permutation_from_names,
    make_records,
    resolve_image,
    select_split,
)

BOX_MARGIN = 1.25
PCK_THRESHOLD = 0.1


def _read_coco(path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: COCO keypoints file not found")
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (ValueError, UnicodeDecodeError) as error:
        raise AnnotationError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(data, dict):
        raise AnnotationError(
            f"{path}: expected a COCO object with 'images', 'annotations', 'categories'; "
            f"got {type(data).__name__}"
        )
    for key in ("images", "annotations", "categories"):
        if not isinstance(data.get(key), list):
            raise AnnotationError(f"{path}: field {key!r} must be a list")
    return data


def _keypoint_category(data: dict, path, category_id=None) -> dict:
    categories = [c for c in data["categories"] if isinstance(c, dict)]
    if category_id is not None:
        chosen = [c for c in categories if c.get("id") == category_id]
        if not chosen:
            raise AnnotationError(f"{path}: categories has no id {category_id}")
    else:
        chosen = [c for c in categories if c.get("keypoints")]
        if not chosen:
            raise AnnotationError(f"{path}: no category has a 'keypoints' list")
        people = [c for c in chosen if str(c.get("name", "")).lower() == "person"]
        chosen = people or chosen
    category = chosen[0]
    names = category.get("keypoints")
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise AnnotationError(
            f"{path}: category {category.get('id')!r} field 'keypoints' must be a non-empty "
            "list of names"
        )
    return category


def _flip_permutation(names, flip_pairs, source) -> tuple:
    if flip_pairs is None:
        return flip_permutation_from_names(names, source=f"{source}: categories.keypoints")
    permutation = list(range(len(names)))
    index = {n: i for i, n in enumerate(names)}
    for pair in flip_pairs:
        try:
            a, b = (index[p] if isinstance(p, str) else int(p) for p in pair)
        except (KeyError, TypeError, ValueError):
            raise AnnotationError(
                f"flip_pairs: {pair!r} does not name two of the keypoints {names}"
            ) from None
        if not (0 <= a < len(names) and 0 <= b < len(names)):
            raise AnnotationError(f"flip_pairs: {pair!r} is out of range for {len(names)} joints")
        permutation[a], permutation[b] = b, a
    return tuple(permutation)


def info_from_coco(path, flip_pairs=None, category_id=None) -> DatasetInfo:
    """Dataset metadata from a COCO keypoints file's category.

    Args:
        path: COCO JSON file.
        flip_pairs: optional list of (a, b) left/right pairs, as indices or keypoint names;
            default: found from the names.
        category_id: which category (default: the one named "person", else the first with
            keypoints).

    Returns:
        ``DatasetInfo(name=<file stem>, joint_names, flip_permutation, "pck", 0.1)``.

    Example:
        >>> info = info_from_coco("datasets/mine/person_keypoints.json")   # doctest: +SKIP
        >>> info.joint_names[:3]                                           # doctest: +SKIP
        ('nose', 'left_eye', 'right_eye')
    """
    data = _read_coco(path)
    category = _keypoint_category(data, path, category_id)
    names = tuple(category["keypoints"])
    return DatasetInfo(
        name=Path(path).stem,
        joint_names=names,
        flip_permutation=_flip_permutation(names, flip_pairs, str(path)),
        metric="pck",
        threshold=PCK_THRESHOLD,
    )


def _image_root(path: Path, images: dict, image_root) -> Path:
    if image_root is not None:
        return Path(image_root)
    candidates = [path.parent, path.parent / "images", path.parent.parent / "images"]
    first = next(iter(images.values()), None)
    if first is not None:
        for candidate in candidates:
            if (candidate / first).is_file():
                return candidate
    return path.parent


def _in_valid(image_id, fraction: float) -> bool:
    return zlib.crc32(str(image_id).encode()) % 10000 < fraction * 10000


def load(path, split="train", category_id=None, image_root=None,
         min_keypoints: int = 1, valid_fraction: float | None = None) -> pd.DataFrame:
    """Read a COCO keypoints file into records.

    Args:
        path: COCO JSON file.
        split: split name given to the records (``"train"``, ``"valid"`` or ``"test"``);
            with ``valid_fraction``, which part of the file to return.
        category_id: which category (default: "person", else the first with keypoints).
        image_root: folder that ``file_name`` is relative to (default: the JSON's folder,
            or ``images/`` beside it or beside its parent, whichever holds the first image).
        min_keypoints: skip annotations with fewer labelled keypoints.
        valid_fraction: divide the file into train/valid by image (stable hash of the id).

    Returns:
        records DataFrame with K = number of category keypoints, plus a ``bbox`` column.

    Raises:
        AnnotationError: malformed file (names the file, the annotation and the field), or
            an empty split.

    Example:
        >>> records = load("datasets/mine/person_keypoints.json", split="valid")  # doctest: +SKIP
    """
    if split not in SPLITS:
        raise AnnotationError(f"split: {split!r} is not one of {SPLITS}")
    path = Path(path)
    source = str(path)
    data = _read_coco(path)
    category = _keypoint_category(data, path, category_id)
    num_joints = len(category["keypoints"])
    images = {}
    for n, image in enumerate(data["images"]):
        if not isinstance(image, dict) or "id" not in image or "file_name" not in image:
            raise AnnotationError(f"{source}: images[{n}] needs 'id' and 'file_name'")
        if not _is_id(image["id"]):
            raise AnnotationError(f"{source}: images[{n}] field 'id' must be a number or string")
        images[image["id"]] = str(image["file_name"])
    root = str(_image_root(path, images, image_root))
    positions = {image_id: i for i, image_id in enumerate(images)}
    rows = []
    person_counts = {}
    for n, ann in enumerate(data["annotations"]):
        where = f"{source}: annotations[{n}]"
        if not isinstance(ann, dict):
            raise AnnotationError(f"{where} is {type(ann).__name__}, expected an object")
        if ann.get("category_id", category.get("id")) != category.get("id"):
            continue
        if ann.get("iscrowd", 0):
            continue
        row = _person(ann, where, num_joints, images)
        if row is None or int(row["annotated"].sum()) < min_keypoints:
            continue
        image_id = ann["image_id"]
        if valid_fraction is not None:
            row["split"] = "valid" if _in_valid(image_id, valid_fraction) else "train"
        else:
            row["split"] = split
        person_index = person_counts.get(image_id, 0)
        person_counts[image_id] = person_index + 1
        row.update(image=resolve_image(images[image_id], root), image_index=positions[image_id],
                   person_index=person_index)
        rows.append(row)
    records = make_records(rows, source=source)
    return select_split(records, split, source=source)


def _is_id(value) -> bool:
    return isinstance(value, (int, float, str)) and not isinstance(value, bool)


def _person(ann: dict, where: str, num_joints: int, images: dict):
    for key in ("image_id", "keypoints"):
        if key not in ann:
            raise AnnotationError(f"{where} lacks field {key!r}")
    if not _is_id(ann["image_id"]) or ann["image_id"] not in images:
        raise AnnotationError(f"{where}: image_id {ann['image_id']!r} is not in 'images'")
    try:
        keypoints = np.asarray(ann["keypoints"], dtype=np.float64)
    except (TypeError, ValueError):
        raise AnnotationError(f"{where}: field 'keypoints' is not a list of numbers") from None
    if keypoints.shape != (3 * num_joints,):
        raise AnnotationError(
            f"{where}: field 'keypoints' has {keypoints.size} numbers; expected "
            f"3 x {num_joints} (x, y, v per keypoint)"
        )
    keypoints = keypoints.reshape(num_joints, 3)
    flags = keypoints[:, 2]
    if not np.all(np.isin(flags, (0.0, 1.0, 2.0))):
        raise AnnotationError(f"{where}: keypoint visibility flags must be 0, 1 or 2")
    annotated = flags > 0
    if not np.all(np.isfinite(keypoints[annotated, :2])):
        raise AnnotationError(f"{where}: field 'keypoints' has non-finite coordinates")
    box = ann.get("bbox")
    try:
        box = None if box is None else np.asarray(box, dtype=np.float64)
    except (TypeError, ValueError):
        raise AnnotationError(f"{where}: field 'bbox' is not a list of numbers") from None
    if box is not None and box.shape != (4,):
        raise AnnotationError(f"{where}: field 'bbox' must be [x, y, w, h]")
    if box is None or not np.all(np.isfinite(box)) or box[2] <= 0 or box[3] <= 0:
        if not annotated.any():
            return None
        lo = keypoints[annotated, :2].min(axis=0)
        hi = keypoints[annotated, :2].max(axis=0)
        box = np.array([lo[0], lo[1], hi[0] - lo[0], hi[1] - lo[1]])
    side = float(max(box[2], box[3]))
    if not side > 0 or not math.isfinite(side):
        return None  # a single labelled point gives no box
    return {
        "center": np.array([box[0] + box[2] / 2.0, box[1] + box[3] / 2.0]),
        "scale": side * BOX_MARGIN / 200.0,
        "joints": np.where(annotated[:, None], keypoints[:, :2], 0.0),
        "annotated": annotated,
        "visible": flags == 2.0,
        "norm_size": side,
        "bbox": box,
    }

