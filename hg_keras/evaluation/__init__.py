"""Decoding heatmaps to joints, PCK / PCKh metrics, and the evaluation report.

Modules: ``decode`` (argmax, quarter offset, flip test, inverse crop), ``pck`` (PCK / PCKh /
AUC / pytorch-pose Mean), ``occlusion`` (visible vs occluded, annotation presence),
``predict`` (run a model over a dataset), ``predictions_io`` (prediction files, MPII
submission), ``report`` (tables), ``plots`` (figures) and ``evaluate`` (the whole report,
``evaluate(...)`` and the ``hg-evaluate`` command's ``main``).

Example:
    >>> from hg_keras.evaluation import heatmap_peaks_np, pckh_table
    >>> coords_hm, scores = heatmap_peaks_np(heatmaps)          # (N, K, 2), (N, K)
    >>> pckh_table(pred_xy, gt_xy, annotated, head_size)["Total"]
    >>> from hg_keras.evaluation.evaluate import evaluate
    >>> evaluate("mpii", weights="runs/hg8/best.keras", out_dir="reports/hg8")
"""

from hg_keras.evaluation.decode import (
    average_with_flipped,
    flip_back,
    heatmap_peaks,
    heatmap_peaks_np,
    to_image_coords,
)
from hg_keras.evaluation.pck import (
    accuracy_table,
    curve_auc,
    flic_torso_size,
    normalized_distances,
    pck_per_joint,
    pck_table,
    pckh_auc,
    pckh_curve,
    pckh_mean,
    pckh_table,
)
from hg_keras.evaluation.predict import Predictions, predict_dataset
from hg_keras.evaluation.predictions_io import (
    load_predictions,
    save_mpii_submission,
    save_predictions,
)

__all__ = [
    "Predictions",
    "accuracy_table",
    "average_with_flipped",
    "curve_auc",
    "flic_torso_size",
    "flip_back",
    "heatmap_peaks",
    "heatmap_peaks_np",
    "load_predictions",
    "normalized_distances",
    "pck_per_joint",
    "pck_table",
    "pckh_auc",
    "pckh_curve",
    "pckh_mean",
    "pckh_table",
    "predict_dataset",
    "save_mpii_submission",
    "save_predictions",
    "to_image_coords",
]
