"""FLIC (Frames Labeled In Cinema): ``examples.mat`` -> records with the 11 annotated joints.

Conventions (paper §3.4 and the reference code):

* joints: columns ``[0, 1, 2, 3, 4, 5, 6, 9, 12, 13, 16]`` of ``coords`` in the order of
  ``FLIC_INFO.joint_names`` (l/r shoulder, elbow, wrist, hips, eyes, nose);
* crop: centre ``((x1 + x2) / 2, H / 2)`` from the torsobox ``[x1 y1 x2 y2]`` and the image
  height, scale 2.2 (a 440 px box) for every example;
* observer-centric labels (what the paper reports): when the raw left shoulder lies left of
  the right shoulder in the image, all joints are swapped with the flip permutation;
  ``observer_centric=False`` keeps the raw person-centric labels;
* ``norm_size`` (PCK torso size) = ‖rsho − lhip‖ on the raw labels, or ‖lsho − rhip‖ with
  ``torso="lsho_rhip"`` (the older MODEC protocol).

Coordinates are kept as stored in the file (MATLAB annotations, 1-based), so predictions map
back to the frame of the official labels.

Example:
    >>> records = load("datasets/flic/examples.mat", split="test")   # doctest: +SKIP
    >>> len(records)                                                  # doctest: +SKIP
    1016
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from hg_keras.datasets.matlab import as_float, field, load_mat
from hg_keras.datasets.records import (
    FLIC_INFO,
    AnnotationError,
    make_records,
    resolve_image,
    select_split,
)

ANNOTATION_FILE = "examples.mat"
JOINT_COLUMNS = (0, 1, 2, 3, 4, 5, 6, 9, 12, 13, 16)
SCALE = 2.2
LSHO, RSHO, LHIP, RHIP = 0, 3, 6, 7
TORSO_PAIRS = {"rsho_lhip": (RSHO, LHIP), "lsho_rhip": (LSHO, RHIP)}


def _annotation_path(path) -> Path:
    path = Path(path)
    if path.is_dir():
        path = path / ANNOTATION_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: FLIC annotation file not found; place examples.mat from FLIC.zip there "
            "or run `python scripts/download.py flic`"
        )
    return path


def load(path, split="train", observer_centric: bool = True, image_root=None,
         torso: str = "rsho_lhip") -> pd.DataFrame:
    """Read FLIC's ``examples.mat`` into records.

    Args:
        path: ``examples.mat`` or the dataset folder holding it (images in ``images/``).
        split: ``"train"`` (3987 people), ``"test"`` (1016) or a list of both.
        observer_centric: swap left/right joints when the person faces away (the paper's
            labels); False keeps the raw person-centric labels.
        image_root: folder of the images (default: ``images/`` beside the file).
        torso: PCK normaliser, ``"rsho_lhip"`` (default) or ``"lsho_rhip"`` (MODEC).

    Returns:
        records DataFrame (K = 11), ``image_index`` = index into ``examples``.

    Raises:
        FileNotFoundError: no annotation file.
        AnnotationError: the file lacks ``examples`` or a field is malformed.

    Example:
        >>> train = load("datasets/flic", split="train")   # doctest: +SKIP
    """
    if torso not in TORSO_PAIRS:
        raise ValueError(f"torso: {torso!r}; use one of {sorted(TORSO_PAIRS)}")
    splits = [split] if isinstance(split, str) else list(split)
    for name in splits:
        if name not in ("train", "test"):
            raise AnnotationError(f"split: FLIC has 'train' and 'test' splits, not {name!r}")
    path = _annotation_path(path)
    image_root = Path(image_root) if image_root is not None else path.parent / "images"
    examples = load_mat(path, "examples")
    examples = np.atleast_1d(examples)
    first, second = TORSO_PAIRS[torso]
    flip = np.asarray(FLIC_INFO.flip_permutation)
    rows = []
    for index, example in enumerate(examples):
        where = f"{path}: examples({index + 1})"
        is_train = bool(as_float(field(example, "istrain", where), f"{where}.istrain", 0.0))
        is_test = bool(as_float(field(example, "istest", where), f"{where}.istest", 0.0))
        row_split = "train" if is_train else "test" if is_test else None
        if row_split is None:
            continue
        coords = _float_array(field(example, "coords", where), where, "coords")
        if coords.ndim != 2 or coords.shape[0] != 2 or coords.shape[1] <= max(JOINT_COLUMNS):
            raise AnnotationError(f"{where}.coords has shape {coords.shape}; expected (2, 29)")
        joints = coords[:, JOINT_COLUMNS].T.copy()
        annotated = np.all(np.isfinite(joints), axis=1)
        norm_size = float(np.linalg.norm(joints[first] - joints[second]))
        if observer_centric and joints[LSHO, 0] < joints[RSHO, 0]:
            joints, annotated = joints[flip], annotated[flip]
        joints[~annotated] = 0.0
        box = _float_array(field(example, "torsobox", where), where, "torsobox").ravel()
        dims = _float_array(field(example, "imgdims", where), where, "imgdims").ravel()
        if box.size != 4 or dims.size < 2:
            raise AnnotationError(f"{where}: torsobox must hold 4 numbers and imgdims >= 2")
        filepath = field(example, "filepath", where)
        if not isinstance(filepath, str) or not filepath:
            raise AnnotationError(f"{where}.filepath must be the image file name")
        rows.append({
            "image": resolve_image(filepath, image_root),
            "center": np.array([(box[0] + box[2]) / 2.0, dims[0] / 2.0]),
            "scale": SCALE,
            "joints": joints,
            "annotated": annotated,
            "visible": annotated.copy(),
            "norm_size": norm_size,
            "split": row_split,
            "image_index": index,
            "person_index": 0,
            "torsobox": box,
        })
    records = make_records(rows, source=str(path))
    return select_split(records, split, source=str(path))


def _float_array(value, where, name):
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise AnnotationError(f"{where}.{name} is not numeric") from None
