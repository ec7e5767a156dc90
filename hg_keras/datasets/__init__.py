"""Dataset sources (FLIC, MPII, COCO-style custom data, synthetic) and the record schema.

Example:
    >>> from hg_keras.datasets import load_dataset
    >>> records, info = load_dataset("synthetic", "train")   # doctest: +SKIP
"""

from hg_keras.datasets.records import (
    FLIC_INFO,
    MPII_INFO,
    RECORD_COLUMNS,
    AnnotationError,
    DatasetInfo,
    check_records,
    make_records,
    read_jsonl,
    select_split,
    validate_images,
    write_jsonl,
)
from hg_keras.datasets.registry import DatasetNotFoundError, dataset_info, load_dataset
from hg_keras.datasets.synthetic import SYNTHETIC_INFO

__all__ = [
    "FLIC_INFO",
    "MPII_INFO",
    "RECORD_COLUMNS",
    "SYNTHETIC_INFO",
    "AnnotationError",
    "DatasetInfo",
    "DatasetNotFoundError",
    "check_records",
    "dataset_info",
    "load_dataset",
    "make_records",
    "read_jsonl",
    "select_split",
    "validate_images",
    "write_jsonl",
]
