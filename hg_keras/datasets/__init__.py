"""Dataset sources (FLIC, MPII, COCO-style custom data, synthetic) and the record schema."""

from hg_keras.datasets.records import FLIC_INFO, MPII_INFO, RECORD_COLUMNS, DatasetInfo

__all__ = ["FLIC_INFO", "MPII_INFO", "RECORD_COLUMNS", "DatasetInfo"]
