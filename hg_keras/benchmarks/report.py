"""docs/BENCHMARKS.md from the results of ``hg_keras.benchmarks.suite.run_benchmarks``.

Example:
    >>> write_report(run_benchmarks(BenchmarkConfig(quick=True)), "/tmp/BENCHMARKS.md")
    ...                                                          # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

from hg_keras.benchmarks import inference, training
from hg_keras.benchmarks.suite import SECTIONS
from hg_keras.benchmarks.targets import evaluate_targets

#: Results file of ``scripts/benchmark_gpu.py``, looked for beside the CPU report.
GPU_REPORT_NAME = "BENCHMARKS_GPU.md"

#: Ratios to the PyTorch reference measured when the benchmark issue was written (8 stacks,
#: batch 1, CI's 2-core machine), shown for orientation next to this run's numbers.
ISSUE_BASELINE = {
    inference.KERAS: 1.0,
    inference.KERAS_XLA: 0.95,
    inference.TFLITE_FP32_DEFAULT_THREADS: 2.4,
}


def table(header: list[str], rows: list[list]) -> str:
    """A GitHub-flavoured markdown table (numbers already formatted as strings)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _ms(seconds) -> str:
    return f"{1000 * seconds:,.1f}"


def _ratio(value) -> str:
    return "-" if value is None else f"{value:.2f}x"


def _load(values) -> str:
    """A load-average triple as ``1.4 / 1.4 / 2.4`` (tuple or JSON list alike)."""
    return " / ".join(f"{v:g}" for v in values) if values else "unknown"


def _machine_section(results: dict) -> str:
    machine = results["machine"]
    process = results["process"]
    config = results["config"]
    libraries = ", ".join(f"{k} {v}" for k, v in machine["libraries"].items())
    threads = "; ".join(f"{k}: {v}" for k, v in process["threads"].items())
    threads += f"; TFLite interpreters: num_threads={config['num_threads']}"
    environment = ", ".join(f"{k}={v or '(unset)'}" for k, v in process["environment"].items())
    onednn = {True: "on", False: "off", None: "unknown"}[results.get("onednn")]
    load_start, load_end = machine["load_average"], results.get("load_average_end")
    cores = machine["available_cores"]
    rows = [
        ["date", machine["date"]],
        ["CPU", f"{machine['cpu_model']} "
                f"({', '.join(machine['cpu_flags']) or 'no SIMD flags read'})"],
        ["cores", f"{machine['cpu_count']} logical CPUs, {cores} available to the process"],
        ["load average (1/5/15 min)", f"start {_load(load_start)}, end {_load(load_end)}"],
        ["threads", threads],
        ["environment", environment],
        ["TensorFlow oneDNN custom ops", onednn],
        ["platform", f"{machine['platform']}, Python {machine['python']}"],
        ["libraries", libraries],
        ["duration", f"{results['seconds'] / 60:.1f} min"],
    ]
    for update in results.get("updates", []):
        rows.append([
            "re-run later",
            (f"{', '.join(update['sections'])} on {update['date']}, load average start "
            f"{_load(update['load_average'])}, end {_load(update['load_average_end'])}"),
        ])
    text = "## Machine\n\n" + table(["", ""], rows)
    busy = [v for v in (load_start, load_end) if v]
    busy += [v for u in results.get("updates", [])
             for v in (u["load_average"], u["load_average_end"]) if v]
    if busy and max(v[0] for v in busy) > 0.75 * cores:
        text += (
            f"\n\n**The machine was shared while this ran** (1-minute load average up to "
            f"{max(v[0] for v in busy):.1f} on {cores} cores): absolute times are inflated "
            "and noisy. The ratios compare paths timed in the same interleaved rounds, so "
            "they are the numbers to read, but they too carry noise of roughly ±20%."
        )
    return text


def _targets_section(results: dict) -> str:
    rows = [[t["target"], t["measured"], f"**{t['verdict']}**"] for t in evaluate_targets(results)]
    return (
        "## Targets\n\nRatios are medians over the same interleaved rounds (below 1x: ours "
        "is faster).\n\n" + table(["target", "measured", "verdict"], rows)
    )


