"""MPII Human Pose: official ``.mat``, reference ``*.h5`` and community JSON -> records.

Three annotation formats are recognised from the file's first bytes:

* the official ``mpii_human_pose_v1_u12_1.mat`` (``RELEASE`` struct, raw centre/scale);
* the reference code's ``train.h5`` / ``valid.h5`` / ``test.h5`` (centre/scale already
  adjusted);
* the community ``mpii_annotations.json`` (training images only, raw centre/scale, no head
  boxes: ``norm_size`` comes from the shipped validation list for validation people and is
  NaN, i.e. unknown, for the others).

The centre/scale adjustment of the reference code (``center.y += 15 · s``,
``scale = 1.25 · s``) is applied exactly once: at load time for the ``.mat`` and the JSON,
never for the ``.h5`` files.

Splits: ``valid`` is the 2958 people of the reference ``valid.h5`` (the list ships as
``hg_keras/datasets/data/mpii_valid_pairs.csv``: 0-based image index into ``annolist``,
0-based person index, image name and head-size normaliser); ``train`` is every annotated
person of a training image not in that list; ``test`` is the people of test images (no
joints: ``annotated`` all False), for prediction and submission only.

Joints (``MPII_INFO``): not annotated (missing) and annotated-but-occluded are kept apart in
``annotated`` / ``visible``. ``norm_size`` = 0.6 × head-box diagonal. Coordinates are kept as
in the files (MATLAB, 1-based) so predictions map back to the official evaluation frame.

Example:
    >>> valid = load("datasets/mpii/annot/valid.h5", split="valid")   # doctest: +SKIP
    >>> len(valid)                                                    # doctest: +SKIP
    2958
"""

from __future__ import annotations

import functools
import json
import math
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from hg_keras.datasets.matlab import as_float, as_list, field, is_empty, load_mat
from hg_keras.datasets.records import (
    MPII_INFO,
    AnnotationError,
    make_records,
    resolve_image,
    select_split,
)

NUM_JOINTS = MPII_INFO.num_joints
VALID_PAIRS_FILE = "mpii_valid_pairs.csv"
CENTER_SHIFT_PER_SCALE = 15.0
SCALE_FACTOR = 1.25
HEAD_SIZE_FACTOR = 0.6


@functools.lru_cache(maxsize=1)
def valid_pairs() -> pd.DataFrame:
    """The standard validation split: (image_index, person_index, imgname, normalize) rows.

    Example:
        >>> len(valid_pairs())
        2958
    """
    with resources.files("hg_keras.datasets").joinpath("data", VALID_PAIRS_FILE).open() as f:
        return pd.read_csv(f)


def _valid_lookup() -> dict:
    pairs = valid_pairs()
    return {(int(i), int(p)): float(z) for i, p, z in
            zip(pairs.image_index, pairs.person_index, pairs.normalize)}


def adjust_center_scale(objpos_xy, raw_scale):
    """The reference code's crop: centre moved down by 15·s px, scale enlarged by 1.25.

    Args:
        objpos_xy: (2,) raw ``objpos`` (x, y).
        raw_scale: raw ``scale`` (person height / 200 px).

    Returns:
        ``(center (2,) float64, scale float)``.

    Example:
        >>> adjust_center_scale([100.0, 200.0], 2.0)
        (array([100., 230.]), 2.5)
    """
    center = np.array(objpos_xy, dtype=np.float64).copy()
    center[1] += CENTER_SHIFT_PER_SCALE * raw_scale
    return center, SCALE_FACTOR * float(raw_scale)


def head_size(head_box) -> float:
    """PCKh normaliser: 0.6 × the diagonal of the head box ``[x1, y1, x2, y2]``."""
    x1, y1, x2, y2 = (float(v) for v in head_box)
    return HEAD_SIZE_FACTOR * math.hypot(x2 - x1, y2 - y1)


def detect_format(path) -> str:
    """``"h5"``, ``"mat"`` or ``"json"`` from the file's first bytes (then its suffix).

    Raises:
        AnnotationError: none of the three.
    """
    with open(path, "rb") as f:
        head = f.read(128)
    if head.startswith(b"\x89HDF"):
        return "h5"
    if head.startswith(b"MATLAB"):
        return "mat"
    if head.lstrip()[:1] in (b"[", b"{"):
        return "json"
    suffix = Path(path).suffix.lower()
    formats = {".h5": "h5", ".hdf5": "h5", ".mat": "mat", ".json": "json"}
    if suffix in formats:
        return formats[suffix]
    raise AnnotationError(
        f"{path}: not an MPII annotation file (expected HDF5 .h5, MATLAB .mat or JSON)"
    )


