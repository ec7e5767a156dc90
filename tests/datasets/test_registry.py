"""load_dataset / dataset_info: specs, file discovery and the not-found message."""

import pytest

from hg_keras.datasets.records import FLIC_INFO, MPII_INFO
from hg_keras.datasets.registry import DatasetNotFoundError, dataset_info, load_dataset


def test_synthetic_spec_generates_once_and_returns_absolute_paths(tmp_path):
    records, info = load_dataset("synthetic", "valid", root=tmp_path, num_images=4,
                                 progress=False)
    assert info.name == "synthetic" and info.num_joints == 16
    assert len(records) == 1 and records.image[0].startswith(str(tmp_path))
    train, _ = load_dataset("synthetic", "train", root=tmp_path, num_images=4, progress=False)
    assert len(train) == 3
    assert (tmp_path / "synthetic" / "manifest.json").is_file()


@pytest.mark.parametrize("name", ["flic", "mpii"])
def test_missing_dataset_says_what_to_place_and_how_to_download(tmp_path, name):
    with pytest.raises(DatasetNotFoundError) as error:
        load_dataset(name, "train", root=tmp_path)
    message = str(error.value)
    assert f"python scripts/download.py {name}" in message
    assert str(tmp_path / name) in message
    assert isinstance(error.value, FileNotFoundError)


def test_dataset_info_of_builtin_specs():
    assert dataset_info("flic") is FLIC_INFO
    assert dataset_info("mpii") is MPII_INFO
    assert dataset_info("synthetic").flip_permutation == MPII_INFO.flip_permutation


def test_unknown_spec_is_rejected_by_name():
    with pytest.raises(ValueError, match="'lsp'"):
        dataset_info("lsp")
    with pytest.raises(DatasetNotFoundError, match="nowhere.json"):
        load_dataset("coco:nowhere.json", "train")

