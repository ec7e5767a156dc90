"""Decoding heatmaps to joints, PCK / PCKh metrics, and the evaluation report.

Example:
    >>> from hg_keras.evaluation import heatmap_peaks_np, pckh_table
    >>> coords_hm, scores = heatmap_peaks_np(heatmaps)          # (N, K, 2), (N, K)
    >>> pckh_table(pred_xy, gt_xy, annotated, head_size)["Total"]
"""

from hg_keras.evaluation.decode import (
    average_with_flipped,
    flip_back,
    heatmap_peaks,
    heatmap_peaks_np,
    to_image_coords,
)
from hg_keras.evaluation.pck import (
    normalized_distances,
    pck_per_joint,
    pck_table,
    pckh_auc,
    pckh_curve,
    pckh_mean,
    pckh_table,
)
from hg_keras.evaluation.predict import Predictions, predict_dataset

__all__ = [
    "Predictions",
    "average_with_flipped",
    "flip_back",
    "heatmap_peaks",
    "heatmap_peaks_np",
    "normalized_distances",
    "pck_per_joint",
    "pck_table",
    "pckh_auc",
    "pckh_curve",
    "pckh_mean",
    "pckh_table",
    "predict_dataset",
    "to_image_coords",
]
