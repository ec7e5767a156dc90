"""Prediction files: the community ``preds`` format (.h5 / .mat) and the MPII submission .mat.

Community format (what the reference code, its ports and the published prediction files
use): one array ``preds`` of shape (N, K, 2), joint (x, y) in original image pixels, one row
per person in the split's order. MATLAB tools sometimes store it transposed as (2, K, N);
``load_predictions`` accepts both.

MPII test submission: a .mat holding ``pred``, a struct array shaped like the test part of
``RELEASE.annolist`` (one entry per test image, in annolist order) where
``pred(i).annorect(r).annopoints.point(p)`` has fields ``x``, ``y`` and ``id`` (0-based MPII
joint id) for the evaluated (single-person) people; other rects stay empty.

Coordinates are written as given; pass ``offset_px=1.0`` to turn 0-based pixel-centre
coordinates into MATLAB's 1-based ones (and ``-1.0`` when reading such files).
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import scipy.io

PREDICTIONS_KEY = "preds"
SUBMISSION_KEY = "pred"


def save_predictions(path, coords, offset_px=0.0):
    """Write (N, K, 2) predictions as ``preds`` to a .h5 or .mat file (chosen by extension).

    Args:
        path: output file, ending in ``.h5`` / ``.hdf5`` or ``.mat``.
        coords: (N, K, 2) joint (x, y) in image pixels, in the split's order.
        offset_px: added to every coordinate before writing.

    Returns:
        ``Path`` of the written file.

    Example:
        >>> save_predictions("reports/run1/preds_valid.h5", preds.coords)
    """
    path = Path(path)
    coords = np.asarray(coords, dtype=np.float64)
    if coords.ndim != 3 or coords.shape[-1] != 2:
        raise ValueError(f"{path}: predictions of shape {coords.shape}; expected (N, K, 2)")
    coords = coords + offset_px
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    if suffix in (".h5", ".hdf5"):
        with h5py.File(path, "w") as f:
            f.create_dataset(PREDICTIONS_KEY, data=coords)
    elif suffix == ".mat":
        scipy.io.savemat(path, {PREDICTIONS_KEY: coords}, do_compression=True)
    else:
        raise ValueError(f"{path}: unknown predictions format; use .h5 or .mat")
    return path


def load_predictions(path, num_joints=None, offset_px=0.0):
    """Read community-format predictions (``preds`` in a .h5 or .mat file).

    Args:
        path: .h5 / .hdf5 / .mat file holding ``preds`` (N, K, 2) or (2, K, N).
        num_joints: expected K, used to recognise the transposed layout and to check.
        offset_px: added to every coordinate after reading (``-1.0`` for 1-based files).

    Returns:
        (N, K, 2) float64 array.

    Example:
        >>> coords = load_predictions("published/pose-hg-valid.h5", num_joints=16)
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: predictions file not found")
    suffix = path.suffix.lower()
    if suffix in (".h5", ".hdf5"):
        with h5py.File(path, "r") as f:
            if PREDICTIONS_KEY not in f:
                raise ValueError(f"{path}: no '{PREDICTIONS_KEY}' dataset (found {list(f)})")
            coords = f[PREDICTIONS_KEY][()]
    elif suffix == ".mat":
        content = scipy.io.loadmat(path)
        if PREDICTIONS_KEY not in content:
            keys = [k for k in content if not k.startswith("__")]
            raise ValueError(f"{path}: no '{PREDICTIONS_KEY}' variable (found {keys})")
        coords = content[PREDICTIONS_KEY]
    else:
        raise ValueError(f"{path}: unknown predictions format; use .h5 or .mat")
    coords = np.asarray(coords, dtype=np.float64)
    if coords.ndim == 3 and coords.shape[0] == 2 and coords.shape[-1] != 2:
        coords = coords.transpose(2, 1, 0)  # MATLAB's (2, K, N)
    if coords.ndim != 3 or coords.shape[-1] != 2:
        raise ValueError(
            f"{path}: '{PREDICTIONS_KEY}' has shape {coords.shape}; expected (N, K, 2)"
        )
    if num_joints is not None and coords.shape[1] != num_joints:
        raise ValueError(f"{path}: {coords.shape[1]} joints per person; expected {num_joints}")
    return coords + offset_px


