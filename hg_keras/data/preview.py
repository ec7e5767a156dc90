"""Pictures of what the pipeline feeds the network: augmented crops with their targets."""

from __future__ import annotations

import numpy as np
import pandas as pd

from hg_keras.data.config import PipelineConfig
from hg_keras.data.pipeline import make_dataset

# Limbs drawn between joints, by name (pairs whose names a dataset lacks are skipped).
LIMBS_BY_NAME = (
    ("r_ankle", "r_knee"),
    ("r_knee", "r_hip"),
    ("r_hip", "pelvis"),
    ("pelvis", "l_hip"),
    ("l_hip", "l_knee"),
    ("l_knee", "l_ankle"),
    ("pelvis", "thorax"),
    ("thorax", "upper_neck"),
    ("upper_neck", "head_top"),
    ("r_wrist", "r_elbow"),
    ("r_elbow", "r_shoulder"),
    ("r_shoulder", "thorax"),
    ("thorax", "l_shoulder"),
    ("l_shoulder", "l_elbow"),
    ("l_elbow", "l_wrist"),
    ("r_shoulder", "r_hip"),
    ("l_shoulder", "l_hip"),
)
SIDE_COLOURS = {"l": "#33a0ff", "r": "#ff5533", "": "#55dd55"}  # left blue, right red


def _side(name):
    return name[0] if name[:2] in ("l_", "r_") else ""


def augmentation_grid(records, info, config=None, count=16, columns=4, seed=0):
    """A grid of augmented training crops with their heatmap targets overlaid.

    Each panel shows one crop, the maximum of its K target heatmaps (upsampled to the crop)
    and the target peaks joined by limbs, left joints in blue and right joints in red, so
    one can check that joints land on the limbs after rotation, scaling and flipping.

    Args:
        records: records DataFrame; the first ``count`` rows are used (cycled if fewer).
        info: ``DatasetInfo`` of the records.
        config: ``PipelineConfig`` (``PipelineConfig()`` when None).
        count: number of panels.
        columns: panels per row.
        seed: augmentation seed.

    Returns:
        ``matplotlib.figure.Figure``.

    Example:
        >>> figure = augmentation_grid(records, MPII_INFO, count=8)        # doctest: +SKIP
        >>> figure.savefig("augmentations.png")                             # doctest: +SKIP
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    config = config if config is not None else PipelineConfig()
    rows = np.resize(np.arange(len(records)), count)
    chosen = pd.DataFrame(records).iloc[rows].reset_index(drop=True)
    dataset = make_dataset(
        chosen,
        info,
        config,
        training=True,
        batch_size=count,
        output_names=("heatmaps",),
        seed=seed,
    )
    images, targets = next(iter(dataset))
    images, heatmaps = images.numpy(), targets["heatmaps"].numpy()
    size, stride = config.input_size, config.input_size / config.output_size
    names = list(info.joint_names)
    limbs = [
        (names.index(a), names.index(b))
        for a, b in LIMBS_BY_NAME
        if a in names and b in names
    ]
    grid_rows = -(-count // columns)
    figure, axes = plt.subplots(
        grid_rows, columns, figsize=(2.6 * columns, 2.6 * grid_rows)
    )
    for panel, axis in enumerate(np.ravel(axes)):
        axis.axis("off")
        if panel >= count:
            continue
        heat = heatmaps[panel]
        axis.imshow(images[panel])
        # Heatmap pixel centres sit at crop coordinates (x + 0.5) * stride - 0.5.
        extent = (-0.5, size - 0.5, size - 0.5, -0.5)
        axis.imshow(
            np.ma.masked_less(heat.max(axis=-1), 0.05),
            cmap="magma",
            alpha=0.55,
            extent=extent,
            vmin=0.0,
            vmax=1.0,
            interpolation="bilinear",
        )
        peaks = np.zeros((len(names), 2))
        present = heat.reshape(-1, len(names)).max(axis=0) > 0.5
        for k in np.flatnonzero(present):
            y, x = np.unravel_index(np.argmax(heat[..., k]), heat.shape[:2])
            peaks[k] = ((x + 0.5) * stride - 0.5, (y + 0.5) * stride - 0.5)
        for a, b in limbs:
            if present[a] and present[b]:
                side = _side(names[a]) or _side(names[b])
                axis.plot(*peaks[[a, b]].T, color=SIDE_COLOURS[side], linewidth=1.5)
        for k in np.flatnonzero(present):
            axis.plot(
                *peaks[k],
                "o",
                markersize=3,
                color=SIDE_COLOURS[_side(names[k])],
                markeredgecolor="white",
                markeredgewidth=0.5,
            )
        axis.set_xlim(-0.5, size - 0.5)
        axis.set_ylim(size - 0.5, -0.5)
    figure.suptitle(
        f"augmented crops {size}x{size}, targets {config.output_size}x{config.output_size} "
        f"(rotation ±{config.rotation_deg:g}°, scale {config.scale_range[0]:g}-"
        f"{config.scale_range[1]:g}, flip p={config.flip_prob:g}); left joints blue, right red",
        fontsize=9,
    )
    figure.tight_layout()
    return figure
