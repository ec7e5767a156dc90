"""Evaluation figures (matplotlib, Agg backend): PCK curves, precision-recall, skeletons.

Every function draws one figure, saves it as PNG and returns the path. Points follow the
project convention (x right, y down, pixel centres at integers), which is also what
``imshow`` uses, so joints are drawn at their coordinates without any shift.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from hg_keras.datasets.records import FLIC_INFO, MPII_INFO

MPII_SKELETON = (
    (0, 1), (1, 2), (2, 6), (6, 3), (3, 4), (4, 5), (6, 7), (7, 8), (8, 9),
    (10, 11), (11, 12), (12, 7), (7, 13), (13, 14), (14, 15),
)
FLIC_SKELETON = (
    (0, 1), (1, 2), (3, 4), (4, 5), (0, 3), (0, 6), (3, 7), (6, 7), (8, 10), (9, 10),
)
RIGHT_COLOR, LEFT_COLOR, CENTER_COLOR, GT_COLOR = "#e4572e", "#2e86de", "#f3c623", "#ffffff"
LINE_STYLES = ("-", "--", ":", "-.")


def skeleton_for(joint_names):
    """Limb list (pairs of joint indices) for a joint order: MPII, FLIC, or none."""
    joint_names = tuple(joint_names)
    if joint_names == MPII_INFO.joint_names:
        return MPII_SKELETON
    if joint_names == FLIC_INFO.joint_names:
        return FLIC_SKELETON
    return ()


def _side_color(name):
    name = name.lower()
    if name.startswith(("r_", "right")):
        return RIGHT_COLOR
    if name.startswith(("l_", "left")):
        return LEFT_COLOR
    return CENTER_COLOR


def _grid(count, max_columns=4, cell=3.0):
    columns = min(count, max_columns)
    rows = math.ceil(count / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(cell * columns, cell * rows), squeeze=False)
    for ax in axes.flat[count:]:
        ax.axis("off")
    return fig, axes.flat


def _save(fig, path):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_pck_curves(curves, thresholds, columns, path, metric="PCKh", title=None):
    """Accuracy vs normalised distance, one panel per column, one line per curve set.

    Args:
        curves: dict label -> dict column -> (T,) percentages (e.g. ``pckh_curve`` output);
            one line per label (our model, compared prediction files, visible/occluded).
        thresholds: (T,) normalised distances.
        columns: the panels to draw, e.g. ``("Head", ..., "Total")``.
        path: output PNG.
        metric: axis label ("PCKh" / "PCK").
        title: figure title.

    Example:
        >>> plot_pck_curves({"ours": pckh_curve(...)}, AUC_THRESHOLDS, ["Total"], "pck.png")
    """
    fig, axes = _grid(len(columns))
    for ax, column in zip(axes, columns):
        for i, (label, curve) in enumerate(curves.items()):
            ax.plot(thresholds, curve[column], LINE_STYLES[i % len(LINE_STYLES)],
                    label=label, linewidth=1.6)
        ax.set_title(column)
        ax.set_xlim(thresholds[0], thresholds[-1])
        ax.set_ylim(0, 100)
        ax.set_xlabel("normalised distance")
        ax.set_ylabel(f"{metric} (%)")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8, loc="lower right")
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def plot_presence_pr(presence, joint_names, path):
    """Precision-recall of predicting annotation presence, one panel per joint (fig. 11).

    Args:
        presence: output of ``occlusion.presence_analysis`` (statistic -> K curves).
        joint_names: K names.
        path: output PNG.
    """
    fig, axes = _grid(len(joint_names))
    for j, (ax, name) in enumerate(zip(axes, joint_names)):
        for i, (statistic, curves) in enumerate(presence.items()):
            curve = curves[j]
            if len(curve.recall):
                auc = "n/a" if np.isnan(curve.auc) else f"{curve.auc:.1f}"
                ax.plot(curve.recall, curve.precision, LINE_STYLES[i % len(LINE_STYLES)],
                        label=f"{statistic} (AUC {auc})")
        ax.set_title(f"{name} ({curves[j].negatives} missing)", fontsize=9)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("recall")
        ax.set_ylabel("precision")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower left")
    fig.suptitle("Predicting whether a joint is annotated from its heatmap")
    return _save(fig, path)


def plot_per_stack(frame, path, metric="PCKh"):
    """Accuracy of every stack's heatmaps (fig. 9): one line per table column.

    Args:
        frame: DataFrame indexed by stack name, columns = table columns.
        path: output PNG.
    """
    fig, ax = plt.subplots(figsize=(6, 4))
    positions = np.arange(1, len(frame) + 1)
    for i, column in enumerate(frame.columns):
        ax.plot(positions, frame[column].to_numpy(dtype=float), marker="o",
                linestyle=LINE_STYLES[(i // 10) % len(LINE_STYLES)], label=str(column))
    ax.set_xticks(positions)
    ax.set_xticklabels(list(frame.index))
    ax.set_ylabel(f"{metric} (%)")
    ax.set_title("Accuracy of intermediate stacks")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2, loc="best")
    return _save(fig, path)


def _draw_pose(ax, joints_xy, mask, joint_names, skeleton, linewidth=2.0):
    for a, b in skeleton:
        if mask[a] and mask[b]:
            ax.plot(*zip(joints_xy[a], joints_xy[b]), color=_side_color(joint_names[b]),
                    linewidth=linewidth, solid_capstyle="round")
    colors = [_side_color(n) for n in joint_names]
    ax.scatter(joints_xy[mask, 0], joints_xy[mask, 1], s=10,
               c=[c for c, m in zip(colors, mask) if m], edgecolors="black", linewidths=0.4,
               zorder=3)


def plot_skeleton_grid(samples, joint_names, path, title=None):
    """Predicted skeletons on original images, ground truth as white dots (figs. 2, 5).

    Args:
        samples: list of dicts with ``image`` (H, W, 3) uint8 RGB, ``pred`` (K, 2) and
            ``gt`` (K, 2) image pixels, ``annotated`` (K,) bool, ``box`` (x0, y0, x1, y1)
            region to show, and ``caption`` str.
        joint_names: K names (sets the skeleton and left/right colours).
        path: output PNG.
        title: figure title.
    """
    skeleton = skeleton_for(joint_names)
    fig, axes = _grid(max(len(samples), 1))
    for ax, sample in zip(axes, samples):
        ax.imshow(sample["image"])
        pred = np.asarray(sample["pred"], dtype=np.float64)
        _draw_pose(ax, pred, np.isfinite(pred).all(axis=1), joint_names, skeleton)
        gt, annotated = np.asarray(sample["gt"]), np.asarray(sample["annotated"], dtype=bool)
        ax.scatter(gt[annotated, 0], gt[annotated, 1], s=6, c=GT_COLOR, marker="x",
                   linewidths=0.8, zorder=4)
        x0, y0, x1, y1 = sample["box"]
        ax.set_xlim(x0, x1)
        ax.set_ylim(y1, y0)
        ax.set_title(sample.get("caption", ""), fontsize=8)
        ax.axis("off")
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def plot_heatmaps(crop, heatmaps, coords_hm, joint_names, path, title=None):
    """One crop with its predicted skeleton, then every joint's heatmap over the crop.

    Args:
        crop: (S, S, 3) float image in [0, 1] (the network input).
        heatmaps: (H, W, K) decoded heatmaps of that crop.
        coords_hm: (K, 2) decoded peaks in heatmap pixels.
        joint_names: K names.
        path: output PNG.
        title: figure title.
    """
    crop = np.clip(np.asarray(crop, dtype=np.float32), 0.0, 1.0)
    heatmaps = np.asarray(heatmaps, dtype=np.float32)
    size, hm_size = crop.shape[0], heatmaps.shape[0]
    # Heatmap pixel -> crop pixel with pixel centres at integers.
    coords_crop = (np.asarray(coords_hm) + 0.5) * size / hm_size - 0.5
    extent = (-0.5, size - 0.5, size - 0.5, -0.5)
    fig, axes = _grid(len(joint_names) + 1, max_columns=6, cell=2.2)
    axes[0].imshow(crop)
    _draw_pose(axes[0], coords_crop, np.ones(len(joint_names), bool), joint_names,
               skeleton_for(joint_names))
    axes[0].set_title("prediction", fontsize=8)
    axes[0].axis("off")
    for j, (ax, name) in enumerate(zip(axes[1:], joint_names)):
        ax.imshow(crop * 0.5)
        low = min(float(heatmaps[:, :, j].min()), 0.0)
        high = max(float(heatmaps[:, :, j].max()), low + 1e-6)
        ax.imshow(heatmaps[:, :, j], cmap="jet", alpha=0.55, extent=extent, vmin=low, vmax=high)
        ax.set_title(f"{name} ({heatmaps[:, :, j].max():.2f})", fontsize=8)
        ax.axis("off")
    if title:
        fig.suptitle(title)
    return _save(fig, path)