def load(path, split="train", image_root=None) -> pd.DataFrame:
    """Read MPII annotations (any of the three formats) into records.

    Args:
        path: annotation file, or the dataset folder (``annot/<split>.h5``,
            ``mpii_human_pose_v1_u12_1.mat`` or ``mpii_annotations.json`` inside).
        split: ``"train"``, ``"valid"``, ``"test"`` or a list of them.
        image_root: folder of the images (default: ``images/`` beside the dataset folder,
            i.e. ``path.parent / "images"``, or ``path.parent.parent / "images"`` for files
            inside ``annot/``).

    Returns:
        records DataFrame (K = 16).

    Raises:
        FileNotFoundError: no annotation file.
        AnnotationError: malformed file (the message names the file and the field) or an
            empty split.

    Example:
        >>> train = load(
        ...     "datasets/mpii/mpii_human_pose_v1_u12_1.mat", split="train")  # doctest: +SKIP
    """
    path = Path(path)
    splits = [split] if isinstance(split, str) else list(split)
    if path.is_dir():
        from hg_keras.datasets.registry import find_mpii_annotations

        found = find_mpii_annotations(path, splits[0])
        if found is None:
            raise FileNotFoundError(
                f"{path}: no MPII annotations (annot/{splits[0]}.h5, "
                "mpii_human_pose_v1_u12_1.mat or mpii_annotations.json)"
            )
        path = found
    if not path.is_file():
        raise FileNotFoundError(f"{path}: MPII annotation file not found")
    if image_root is None:
        base = path.parent.parent if path.parent.name == "annot" else path.parent
        image_root = base / "images"
    kind = detect_format(path)
    reader = {"h5": _read_h5, "mat": _read_mat, "json": _read_json}[kind]
    rows = reader(path, splits, str(image_root))
    records = make_records(rows, source=str(path))
    return select_split(records, split, source=str(path))


# --- reference h5 ----------------------------------------------------------------------

def _read_h5(path: Path, splits, image_root: str) -> list:
    import h5py

    source = str(path)
    try:
        f = h5py.File(path, "r")
    except OSError as error:
        raise AnnotationError(f"{source}: cannot read as HDF5 ({error})") from None
    with f:
        required = ("index", "person", "imgname", "center", "scale", "part")
        missing = [k for k in required if k not in f]
        if missing:
            raise AnnotationError(f"{source}: missing dataset(s) {missing}")
        data = {k: f[k][()] for k in f if k in required + ("visible", "normalize")}
    count = len(data["index"])
    for key, shape in (("person", (count,)), ("imgname", (count,)), ("center", (count, 2)),
                       ("scale", (count,)), ("part", (count, NUM_JOINTS, 2)),
                       ("visible", (count, NUM_JOINTS)), ("normalize", (count,))):
        if key in data and np.shape(data[key]) != shape:
            raise AnnotationError(
                f"{source}: dataset {key!r} has shape {np.shape(data[key])}, expected {shape}"
            )
    is_test_file = path.stem.lower() == "test"
    valid = _valid_lookup()
    parts = np.asarray(data["part"], dtype=np.float64)
    annotated_all = np.any(parts != 0.0, axis=-1)  # (0, 0) = not annotated
    visible_all = (np.asarray(data["visible"]) > 0 if "visible" in data
                   else annotated_all)
    rows = []
    for n in range(count):
        key = (int(data["index"][n]), int(data["person"][n]))
        split = "test" if is_test_file else "valid" if key in valid else "train"
        annotated = annotated_all[n] & (split != "test")
        name = data["imgname"][n]
        name = name.decode() if isinstance(name, bytes) else str(name)
        norm = float(data["normalize"][n]) if "normalize" in data else math.nan
        rows.append({
            "image": resolve_image(name, image_root),
            "center": np.asarray(data["center"][n], dtype=np.float64),
            "scale": float(data["scale"][n]),
            "joints": np.where(annotated[:, None], parts[n], 0.0),
            "annotated": annotated,
            "visible": visible_all[n] & annotated,
            "norm_size": norm if norm > 0 else math.nan,
            "split": split,
            "image_index": key[0],
            "person_index": key[1],
        })
    return rows


# --- official RELEASE .mat --------------------------------------------------------------

def _read_mat(path: Path, splits, image_root: str) -> list:
    source = str(path)
    release = load_mat(path, "RELEASE")
    annolist = as_list(field(release, "annolist", f"{source}: RELEASE"))
    img_train = np.ravel(np.asarray(field(release, "img_train", f"{source}: RELEASE")))
    if len(img_train) != len(annolist):
        raise AnnotationError(
            f"{source}: RELEASE.img_train has {len(img_train)} entries but annolist has "
            f"{len(annolist)}"
        )
    single = as_list(field(release, "single_person", f"{source}: RELEASE", default=None))
    valid = _valid_lookup()
    rows = []
    for i, entry in enumerate(annolist):
        where = f"{source}: RELEASE.annolist({i + 1})"
        is_train = bool(img_train[i])
        if not is_train and "test" not in splits:
            continue
        image = field(field(entry, "image", where), "name", f"{where}.image")
        singles = set()
        if i < len(single):
            singles = {int(v) - 1 for v in np.ravel(np.asarray(single[i], dtype=np.float64))
                       if np.isfinite(v)} if not is_empty(single[i]) else set()
        for r, rect in enumerate(as_list(field(entry, "annorect", where, default=None))):
            row = _mat_person(rect, f"{where}.annorect({r + 1})", is_train)
            if row is None:
                continue
            if is_train:
                row["split"] = "valid" if (i, r) in valid else "train"
            else:
                row["split"] = "test"
            row.update(image=resolve_image(str(image), image_root), image_index=i,
                       person_index=r, single_person=r in singles)
            rows.append(row)
    return rows