def _inference_section(results: dict) -> str:
    data = results["inference"]
    settings = data["settings"]
    rows = data["rows"]
    batches = sorted({r["batch_size"] for r in rows})
    text = [
        "## Inference latency",
        "",
        (f"Input {settings['input_size']}x{settings['input_size']}, "
        f"{settings['num_features']} features, {settings['num_joints']} joints; median of "
        f"{settings['repeats']} interleaved rounds after {settings['warmup']} warm-up "
        "round(s); every path returns every stack's heatmaps as host arrays. *ms* is per "
        "batch, *vs PyTorch* is the ratio of medians (below 1x: faster than the reference), "
        "*GFLOP/s* counts the convolutions' multiply-adds (`count_flops`) per second."),
    ]
    for stacks in sorted({r["stacks"] for r in rows}):
        flops = next(r["flops_per_image"] for r in rows if r["stacks"] == stacks)
        header = ["path"]
        for batch in batches:
            header += [f"batch {batch}: ms", "vs PyTorch", "GFLOP/s"]
        body = []
        for path in inference.PATHS:
            cells, found = [path], False
            for batch in batches:
                row = inference.find_row(rows, stacks, batch, path)
                if row is None:
                    cells += ["-", "-", "-"]
                    continue
                found = True
                cells += [_ms(row["median_s"]), _ratio(row["ratio_to_reference"]),
                          f"{row['gflops_per_s']:.1f}"]
            if found:
                body.append(cells)
        text += ["", f"### {stacks} stack(s): {flops / 1e9:.2f} GFLOP per image", "",
                 table(header, body)]
    if data["skipped"]:
        text += ["", "Skipped: " + "; ".join(f"{p}: {why}" for p, why in data["skipped"].items())]
    if data["export_s"]:
        exports = "; ".join(
            f"{s} stack(s): " + ", ".join(f"{k} {v:.0f} s" for k, v in times.items())
            for s, times in data["export_s"].items()
        )
        text += ["", f"Export times (not part of any latency): {exports}."]
    return "\n".join(text)


def _before_after_section(results: dict) -> str:
    rows = results["inference"]["rows"]
    stacks = max(r["stacks"] for r in rows)

    def median(path, batch=1):
        row = inference.find_row(rows, stacks, batch, path)
        return None if row is None else row["median_s"]

    pairs = [
        ("BatchNorm folded into the convolutions (`fold_batch_norm`)",
         inference.KERAS, inference.KERAS_FOLDED),
        ("XLA (`jit_compile=True`) on the folded model",
         inference.KERAS_FOLDED, inference.KERAS_XLA_FOLDED),
        ("TFLite: num_threads fixed instead of the interpreter's default",
         inference.TFLITE_FP32_DEFAULT_THREADS, inference.TFLITE_FP32),
        ("TFLite fp32 instead of Keras tf.function", inference.KERAS, inference.TFLITE_FP32),
        ("LiteRT's interpreter instead of tf.lite's", inference.TFLITE_FP32,
         inference.LITERT_FP32),
        ("fp16 weights (XNNPACK computes in fp32 on CPUs without fp16 arithmetic)",
         inference.TFLITE_FP32, inference.TFLITE_FP16),
        ("full-integer int8", inference.TFLITE_FP32, inference.TFLITE_INT8),
    ]
    largest_batch = max(r["batch_size"] for r in rows)
    batched_pairs = [
        (f"LiteRT fp32: batch {largest_batch} as one-image invokes (`invoke_in_chunks`)",
         inference.LITERT_FP32, inference.LITERT_FP32_PER_IMAGE),
        (f"LiteRT fp32: batch {largest_batch} split over one-thread interpreters run in "
         "parallel (`num_interpreters`)",
         inference.LITERT_FP32_PER_IMAGE, inference.LITERT_FP32_PARALLEL),
    ]
    body = []
    for batch, group in ((1, pairs), (largest_batch, batched_pairs)):
        for change, before, after in group:
            b, a = median(before, batch), median(after, batch)
            if b is None or a is None:
                continue
            body.append(
                [change, f"{before}: {_ms(b)}", f"{after}: {_ms(a)}", f"{b / a:.2f}x"]
            )
    baseline = []
    for path, ratio in ISSUE_BASELINE.items():
        row = inference.find_row(rows, stacks, 1, path)
        if row is not None and row["ratio_to_reference"] is not None:
            baseline.append([path, f"{ratio:.2f}x", _ratio(row["ratio_to_reference"])])
    text = [
        "## Before and after",
        "",
        f"{stacks} stack(s), batch 1 unless stated, medians of the table above.",
        "",
        table(["change", "before (ms)", "after (ms)", "speed-up"], body),
    ]
    if baseline:
        text += [
            "",
            ("Ratios to PyTorch when the benchmark issue was written (another run on CI's "
            "machine, for orientation) and in this run:"),
            "",
            table(["path", "issue (8 stacks, batch 1)", "this run"], baseline),
        ]
    return "\n".join(text)