def _struct_array(names, length):
    """A (1, length) MATLAB struct array with object fields."""
    return np.empty((1, length), dtype=[(name, object) for name in names])


def save_mpii_submission(path, coords, image_index, person_index, test_image_indices=None,
                         offset_px=0.0):
    """Write the MPII test-server submission .mat (``pred`` shaped like the test annolist).

    Args:
        path: output .mat file.
        coords: (N, 16, 2) predictions in image pixels, MPII joint order.
        image_index: (N,) int, 0-based index of each person's image in ``RELEASE.annolist``.
        person_index: (N,) int, 0-based rect index of each person in its image.
        test_image_indices: 0-based annolist indices of all test images
            (``RELEASE.img_train == 0``), in order; ``pred`` gets one entry per test image.
            Defaults to the sorted distinct ``image_index`` values (right only when every
            test image has at least one predicted person).
        offset_px: added to every coordinate (1.0 for MATLAB's 1-based pixels when the
            records are 0-based).

    Returns:
        ``Path`` of the written file.

    Example:
        >>> records, info = load_dataset("mpii", "test")
        >>> save_mpii_submission("pred_keypoints_mpii.mat", preds.coords,
        ...                      records.image_index, records.person_index, offset_px=1.0)
    """
    path = Path(path)
    coords = np.asarray(coords, dtype=np.float64) + offset_px
    image_index = np.asarray(image_index, dtype=np.int64)
    person_index = np.asarray(person_index, dtype=np.int64)
    if coords.ndim != 3 or coords.shape[1:] != (16, 2):
        raise ValueError(f"{path}: predictions of shape {coords.shape}; expected (N, 16, 2)")
    if not len(image_index) == len(person_index) == len(coords):
        raise ValueError(
            f"{path}: {len(coords)} predictions, {len(image_index)} image indices and "
            f"{len(person_index)} person indices; they must match"
        )
    if test_image_indices is None:
        test_image_indices = np.unique(image_index)
    position = {int(i): p for p, i in enumerate(test_image_indices)}
    missing = sorted(set(image_index.tolist()) - set(position))
    if missing:
        raise ValueError(f"{path}: image index {missing[0]} is not among the test images")

    people = {}
    for row, (image, rect) in enumerate(zip(image_index.tolist(), person_index.tolist())):
        people.setdefault(image, {})[rect] = coords[row]

    pred = _struct_array(["annorect"], len(position))
    for image, p in position.items():
        rects = people.get(image, {})
        annorect = _struct_array(["annopoints"], max(rects, default=-1) + 1)
        for r in range(annorect.shape[1]):
            annorect[0, r]["annopoints"] = np.zeros((0, 0))
            if r in rects:
                points = _struct_array(["x", "y", "id"], 16)
                for joint in range(16):
                    x, y = rects[r][joint]
                    points[0, joint] = (float(x), float(y), joint)
                annopoints = _struct_array(["point"], 1)
                annopoints[0, 0]["point"] = points
                annorect[0, r]["annopoints"] = annopoints
        pred[0, p]["annorect"] = annorect
    path.parent.mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(path, {SUBMISSION_KEY: pred}, do_compression=True)
    return path


def load_mpii_submission(path):
    """Read a submission .mat back: {(test image position, rect index): (16, 2) array}.

    Joints missing from a rect's points are NaN. Handles scipy's 0/1-element squeezing.

    Example:
        >>> people = load_mpii_submission("pred_keypoints_mpii.mat")
        >>> people[(0, 0)].shape
        (16, 2)
    """
    pred = scipy.io.loadmat(path, struct_as_record=False, squeeze_me=True)[SUBMISSION_KEY]
    people = {}
    for position, entry in enumerate(np.atleast_1d(pred)):
        for rect, annorect in enumerate(np.atleast_1d(entry.annorect)):
            annopoints = annorect.annopoints
            if isinstance(annopoints, np.ndarray) and annopoints.size == 0:
                continue
            joints = np.full((16, 2), np.nan)
            for point in np.atleast_1d(annopoints.point):
                joints[int(point.id)] = (float(point.x), float(point.y))
            people[(position, rect)] = joints
    return people