def _mat_person(rect, where: str, is_train: bool):
    """One annorect as a partial record; None when it is not a usable person."""
    if not hasattr(rect, "_fieldnames"):
        return None
    raw_scale = field(rect, "scale", where, default=None)
    objpos = field(rect, "objpos", where, default=None)
    if is_empty(raw_scale) or is_empty(objpos) or not hasattr(objpos, "_fieldnames"):
        return None
    s = as_float(raw_scale, f"{where}.scale")
    objpos_xy = [as_float(field(objpos, "x", f"{where}.objpos"), f"{where}.objpos.x"),
                 as_float(field(objpos, "y", f"{where}.objpos"), f"{where}.objpos.y")]
    center, scale = adjust_center_scale(objpos_xy, s)
    joints = np.zeros((NUM_JOINTS, 2))
    annotated = np.zeros(NUM_JOINTS, bool)
    visible = np.zeros(NUM_JOINTS, bool)
    annopoints = field(rect, "annopoints", where, default=None)
    if is_train:
        if is_empty(annopoints) or not hasattr(annopoints, "_fieldnames"):
            return None  # a training-image person without joints is not used
        for k, point in enumerate(as_list(field(annopoints, "point", f"{where}.annopoints"))):
            pw = f"{where}.annopoints.point({k + 1})"
            joint_id = int(as_float(field(point, "id", pw), f"{pw}.id"))
            if not 0 <= joint_id < NUM_JOINTS:
                raise AnnotationError(f"{pw}.id is {joint_id}; must be in 0..{NUM_JOINTS - 1}")
            joints[joint_id] = [as_float(field(point, "x", pw), f"{pw}.x"),
                                as_float(field(point, "y", pw), f"{pw}.y")]
            annotated[joint_id] = True
            flag = field(point, "is_visible", pw, default=None)
            visible[joint_id] = bool(as_float(flag, f"{pw}.is_visible", default=1.0))
    box = [field(rect, name, where, default=None) for name in ("x1", "y1", "x2", "y2")]
    if any(is_empty(v) for v in box):
        head_box, norm = np.full(4, np.nan), math.nan
    else:
        head_box = np.array([as_float(v, f"{where}.{n}") for v, n in
                             zip(box, ("x1", "y1", "x2", "y2"))])
        norm = head_size(head_box)
    return {"center": center, "scale": scale, "joints": joints, "annotated": annotated,
            "visible": visible, "norm_size": norm, "head_box": head_box}


# --- community JSON ---------------------------------------------------------------------

_JSON_FIELDS = ("img_paths", "objpos", "joint_self", "scale_provided", "annolist_index",
                "people_index")


def _read_json(path: Path, splits, image_root: str) -> list:
    source = str(path)
    try:
        with open(path, encoding="utf-8") as f:
            people = json.load(f)
    except (ValueError, UnicodeDecodeError) as error:
        raise AnnotationError(f"{source}: not valid JSON ({error})") from None
    if isinstance(people, dict) and "root" in people:
        people = people["root"]
    if not isinstance(people, list):
        raise AnnotationError(
            f"{source}: expected a list of people (mpii_annotations.json), "
            f"got {type(people).__name__}"
        )
    valid = _valid_lookup()
    rows = []
    for n, person in enumerate(people):
        where = f"{source}: person {n}"
        if not isinstance(person, dict):
            raise AnnotationError(f"{where} is {type(person).__name__}, expected an object")
        missing = [k for k in _JSON_FIELDS if k not in person]
        if missing:
            raise AnnotationError(f"{where} lacks field(s) {missing}")
        try:
            key = (int(person["annolist_index"]) - 1, int(person["people_index"]) - 1)
            joint_self = np.asarray(person["joint_self"], dtype=np.float64)
            objpos = np.asarray(person["objpos"], dtype=np.float64)
            raw_scale = float(person["scale_provided"])
        except (TypeError, ValueError) as error:
            raise AnnotationError(f"{where}: non-numeric annotation field ({error})") from None
        if joint_self.shape != (NUM_JOINTS, 3):
            raise AnnotationError(
                f"{where}: joint_self has shape {joint_self.shape}, expected ({NUM_JOINTS}, 3)"
            )
        if objpos.shape != (2,):
            raise AnnotationError(f"{where}: objpos has shape {objpos.shape}, expected (2,)")
        split = "valid" if key in valid else "train"
        annotated = np.any(joint_self[:, :2] != 0.0, axis=1)
        center, scale = adjust_center_scale(objpos, raw_scale)
        rows.append({
            "image": resolve_image(str(person["img_paths"]), image_root),
            "center": center,
            "scale": scale,
            "joints": np.where(annotated[:, None], joint_self[:, :2], 0.0),
            "annotated": annotated,
            "visible": (joint_self[:, 2] > 0) & annotated,
            "norm_size": valid.get(key, math.nan),
            "split": split,
            "image_index": key[0],
            "person_index": key[1],
        })
    return rows