def _quantization_section(results: dict) -> str:
    rows = results["inference"]["quantization"]
    if not rows:
        return ""
    body = [
        [r["stacks"], r["quantization"], f"{r['size_mb']:.1f} MB (fp32 {r['fp32_size_mb']:.1f} MB)",
         f"{r['relative_rms']:.3f}", f"{r['max_abs_diff']:.3g}",
         f"{100 * r['agreement_1px']:.0f}%", r["num_images"]]
        for r in rows
    ]
    return "\n".join([
        "## Quantization error",
        "",
        ("Last stack's heatmaps of the quantized TFLite model against TFLite fp32 on held-out "
        "images: RMS difference relative to the heatmaps' standard deviation, and the share "
        "of joints whose decoded peak moves by at most one heatmap pixel. The benchmark "
        "network is untrained (random weights, BatchNorm statistics estimated on "
        "photo-like images): its heatmaps are flat, so any rounding moves their peaks and "
        "these numbers are an upper bound on the disagreement. A trained model's PCKh "
        "before and after quantization (`scripts/evaluate.py` on both) is the accuracy "
        "cost to quote."),
        "",
        table(["stacks", "quantization", "size", "relative RMS", "max abs diff",
               "peaks within 1 px", "images"], body),
    ])


def _profile_section(results: dict) -> str:
    data = results.get("profile")
    if not data:
        return ""
    text = [
        "## Where the time goes",
        "",
        (f"One forward pass, {data['stacks']} stack(s), batch 1, by op type: TensorFlow "
        "profiler trace of the Keras `tf.function` (time on the executor thread, including "
        "the op's parallel work) and `torch.profiler` self CPU time of the reference."),
    ]
    for key, title in (("keras", "Keras tf.function, BN as trained"),
                       ("keras_folded", "Keras tf.function, BN folded"),
                       ("torch", "PyTorch reference")):
        if data.get(key):
            body = [[r["op"], f"{r['ms_per_call']:,.1f}", f"{100 * r['share']:.1f}%"]
                    for r in data[key]]
            text += ["", f"### {title}", "", table(["op", "ms per call", "share"], body)]
    gemm = data.get("gemm_gflops") or {}
    if gemm:
        size = data["gemm_size"]
        measured = ", ".join(f"{k} {v:.1f}" for k, v in gemm.items())
        text += [
            "",
            (f"Ceiling: a {size}x{size} float32 matrix product runs at {measured} GFLOP/s "
            "with the same threads; compare with the GFLOP/s column of the latency tables."),
        ]
        rows = [r for r in results.get("inference", {}).get("rows", [])
                if r["stacks"] == data["stacks"] and r["path"] not in inference.INTEGER_PATHS]
        if rows:
            best = max(rows, key=lambda r: r["gflops_per_s"])
            text += [
                "",
                (f"Best float path at {data['stacks']} stack(s): {best['path']}, batch "
                 f"{best['batch_size']}: {best['gflops_per_s']:.1f} GFLOP/s = "
                 f"{100 * best['gflops_per_s'] / max(gemm.values()):.0f}% of the best float32 "
                 "GEMM (int8 paths do integer arithmetic and are left out of this comparison)."),
            ]
    return "\n".join(text)


