"""PCK / PCKh accuracy tables and curves (NumPy in, plain numbers out).

A joint is correct when ``‖pred - gt‖ / norm_size <= threshold``; joints without annotation
are ignored everywhere (neither correct nor wrong). All numbers are percentages.

MPII (``pckh_table``, the official evaluation's semantics): ``norm_size`` is the head size
(0.6 x head-box diagonal), pelvis and thorax are dropped, Head = mean of upper neck and head
top, every other column = mean of left and right, UBody (wrists, elbows, shoulders) and
Total (all 14 joints) are pooled over joint instances, not averaged over columns.
``pckh_mean`` gives the pytorch-pose variant (strict ``<``, Head = head top only, Mean =
mean of the 14 per-joint values) for comparison with numbers published that way.

FLIC (``pck_table``): ``norm_size`` is the torso size, threshold 0.2, Elbow / Wrist = mean of
left and right, plus every joint and a pooled Total.
"""

from __future__ import annotations

import numpy as np

from hg_keras.datasets.records import FLIC_INFO, MPII_INFO

# MPII joint ids (0-based): 0 r ankle, 1 r knee, 2 r hip, 3 l hip, 4 l knee, 5 l ankle,
# 6 pelvis, 7 thorax, 8 upper neck, 9 head top, 10 r wrist, 11 r elbow, 12 r shoulder,
# 13 l shoulder, 14 l elbow, 15 l wrist.
MPII_COLUMNS = {
    "Head": (8, 9),
    "Shoulder": (12, 13),
    "Elbow": (11, 14),
    "Wrist": (10, 15),
    "Hip": (2, 3),
    "Knee": (1, 4),
    "Ankle": (0, 5),
}
MPII_HEAD_TOP = 9
MPII_UBODY_JOINTS = (10, 11, 12, 13, 14, 15)
MPII_EXCLUDED_JOINTS = (6, 7)
MPII_TOTAL_JOINTS = tuple(j for j in range(16) if j not in MPII_EXCLUDED_JOINTS)
PCKH_TABLE_KEYS = (*MPII_COLUMNS, "UBody", "Total")

# FLIC joint order of FLIC_INFO: l_shoulder, l_elbow, l_wrist, r_shoulder, r_elbow, r_wrist,
# l_hip, r_hip, l_eye, r_eye, nose.
FLIC_COLUMNS = {"Elbow": (1, 4), "Wrist": (2, 5)}

AUC_THRESHOLDS = np.round(np.arange(51) * 0.01, 2)


