"""docs/BENCHMARKS.md: machine, targets, one latency table per stack count, before/after, GPU."""

from synthetic_results import results

from hg_keras.benchmarks import inference
from hg_keras.benchmarks.report import (
    GPU_REPORT_NAME,
    render_report,
    table,
    write_report,
)


def section(text, heading):
    """The lines of the markdown section that starts with ``heading``."""
    lines = text.splitlines()
    start = lines.index(heading)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")),
               len(lines))
    return lines[start:end]


def table_rows(lines, first_cell):
    return [line for line in lines if line.startswith(f"| {first_cell}")]


def test_table_is_github_markdown():
    assert table(["a", "b"], [[1, "x"]]) == "| a | b |\n|---|---|\n| 1 | x |"


def test_latency_table_has_a_row_per_path_and_three_columns_per_batch_size():
    text = render_report(results())
    lines = section(text, "## Inference latency")
    assert "### 8 stack(s): 54.88 GFLOP per image" in lines
    assert ("| path | batch 1: ms | vs PyTorch | GFLOP/s | batch 8: ms | vs PyTorch | "
            "GFLOP/s |") in lines
    for path in inference.PATHS:
        assert len(table_rows(lines, path + " |")) == 1, path
    assert table_rows(lines, "TFLite fp32 |") == [
        "| TFLite fp32 | 600.0 | 0.60x | 91.5 | 4,000.0 | 0.80x | 109.8 |"
    ]
    assert "Skipped: LiteRT fp32: ai-edge-litert is not installed" in lines


def test_before_and_after_compares_medians_of_the_largest_model_at_batch_1():
    lines = section(render_report(results()), "## Before and after")
    assert "8 stack(s), batch 1 unless stated, medians of the table above." in lines
    assert ("| LiteRT fp32: batch 8 as one-image invokes (`invoke_in_chunks`) | "
            "LiteRT fp32: 4,000.0 | LiteRT fp32, one image per invoke: 3,600.0 | 1.11x |"
            ) in lines
    assert ("| LiteRT fp32: batch 8 split over one-thread interpreters run in parallel "
            "(`num_interpreters`) | LiteRT fp32, one image per invoke: 3,600.0 | "
            "LiteRT fp32, one-thread interpreters in parallel: 3,400.0 | 1.06x |") in lines
    assert ("| BatchNorm folded into the convolutions (`fold_batch_norm`) | "
            "Keras tf.function: 1,000.0 | Keras tf.function, BN folded: 900.0 | 1.11x |") in lines
    assert ("| TFLite: num_threads fixed instead of the interpreter's default | "
            "TFLite fp32, default num_threads: 1,200.0 | TFLite fp32: 600.0 | 2.00x |") in lines
    assert "| Keras + XLA | 0.95x | 0.95x |" in lines


def test_machine_section_warns_when_the_load_exceeds_the_cores():
    quiet = render_report(results(load=(0.5, 0.4, 0.3)))
    busy = render_report(results(load=(6.2, 6.0, 5.5)))
    assert "The machine was shared" not in quiet
    assert "**The machine was shared while this ran** (1-minute load average up to 6.2" in busy


def test_targets_training_pipeline_and_quantization_sections_are_rendered():
    text = render_report(results())
    assert len(table_rows(section(text, "## Targets"), "")) == 1 + 5  # header and 5 targets
    training = section(text, "## Training step")
    assert table_rows(training, "Keras train_on_batch |")[0].endswith("| 0.75x | 30 s |")
    pipeline = section(text, "## Input pipeline")
    assert "| ratio | 2.50x | 2.50x |" in pipeline
    assert "| ImageProjectiveTransformV3 (before) | 2.000 |" in pipeline
    assert "| speed-up, after / before | 5.00x |" in pipeline
    quantization = section(text, "## Quantization error")
    assert "| 8 | int8 | 26.0 MB (fp32 102.0 MB) | 0.250 | 1.5 | 50% | 8 |" in quantization


def test_gpu_section_links_and_includes_the_gpu_report_once_one_is_written(tmp_path):
    out = tmp_path / "BENCHMARKS.md"
    write_report(results(), out)
    assert "No GPU numbers are recorded yet." in out.read_text()
    (tmp_path / GPU_REPORT_NAME).write_text(
        "# GPU benchmark\n\nWritten on 2026-01-02 on an H200.\n\n## Forward latency\n\n"
        "| stacks | ms |\n|---|---|\n| 8 | 96.69 |\n")
    write_report(results(), out)
    lines = out.read_text().splitlines()
    gpu = lines[lines.index("## GPU"):]
    assert f"Results: [{GPU_REPORT_NAME}]({GPU_REPORT_NAME})." in gpu
    assert "Written on 2026-01-02 on an H200." in gpu
    assert "### Forward latency" in gpu and "| 8 | 96.69 |" in gpu
    assert "# GPU benchmark" not in lines


def test_onednn_section_lists_each_child_and_the_ratio_of_medians():
    data = results()
    data["onednn_comparison"] = {
        "off": [{"forward_median_s": 1.0}, {"forward_median_s": 1.2}],
        "on": [{"forward_median_s": 2.0}, {"forward_median_s": 2.2}],
        "forward_ratio": 2.1 / 1.1, "onednn_default": False,
        "num_stacks": 2, "num_features": 256, "input_size": 256, "batch_size": 4,
        "num_threads": 2, "repeats": 3, "alternations": 2,
    }
    lines = section(render_report(data), "## TensorFlow's oneDNN custom ops")
    assert "| off | 1,000.0, 1,200.0 |" in lines
    assert "| on | 2,000.0, 2,200.0 |" in lines
    assert "| on / off | 1.91x |" in lines
    assert any("TensorFlow's default on this CPU: **off**" in line for line in lines)


def test_training_section_states_the_fused_batch_norm_before_and_after():
    from hg_keras.benchmarks import training

    data = results()
    keras_row = data["training"]["rows"][0]
    data["training"]["rows"].append(
        {**keras_row, "path": training.KERAS_PLAIN_BN, "median_s": 2 * keras_row["median_s"],
         "ratio_to_reference": 2 * keras_row["ratio_to_reference"]})
    lines = section(render_report(data), "## Training step")
    assert any("6,000.0 ms per step with `keras.layers.BatchNormalization`, 3,000.0 ms with the "
               "fused kernel, 2.00x." in line for line in lines)
    assert not any("fused kernel, " in line for line in section(render_report(results()),
                                                                   "## Training step"))


def test_header_says_full_run_or_which_sections_ran():
    assert "Full run." in render_report(results())
    partial = results()
    partial["config"]["sections"] = ["pipeline"]
    text = render_report(partial)
    assert "Full run." not in text
    assert "Sections run: pipeline (the others are not measured)." in text
