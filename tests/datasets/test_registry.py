"""load_dataset / dataset_info: specs, file discovery and the not-found message."""

import os
import shutil
from pathlib import Path

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



def test_mpii_reference_h5_is_found_under_root_and_images_resolve_there(tmp_path):
    shared = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "mpii" / "valid.h5"
    if not shared.is_file():
        pytest.skip(f"reference MPII valid.h5 not found at {shared.resolve()}")
    (tmp_path / "mpii" / "annot").mkdir(parents=True)
    (tmp_path / "mpii" / "images").mkdir()
    shutil.copy(shared, tmp_path / "mpii" / "annot" / "valid.h5")
    records, info = load_dataset("mpii", "valid", root=tmp_path)
    assert len(records) == 2958 and info is MPII_INFO
    assert records.image[0] == os.path.abspath(tmp_path / "mpii" / "images" / "005808361.jpg")
    with pytest.raises(DatasetNotFoundError, match=r"annot/train\.h5"):
        load_dataset("mpii", "train", root=tmp_path)


def test_flic_without_images_folder_says_where_images_go(tmp_path):
    (tmp_path / "flic").mkdir()
    (tmp_path / "flic" / "examples.mat").write_bytes(b"")
    with pytest.raises(DatasetNotFoundError, match=r"flic/images/"):
        load_dataset("flic", "train", root=tmp_path)
