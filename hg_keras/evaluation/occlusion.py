"""Occlusion analysis (paper section 5.2): visible vs occluded accuracy, annotation presence.

Two questions, both answered with NumPy only:

* How accurate is the model on joints that are annotated but occluded, compared with visible
  ones? ``visibility_tables`` scores the same predictions three times, restricting the
  annotated mask to all / visible / occluded joints.
* Does a heatmap know whether its joint is there at all? ``presence_analysis`` predicts
  "annotated" from each heatmap's maximum or mean activation and reports precision-recall
  curves and the area under them per joint (paper: knee 92.1, ankle 96.0 with the mean).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

VISIBILITY_SUBSETS = ("all", "visible", "occluded")


def visibility_masks(annotated, visible):
    """Annotated masks of the three subsets.

    Args:
        annotated: (N, K) bool, the joint has a label.
        visible: (N, K) bool, the joint is not occluded.

    Returns:
        dict "all" / "visible" / "occluded" -> (N, K) bool.

    Example:
        >>> visibility_masks([[True, True]], [[True, False]])["occluded"]
        array([[False,  True]])
    """
    annotated = np.asarray(annotated, dtype=bool)
    visible = np.asarray(visible, dtype=bool)
    return {
        "all": annotated,
        "visible": annotated & visible,
        "occluded": annotated & ~visible,
    }


def visibility_tables(table_fn, pred_xy, gt_xy, annotated, visible, norm_size, **kwargs):
    """One accuracy table per subset (all / visible / occluded joints).

    Args:
        table_fn: a table function of ``hg_keras.evaluation.pck`` (``pckh_table``, ...)
            called as ``table_fn(pred_xy, gt_xy, mask, norm_size, **kwargs)``.
        pred_xy, gt_xy: (N, K, 2) image pixels.
        annotated, visible: (N, K) bool.
        norm_size: (N,) pixels.

    Returns:
        dict subset -> table (dict column -> percent; NaN where a subset is empty).

    Example:
        >>> tables = visibility_tables(pckh_table, preds, gt, annotated, visible, head_size)
        >>> tables["occluded"]["Wrist"]
    """
    masks = visibility_masks(annotated, visible)
    return {name: table_fn(pred_xy, gt_xy, masks[name], norm_size, **kwargs)
            for name in VISIBILITY_SUBSETS}


def precision_recall(labels, scores):
    """Precision-recall curve of ranking ``scores`` against binary ``labels``.

    Thresholds run over the distinct scores from high to low; the curve starts at
    (recall 0, precision 1) like scikit-learn's ``precision_recall_curve``.

    Args:
        labels: (M,) bool, the positives.
        scores: (M,) float, higher = more likely positive.

    Returns:
        precision: (T + 1,) float64, recall: (T + 1,) float64, thresholds: (T,) float64,
        with recall increasing. Empty arrays when there is no positive.

    Example:
        >>> p, r, t = precision_recall([True, False, True], [0.9, 0.8, 0.3])
        >>> p, r
        (array([1.  , 1.  , 0.5 , 0.66666667]), array([0. , 0.5, 0.5, 1. ]))
    """
    labels = np.asarray(labels, dtype=bool).reshape(-1)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if labels.shape != scores.shape:
        raise ValueError(f"labels: shape {labels.shape} differs from scores {scores.shape}")
    positives = labels.sum()
    if positives == 0:
        return np.array([]), np.array([]), np.array([])
    order = np.argsort(-scores, kind="stable")
    scores, labels = scores[order], labels[order]
    # Last position of every distinct score: all samples scoring >= it are predicted positive.
    last = np.r_[np.nonzero(np.diff(scores))[0], len(scores) - 1]
    true_pos = np.cumsum(labels)[last]
    predicted = last + 1
    precision = np.r_[1.0, true_pos / predicted]
    recall = np.r_[0.0, true_pos / positives]
    return precision, recall, scores[last]


def pr_auc(precision, recall):
    """Area under a precision-recall curve (trapezoids over recall), in percent.

    Example:
        >>> pr_auc(np.array([1.0, 1.0]), np.array([0.0, 1.0]))
        100.0
    """
    if len(recall) == 0:
        return float("nan")
    return float(100.0 * np.trapezoid(precision, recall))


@dataclass
class PresenceCurve:
    """Precision-recall of predicting one joint's annotation from one heatmap statistic."""

    precision: np.ndarray
    recall: np.ndarray
    auc: float
    positives: int
    negatives: int


def presence_analysis(annotated, heatmap_max, heatmap_mean):
    """Precision-recall of "this joint is annotated" from heatmap max and mean activation.

    Args:
        annotated: (N, K) bool, the labels to predict.
        heatmap_max: (N, K) float, maximum of each joint's heatmap.
        heatmap_mean: (N, K) float, mean of each joint's heatmap.

    Returns:
        dict statistic ("max" / "mean") -> list of K ``PresenceCurve``; a joint that is
        never missing gets AUC NaN (precision is 1 whatever the ranking).

    Example:
        >>> curves = presence_analysis(annotated, preds.heatmap_max, preds.heatmap_mean)
        >>> curves["mean"][1].auc        # right knee, percent
    """
    annotated = np.asarray(annotated, dtype=bool)
    result = {}
    for name, values in (("max", heatmap_max), ("mean", heatmap_mean)):
        values = np.asarray(values, dtype=np.float64)
        if values.shape != annotated.shape:
            raise ValueError(f"heatmap_{name}: shape {values.shape}; expected {annotated.shape}")
        curves = []
        for j in range(annotated.shape[1]):
            precision, recall, _ = precision_recall(annotated[:, j], values[:, j])
            negatives = int((~annotated[:, j]).sum())
            curves.append(PresenceCurve(
                precision=precision,
                recall=recall,
                # With no missing joint every ranking is perfect: nothing to measure.
                auc=pr_auc(precision, recall) if negatives else float("nan"),
                positives=int(annotated[:, j].sum()),
                negatives=negatives,
            ))
        result[name] = curves
    return result