def normalized_distances(pred_xy, gt_xy, annotated, norm_size):
    """Distance of every prediction to its ground truth, in units of the normaliser.

    Args:
        pred_xy: (N, K, 2) predicted (x, y) in image pixels.
        gt_xy: (N, K, 2) ground truth (x, y) in image pixels.
        annotated: (N, K) bool, the joint has a label.
        norm_size: (N,) head size (PCKh) or torso size (PCK) in pixels.

    Returns:
        (N, K) float64, ``‖pred - gt‖ / norm_size``; NaN where the joint is not annotated.

    Example:
        >>> normalized_distances([[[3.0, 4.0]]], [[[0.0, 0.0]]], [[True]], [10.0])
        array([[0.5]])
    """
    pred_xy = np.asarray(pred_xy, dtype=np.float64)
    gt_xy = np.asarray(gt_xy, dtype=np.float64)
    annotated = np.asarray(annotated, dtype=bool)
    norm_size = np.asarray(norm_size, dtype=np.float64).reshape(-1)
    if pred_xy.ndim != 3 or pred_xy.shape[-1] != 2:
        raise ValueError(f"pred_xy: shape {pred_xy.shape}; expected (N, K, 2)")
    if gt_xy.shape != pred_xy.shape:
        raise ValueError(f"gt_xy: shape {gt_xy.shape}; expected {pred_xy.shape} like pred_xy")
    if annotated.shape != pred_xy.shape[:2]:
        raise ValueError(f"annotated: shape {annotated.shape}; expected {pred_xy.shape[:2]}")
    if norm_size.shape != pred_xy.shape[:1]:
        raise ValueError(f"norm_size: shape {norm_size.shape}; expected ({pred_xy.shape[0]},)")
    bad = annotated.any(axis=1) & ~(norm_size > 0)
    if bad.any():
        person = int(np.argmax(bad))
        raise ValueError(
            f"norm_size: person {person} has size {norm_size[person]}; sizes must be > 0"
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        distances = np.linalg.norm(pred_xy - gt_xy, axis=-1) / norm_size[:, None]
    return np.where(annotated, distances, np.nan)


def _correct(distances, threshold, strict):
    """(N, K) 1.0 correct / 0.0 wrong / NaN not annotated."""
    with np.errstate(invalid="ignore"):
        hit = distances < threshold if strict else distances <= threshold
    return np.where(np.isnan(distances), np.nan, hit.astype(np.float64))


def _pooled(correct, joints):
    """Percent correct over all annotated instances of ``joints`` (NaN when there are none)."""
    values = correct[:, list(joints)]
    count = np.sum(~np.isnan(values))
    return float(100.0 * np.nansum(values) / count) if count else float("nan")


def _mean(values):
    """Mean of the finite values (NaN when there are none)."""
    values = [v for v in values if not np.isnan(v)]
    return float(np.mean(values)) if values else float("nan")


def per_joint_accuracy(distances, threshold, strict=False):
    """Percent correct per joint from ``normalized_distances``.

    Args:
        distances: (N, K) normalised distances, NaN where not annotated.
        threshold: a joint is correct when its distance is ``<= threshold``
            (``< threshold`` with ``strict=True``).
        strict: use the strict comparison.

    Returns:
        (K,) float64 percentages; NaN for a joint never annotated.
    """
    correct = _correct(np.asarray(distances, dtype=np.float64), threshold, strict)
    return np.array([_pooled(correct, [j]) for j in range(correct.shape[1])])


def pckh_table(pred_xy, gt_xy, annotated, head_size, threshold=0.5):
    """MPII PCKh table with the official evaluation's semantics.

    Args:
        pred_xy: (N, 16, 2) predictions in image pixels, MPII joint order.
        gt_xy: (N, 16, 2) ground truth in image pixels.
        annotated: (N, 16) bool; unannotated joints are ignored (occluded ones count).
        head_size: (N,) head sizes in pixels (0.6 x head-box diagonal).
        threshold: correct when distance / head size ``<=`` threshold.

    Returns:
        dict with keys Head, Shoulder, Elbow, Wrist, Hip, Knee, Ankle, UBody, Total (floats,
        percent). Head = mean of upper neck and head top; the limbs = mean of left and right;
        UBody (wrists, elbows, shoulders) and Total (all joints but pelvis and thorax) are
        pooled over joint instances.

    Example:
        >>> table = pckh_table(preds, records_gt, annotated, head_size)
        >>> round(table["Total"], 1)
        90.9
    """
    distances = normalized_distances(pred_xy, gt_xy, annotated, head_size)
    _check_joints(distances, MPII_INFO, "pckh_table")
    correct = _correct(distances, threshold, strict=False)
    table = {
        name: _mean([_pooled(correct, [j]) for j in joints])
        for name, joints in MPII_COLUMNS.items()
    }
    table["UBody"] = _pooled(correct, MPII_UBODY_JOINTS)
    table["Total"] = _pooled(correct, MPII_TOTAL_JOINTS)
    return table


def pckh_mean(pred_xy, gt_xy, annotated, head_size, threshold=0.5):
    """MPII table as pytorch-pose reports it (a documented alternative to ``pckh_table``).

    Differences from the official semantics: strict ``distance / head size < threshold``,
    Head = head top only, Mean = mean of the 14 per-joint values (pelvis and thorax dropped)
    instead of a pooled Total. Use it only to compare with numbers published that way.

    Args:
        pred_xy, gt_xy: (N, 16, 2) image pixels. annotated: (N, 16) bool.
        head_size: (N,) pixels. threshold: float.

    Returns:
        dict with keys Head, Shoulder, Elbow, Wrist, Hip, Knee, Ankle, Mean (percent).

    Example:
        >>> pckh_mean(preds, gt, annotated, head_size)["Mean"]
    """
    distances = normalized_distances(pred_xy, gt_xy, annotated, head_size)
    _check_joints(distances, MPII_INFO, "pckh_mean")
    per_joint = per_joint_accuracy(distances, threshold, strict=True)
    table = {name: _mean(per_joint[list(joints)]) for name, joints in MPII_COLUMNS.items()}
    table["Head"] = float(per_joint[MPII_HEAD_TOP])
    table["Mean"] = _mean(per_joint[list(MPII_TOTAL_JOINTS)])
    return table


def pckh_curve(pred_xy, gt_xy, annotated, head_size, thresholds=AUC_THRESHOLDS):
    """``pckh_table`` at every threshold: dict column -> (T,) array of percentages.

    Example:
        >>> curve = pckh_curve(preds, gt, annotated, head_size)
        >>> curve["Total"].shape
        (51,)
    """
    tables = [pckh_table(pred_xy, gt_xy, annotated, head_size, t) for t in thresholds]
    return {key: np.array([t[key] for t in tables]) for key in PCKH_TABLE_KEYS}


def curve_auc(thresholds, values):
    """Area under a PCK curve with the threshold axis rescaled to [0, 1] (trapezoids).

    Args:
        thresholds: (T,) increasing thresholds starting at 0.
        values: (T,) percentages.

    Returns:
        float, percent (100 = always correct).
    """
    thresholds = np.asarray(thresholds, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    return float(np.trapezoid(values, thresholds / thresholds[-1]))


def pckh_auc(pred_xy, gt_xy, annotated, head_size, thresholds=AUC_THRESHOLDS):
    """Area under the Total PCKh curve for thresholds 0, 0.01, ..., 0.5, in percent.

    Args:
        pred_xy, gt_xy: (N, 16, 2) image pixels. annotated: (N, 16) bool.
        head_size: (N,) pixels.
        thresholds: the curve's thresholds (default 51 points from 0 to 0.5).

    Returns:
        float, trapezoid area with the threshold axis rescaled to [0, 1], in percent.

    Example:
        >>> pckh_auc(gt, gt, annotated, head_size)
        100.0
    """
    curve = pckh_curve(pred_xy, gt_xy, annotated, head_size, thresholds)
    return curve_auc(thresholds, curve["Total"])


def pck_table(pred_xy, gt_xy, annotated, torso_size, threshold=0.2, joint_names=None):
    """FLIC PCK table: distance / torso size ``<=`` threshold.

    Args:
        pred_xy: (N, 11, 2) predictions in image pixels, FLIC joint order (``FLIC_INFO``).
        gt_xy: (N, 11, 2) ground truth in image pixels.
        annotated: (N, 11) bool; unannotated joints are ignored.
        torso_size: (N,) torso sizes in pixels (``flic_torso_size``).
        threshold: 0.2 by default.
        joint_names: names of the per-joint columns (``FLIC_INFO.joint_names`` by default).

    Returns:
        dict: Elbow and Wrist (mean of left and right), then every joint by name, then Total
        (pooled over all annotated joints), percent.

    Example:
        >>> pck_table(preds, gt, annotated, torso)["Wrist"]
    """
    joint_names = tuple(joint_names or FLIC_INFO.joint_names)
    distances = normalized_distances(pred_xy, gt_xy, annotated, torso_size)
    _check_joints(distances, FLIC_INFO, "pck_table")
    per_joint = per_joint_accuracy(distances, threshold)
    table = {name: _mean(per_joint[list(joints)]) for name, joints in FLIC_COLUMNS.items()}
    table.update({name: float(v) for name, v in zip(joint_names, per_joint)})
    table["Total"] = _pooled(_correct(distances, threshold, False), range(len(joint_names)))
    return table


def pck_per_joint(pred_xy, gt_xy, annotated, norm_size, threshold, joint_names=None):
    """Generic PCK for any skeleton: every joint by name plus a pooled Total.

    Args:
        pred_xy, gt_xy: (N, K, 2) image pixels. annotated: (N, K) bool.
        norm_size: (N,) normaliser in pixels. threshold: correct when distance ``<=`` it.
        joint_names: K names (``joint_0`` ... by default).

    Returns:
        dict joint name -> percent, then "Total" pooled over all annotated joints.

    Example:
        >>> pck_per_joint(preds, gt, annotated, norm, 0.2, info.joint_names)["Total"]
    """
    distances = normalized_distances(pred_xy, gt_xy, annotated, norm_size)
    k = distances.shape[1]
    joint_names = tuple(joint_names or (f"joint_{j}" for j in range(k)))
    if len(joint_names) != k:
        raise ValueError(f"joint_names: {len(joint_names)} names for {k} joints")
    table = {n: float(v) for n, v in zip(joint_names, per_joint_accuracy(distances, threshold))}
    table["Total"] = _pooled(_correct(distances, threshold, False), range(k))
    return table


def flic_torso_size(raw_joints_xy, protocol="rsho_lhip"):
    """FLIC PCK normaliser from the raw (person-centric) labels.

    Args:
        raw_joints_xy: (N, 11, 2) FLIC joints before any observer-centric swap.
        protocol: ``"rsho_lhip"`` (‖rsho - lhip‖, the paper's protocol) or ``"lsho_rhip"``
            (the older MODEC protocol).

    Returns:
        (N,) float64 torso sizes in pixels.

    Example:
        >>> joints = np.zeros((1, 11, 2)); joints[0, 6] = [30.0, 40.0]   # l_hip
        >>> flic_torso_size(joints)                                      # r_shoulder at 0
        array([50.])
    """
    pairs = {"rsho_lhip": (3, 6), "lsho_rhip": (0, 7)}
    if protocol not in pairs:
        raise ValueError(f"protocol: {protocol!r}; expected one of {sorted(pairs)}")
    a, b = pairs[protocol]
    joints = np.asarray(raw_joints_xy, dtype=np.float64)
    return np.linalg.norm(joints[:, a] - joints[:, b], axis=-1)


def _check_joints(distances, info, where):
    if distances.shape[1] != info.num_joints:
        raise ValueError(
            f"{where}: {distances.shape[1]} joints; expected the {info.num_joints} "
            f"{info.name.upper()} joints in the order of hg_keras.datasets.{info.name.upper()}_INFO"
        )


def metric_kind(info):
    """Which table a dataset gets: ``"mpii"`` (``pckh_table``), ``"flic"`` (``pck_table``)
    or ``"generic"`` (``pck_per_joint``), from its joint order.

    Example:
        >>> metric_kind(MPII_INFO)
        'mpii'
    """
    joint_names = tuple(info.joint_names)
    if joint_names == MPII_INFO.joint_names:
        return "mpii"
    if joint_names == FLIC_INFO.joint_names:
        return "flic"
    return "generic"


def accuracy_table(info, pred_xy, gt_xy, annotated, norm_size, threshold=None):
    """The dataset's accuracy table: ``pckh_table`` for MPII joints, ``pck_table`` for FLIC,
    ``pck_per_joint`` otherwise.

    Args:
        info: ``DatasetInfo`` (joint order, default threshold).
        pred_xy, gt_xy: (N, K, 2) image pixels. annotated: (N, K) bool.
        norm_size: (N,) head / torso size in pixels (the records' ``norm_size``).
        threshold: defaults to ``info.threshold``.

    Returns:
        dict column -> percent.

    Example:
        >>> accuracy_table(info, preds.coords, gt, annotated, records.norm_size)["Total"]
    """
    threshold = info.threshold if threshold is None else threshold
    kind = metric_kind(info)
    if kind == "mpii":
        return pckh_table(pred_xy, gt_xy, annotated, norm_size, threshold)
    if kind == "flic":
        return pck_table(pred_xy, gt_xy, annotated, norm_size, threshold, info.joint_names)
    return pck_per_joint(pred_xy, gt_xy, annotated, norm_size, threshold, info.joint_names)


def curve_thresholds(info):
    """Thresholds of the dataset's accuracy curve: 0 to ``info.threshold`` in 50 steps
    (0, 0.01, ..., 0.5 for PCKh)."""
    return np.round(np.linspace(0.0, info.threshold, 51), 6)


def accuracy_curve(info, pred_xy, gt_xy, annotated, norm_size, thresholds=None):
    """``accuracy_table`` at every threshold: dict column -> (T,) percentages.

    Example:
        >>> curve = accuracy_curve(info, preds.coords, gt, annotated, records.norm_size)
        >>> curve_auc(curve_thresholds(info), curve["Total"])
    """
    thresholds = curve_thresholds(info) if thresholds is None else thresholds
    tables = [accuracy_table(info, pred_xy, gt_xy, annotated, norm_size, t) for t in thresholds]
    return {key: np.array([t[key] for t in tables]) for key in tables[0]}
