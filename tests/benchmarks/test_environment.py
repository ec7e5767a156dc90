"""Machine description and thread settings of the benchmark reports."""

import importlib.metadata
import os

import pytest

from hg_keras.benchmarks.environment import (
    available_cores,
    fix_thread_counts,
    library_versions,
    machine_info,
)


def test_library_versions_read_metadata_and_name_absent_distributions():
    versions = library_versions(("hg-keras", "no-such-distribution-for-hg-keras"))
    assert versions == {
        "hg-keras": importlib.metadata.version("hg-keras"),
        "no-such-distribution-for-hg-keras": "not installed",
    }


def test_hg_keras_run_from_a_source_tree_reports_the_checkout_version(monkeypatch):
    import hg_keras

    real_version = importlib.metadata.version

    def without_hg_keras(name):
        if name == "hg-keras":
            raise importlib.metadata.PackageNotFoundError(name)
        return real_version(name)

    monkeypatch.setattr(importlib.metadata, "version", without_hg_keras)
    versions = library_versions(("hg-keras",))
    assert versions == {"hg-keras": f"{hg_keras.__version__} (source tree)"}


def test_machine_info_states_date_cores_and_load():
    info = machine_info()
    assert info["available_cores"] == available_cores()
    assert info["cpu_count"] == os.cpu_count()
    assert len(info["load_average"]) == 3
    assert info["date"].endswith("UTC")
    assert info["libraries"]["keras"] == importlib.metadata.version("keras")


def test_available_cores_follow_the_affinity_mask():
    assert available_cores() == len(os.sched_getaffinity(0))


def test_thread_count_below_one_is_rejected_naming_the_flag():
    with pytest.raises(ValueError, match="--threads 0"):
        fix_thread_counts(0, tensorflow=False, torch=False)


def test_torch_gets_the_requested_thread_count():
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    try:
        settings = fix_thread_counts(1, tensorflow=False, torch=True)
        assert torch.get_num_threads() == 1
        assert settings["torch"].startswith("num_threads=1,")
        assert "tensorflow" not in settings
    finally:
        torch.set_num_threads(before)
