"""Smoke tests of the two benchmark scripts: they run and write the expected tables.

No timing is asserted: the numbers of a --quick / --tiny run on a busy CI machine mean
nothing; the tables' rows and columns do.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hg_keras.benchmarks import inference, training

REPO_ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def run_script(args, tmp_path, env=None):
    result = subprocess.run(
        [sys.executable, *args], cwd=tmp_path, capture_output=True, text=True, timeout=900,
        check=False,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", **(env or {})),
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def table_after(lines, heading):
    """The markdown table rows (header first) of the first table after ``heading``."""
    start = lines.index(heading)
    rows, seen = [], False
    for line in lines[start + 1:]:
        if line.startswith("|"):
            seen = True
            if not line.startswith("|---"):
                rows.append([cell.strip() for cell in line.strip("|").split("|")])
        elif seen:
            break
    return rows


def test_quick_cpu_benchmark_writes_every_table(tmp_path):
    """Every section but the oneDNN comparison, whose table test_benchmark_report renders; its
    child processes work the way the training section's oneDNN child does, which runs here."""
    pytest.importorskip("torch", reason="the comparison's reference needs torch")
    out = tmp_path / "docs" / "BENCHMARKS.md"
    sections = ["inference", "profile", "training", "pipeline"]
    run_script([str(REPO_ROOT / "scripts" / "benchmark.py"), "--quick", "--threads", "2",
                "--sections", *sections, "--out", str(out),
                "--json", str(tmp_path / "results.json")], tmp_path)
    lines = out.read_text().splitlines()
    results = json.loads((tmp_path / "results.json").read_text())

    assert lines[0] == "# Benchmarks"
    targets = table_after(lines, "## Targets")
    assert targets[0] == ["target", "measured", "verdict"]
    assert len(targets) == 1 + 5
    assert all(row[2].strip("*") in ("met", "not met", "not measured") for row in targets[1:])

    latency = table_after(lines, next(line for line in lines if line.startswith("### 1 stack(s)")))
    assert latency[0] == ["path", "batch 1: ms", "vs PyTorch", "GFLOP/s",
                          "batch 2: ms", "vs PyTorch", "GFLOP/s"]
    ran = [p for p in inference.PATHS if p not in results["inference"]["skipped"]]
    assert [row[0] for row in latency[1:]] == ran
    assert {row[0]: row[2] for row in latency[1:]}[inference.TORCH] == "1.00x"

    before_after = table_after(lines, "## Before and after")
    assert before_after[0] == ["change", "before (ms)", "after (ms)", "speed-up"]
    assert len(before_after) > 1

    training_rows = table_after(lines, "## Training step")
    flipped = "off" if results["onednn"] else "on"
    assert [row[0] for row in training_rows[1:]] == [
        training.KERAS, training.TORCH,
        f"{training.KERAS} [TF oneDNN {flipped}]", f"{training.TORCH} [TF oneDNN {flipped}]",
    ]
    pipeline = table_after(lines, "## Input pipeline")
    assert [row[0] for row in pipeline] == ["loader", "hg_keras tf.data pipeline",
                                            "cv2 per-sample reference loader (1 thread)",
                                            "ratio"]
    assert table_after(lines, "### Keras tf.function, BN as trained")[0] == [
        "op", "ms per call", "share"]
    assert "No GPU numbers are recorded yet." in lines
    assert "## TensorFlow's oneDNN custom ops" not in lines
    assert sorted(results["section_seconds"]) == sorted(sections)
    assert results["config"]["num_threads"] == 2
    assert results["process"]["threads"]["tensorflow"] == "intra_op=2, inter_op=1"


def test_tiny_gpu_benchmark_runs_on_cpu_without_tensorflow(tmp_path):
    pytest.importorskip("torch", reason="the reference and the torch backend need torch")
    out = tmp_path / "BENCHMARKS_GPU.md"
    run_script([str(REPO_ROOT / "scripts" / "benchmark_gpu.py"), "--tiny", "--backend", "torch",
                "--stacks", "1", "--out", str(out), "--json", str(tmp_path / "gpu.json")],
               tmp_path)
    lines = out.read_text().splitlines()
    results = json.loads((tmp_path / "gpu.json").read_text())

    assert results["tensorflow_imported"] is False
    assert results["devices"]["keras_backend"] == "torch"
    forward = table_after(lines, "## Forward latency")
    assert forward[0] == ["stacks", "precision", "batch", "path", "ms", "vs PyTorch",
                          "first call"]
    assert [(row[0], row[1], row[3]) for row in forward[1:]] == [
        ("1", precision, path)
        for precision in ("fp32", "bf16") for path in ("Keras (torch)", "PyTorch reference")
    ]
    throughput = table_after(lines, "## Training throughput")
    assert throughput[0][4] == "images/s"
    assert len(throughput) == 1 + 4
    assert {row[2] for row in throughput[1:]} == {"2"}
    projection = table_after(lines, "## Projected training schedule")
    assert [row[:2] for row in projection[1:]] == [["1", "fp32"], ["1", "fp32"],
                                                   ["1", "bf16"], ["1", "bf16"]]
