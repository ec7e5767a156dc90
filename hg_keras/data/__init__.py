"""Input pipeline: crops, augmentation and heatmap targets as tf.data / TF ops.

Example:
    >>> from hg_keras.data import PipelineConfig, make_dataset
    >>> from hg_keras.datasets import MPII_INFO
    >>> train = make_dataset(records, MPII_INFO, PipelineConfig(input_size=256),
    ...                      training=True, batch_size=16, output_names=("stack_1", "stack_2"),
    ...                      seed=0)                                        # doctest: +SKIP
"""

from hg_keras.data.augment import sample_augmentation
from hg_keras.data.config import PipelineConfig
from hg_keras.data.heatmaps import gaussian_heatmaps
from hg_keras.data.images import decode_region, encoded_image_is_complete, warp_region
from hg_keras.data.pipeline import (
    add_heatmaps,
    augment_sample,
    crop_sample,
    evaluation_sample,
    load_region,
    make_dataset,
    plan_augmentation,
    records_to_columns,
)
from hg_keras.data.transforms import (
    apply_matrix,
    apply_matrix_np,
    crop_matrix,
    crop_matrix_np,
    rescale_matrix,
    warp_image,
)

__all__ = [
    "PipelineConfig",
    "add_heatmaps",
    "apply_matrix",
    "apply_matrix_np",
    "augment_sample",
    "crop_matrix",
    "crop_matrix_np",
    "crop_sample",
    "decode_region",
    "encoded_image_is_complete",
    "evaluation_sample",
    "gaussian_heatmaps",
    "load_region",
    "make_dataset",
    "plan_augmentation",
    "records_to_columns",
    "rescale_matrix",
    "sample_augmentation",
    "warp_image",
    "warp_region",
]
