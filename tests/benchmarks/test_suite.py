"""The benchmark suite: configuration checks and re-running some sections of an earlier run."""

import pytest

from hg_keras.benchmarks.suite import SECTIONS, BenchmarkConfig, merge_results


def test_unknown_section_is_rejected_naming_the_flag():
    with pytest.raises(ValueError, match=r"--sections \['gpu'\]"):
        BenchmarkConfig(sections=("inference", "gpu"))


def test_merge_keeps_earlier_sections_and_replaces_the_rerun_ones():
    earlier = {
        "config": {"sections": ["inference", "training"]},
        "machine": {"date": "day 1", "load_average": (1.0, 1.0, 1.0)},
        "inference": {"rows": ["old inference"]},
        "training": {"rows": ["old training"]},
        "seconds": 100.0,
        "section_seconds": {"inference": 60.0, "training": 40.0},
    }
    update = {
        "config": {"sections": ["training", "onednn"]},
        "machine": {"date": "day 2", "load_average": (3.0, 2.0, 1.0)},
        "load_average_end": (2.5, 2.0, 1.0),
        "training": {"rows": ["new training"]},
        "onednn_comparison": {"forward_ratio": 2.0},
        "seconds": 50.0,
        "section_seconds": {"training": 30.0, "onednn": 20.0},
    }
    merged = merge_results(earlier, update)
    assert merged["inference"] == {"rows": ["old inference"]}
    assert merged["training"] == {"rows": ["new training"]}
    assert merged["onednn_comparison"] == {"forward_ratio": 2.0}
    assert merged["machine"]["date"] == "day 1"
    assert merged["seconds"] == 150.0
    assert merged["section_seconds"] == {"inference": 60.0, "training": 30.0, "onednn": 20.0}
    assert merged["updates"] == [{"sections": ["training", "onednn"], "date": "day 2",
                                  "load_average": (3.0, 2.0, 1.0),
                                  "load_average_end": (2.5, 2.0, 1.0)}]
    assert "updates" not in earlier


def test_pipeline_flag_runs_only_the_pipeline_section():
    import importlib.util
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "scripts" / "benchmark.py"
    spec = importlib.util.spec_from_file_location("benchmark_script", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.parse_args(["--pipeline"]).sections == ["pipeline"]
    assert module.parse_args([]).sections == list(SECTIONS)