def _training_section(results: dict) -> str:
    data = results.get("training")
    if not data:
        return ""
    settings = data["settings"]
    body = [
        [r["path"], _ms(r["median_s"]), _ms(r["min_s"]), f"{r['images_per_s']:.2f}",
         _ratio(r["ratio_to_reference"]), f"{r['warmup_s']:.0f} s"]
        for r in data["rows"]
    ]
    return "\n".join([
        "## Training step",
        "",
        (f"{settings['num_stacks']} stack(s), batch {settings['batch_size']}, "
        f"{settings['input_size']}x{settings['input_size']}, {settings['num_features']} "
        "features; RMSprop (lr 2.5e-4) on the MSE of every stack, same starting weights, a "
        f"fixed batch in memory; median of {settings['repeats']} interleaved steps after "
        f"{settings['warmup']} warm-up step(s) (first step: tracing / XLA compilation). "
        "Rows marked [TF oneDNN ...] ran in a child process with that TensorFlow setting, "
        "side by side with their own PyTorch reference row; *vs PyTorch* is always relative "
        "to the reference measured in the same process."),
        "",
        table(["path", "ms per step", "fastest", "images/s", "vs PyTorch", "first step"],
              body),
        *_fused_batch_norm_lines(data["rows"]),
    ])


def _fused_batch_norm_lines(rows: list[dict]) -> list[str]:
    medians = {r["path"]: r["median_s"] for r in rows}
    before, after = medians.get(training.KERAS_PLAIN_BN), medians.get(training.KERAS)
    if before is None or after is None:
        return []
    return [
        "",
        (f"Before and after the fused BatchNorm training kernel (`FusedBatchNormalization`, "
         f"the model's BatchNorm layers): {_ms(before)} ms per step with "
         f"`keras.layers.BatchNormalization`, {_ms(after)} ms with the fused kernel, "
         f"{before / after:.2f}x."),
    ]


def _pipeline_section(results: dict) -> str:
    data = results.get("pipeline")
    if not data:
        return ""
    body = [
        ["hg_keras tf.data pipeline", f"{data['pipeline_samples_per_s']:.1f}",
         f"{data['pipeline_samples_per_cpu_s']:.1f}"],
        ["cv2 per-sample reference loader (1 thread)", f"{data['reference_samples_per_s']:.1f}",
         f"{data['reference_samples_per_cpu_s']:.1f}"],
        ["ratio", f"{data['ratio']:.2f}x", f"{data['ratio_per_core']:.2f}x"],
    ]
    return "\n".join([
        "## Input pipeline",
        "",
        (f"{data['num_samples']} JPEGs of {data['image_size'][1]}x{data['image_size'][0]} with "
        f"one large person each, augmented training samples of {data['input_size']}x"
        f"{data['input_size']} with heatmaps, batch {data['batch_size']}; the pipeline on "
        f"{data['num_threads']} thread(s) (`hg_keras.benchmarks.pipeline_reference`). "
        "Per core = samples per CPU-second of the process."),
        "",
        table(["loader", "samples/s", "samples per CPU-second"], body),
        *_crop_warp_lines(data.get("crop_warp")),
    ])


def _crop_warp_lines(warp: dict | None) -> list[str]:
    """The crop warp alone, before (the TF op) and after (the compiled kernel), and cv2."""
    if not warp:
        return []
    height, width = warp["region_hw"]
    side = warp["input_size"]
    return [
        "",
        (f"The crop's warp alone ({width}x{height} uint8 region into a {side}x{side} crop, "
         f"rotated; median of {warp['repeats']} interleaved calls), before and after the "
         "pipeline moved from `ImageProjectiveTransformV3` to its XLA-compiled bilinear "
         "kernel (`hg_keras.data.images.warp_region`):"),
        "",
        table(["warp", "ms per crop"], [
            ["ImageProjectiveTransformV3 (before)", f"{warp['projective_transform_ms']:.3f}"],
            ["XLA-compiled bilinear kernel (after)", f"{warp['compiled_ms']:.3f}"],
            ["cv2.warpAffine (the reference loader's)", f"{warp['cv2_ms']:.3f}"],
            ["speed-up, after / before", f"{warp['speedup']:.2f}x"],
        ]),
    ]


