"""The stacked hourglass model: layers, builder, ablation variants and loss."""

from hg_keras.model.losses import heatmap_losses
from hg_keras.model.stacked import (
    PAPER_ABLATIONS,
    VARIANTS,
    build_ablation,
    build_stacked_hourglass,
    count_flops,
    trainable_parameter_count,
)

__all__ = [
    "PAPER_ABLATIONS",
    "VARIANTS",
    "build_ablation",
    "build_stacked_hourglass",
    "count_flops",
    "heatmap_losses",
    "trainable_parameter_count",
]