def _onednn_section(results: dict) -> str:
    data = results.get("onednn_comparison")
    if not data:
        return ""

    def cells(label, runs):
        return [label, ", ".join(_ms(r["forward_median_s"]) for r in runs)]

    default = "on" if data["onednn_default"] else "off"
    return "\n".join([
        "## TensorFlow's oneDNN custom ops",
        "",
        (f"Keras tf.function forward pass, {data['num_stacks']} stack(s), {data['num_features']} "
         f"features, {data['input_size']}x{data['input_size']}, batch {data['batch_size']}, "
         f"{data['num_threads']} thread(s), in child processes with `TF_ENABLE_ONEDNN_OPTS=0` "
         f"and `=1`, alternated {data['alternations']} time(s); one median of "
         f"{data['repeats']} calls per child. TensorFlow's default on this CPU: "
         f"**{default}** (it turns oneDNN on only on CPUs with AVX-512 VNNI or AMX); the "
         "latency tables run with the default. The training section also runs the step with "
         "the other setting, in a child process, against its own PyTorch reference."),
        "",
        table(["oneDNN", "forward ms (per child)"],
              [cells("off", data["off"]), cells("on", data["on"]),
               ["on / off", _ratio(data["forward_ratio"])]]),
    ])


def _gpu_section(out_path: Path | None) -> str:
    gpu_report = out_path.parent / GPU_REPORT_NAME if out_path else None
    if gpu_report is not None and gpu_report.is_file():
        # The GPU report's own sections, one heading level down, after a link to the file.
        body = [line for line in gpu_report.read_text().splitlines()
                if not line.startswith("# ")]
        body = [f"#{line}" if line.startswith("## ") else line for line in body]
        recorded = "\n".join([f"Results: [{GPU_REPORT_NAME}]({GPU_REPORT_NAME}).", *body])
    else:
        recorded = "No GPU numbers are recorded yet."
    return "\n".join([
        "## GPU",
        "",
        ("`scripts/benchmark_gpu.py` runs the same comparison on an NVIDIA GPU, also where "
        "TensorFlow is not installed: the model is backend-agnostic Keras, so it runs under "
        "`KERAS_BACKEND=jax` (JAX with CUDA) against the reference `PoseNet` in PyTorch, in "
        "fp32 and bf16 mixed precision: forward latency at batch 1, training images/s at "
        "batch 16 for 2 and 8 stacks, and the projected wall-clock of the paper's training "
        "schedule against its 3 days and 75 ms per forward pass on a TitanX."),
        "",
        "```bash",
        "pip install -e . 'jax[cuda12]' torch        # TensorFlow is not needed",
        f"KERAS_BACKEND=jax python scripts/benchmark_gpu.py --out docs/{GPU_REPORT_NAME}",
        "```",
        "",
        recorded,
    ])


def render_report(results: dict, out_path=None) -> str:
    """The markdown of docs/BENCHMARKS.md for ``results``.

    Args:
        results: from ``run_benchmarks``.
        out_path: where the report goes (to link a GPU report found beside it).
    """
    config = results["config"]
    mode = (
        "**Quick mode**: tiny models and few repetitions, a smoke test whose numbers mean "
        "nothing."
        if config["quick"]
        else "Full run."
        if set(config.get("sections", SECTIONS)) >= set(SECTIONS)
        else f"Sections run: {', '.join(config['sections'])} (the others are not measured)."
    )
    sections = [
        "# Benchmarks",
        "",
        (f"Written by `python scripts/benchmark.py{' --quick' if config['quick'] else ''}` "
        f"on {results['machine']['date']}. {mode} Absolute times on a shared machine are "
        "noise; ratios measured side by side in the same run are not: every comparison "
        "below times its candidates in interleaved rounds (A, B, C, A, B, C, ...) and "
        "compares medians."),
        "",
        _machine_section(results),
        "",
        _targets_section(results),
    ]
    if "inference" in results:
        sections += ["", _inference_section(results), "", _before_after_section(results)]
        quantization = _quantization_section(results)
        if quantization:
            sections += ["", quantization]
    for render in (_profile_section, _training_section, _pipeline_section, _onednn_section):
        part = render(results)
        if part:
            sections += ["", part]
    sections += ["", _gpu_section(Path(out_path) if out_path else None), ""]
    return "\n".join(sections)


def write_report(results: dict, out_path) -> Path:
    """Write ``render_report(results)`` to ``out_path`` (folders created); returns the path."""
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(render_report(results, out_path))
    return out_path
