"""The speed targets of the benchmark and whether a run meets them.

Every target is a ratio measured side by side in one run, so it can be checked on any
machine; the targets were set for the 2-core CPU machine CI uses.

Example:
    >>> rows = evaluate_targets(results)                        # doctest: +SKIP
    >>> rows[0]["target"]                                        # doctest: +SKIP
    'best inference path, 8 stacks, batch 1: <= 0.8x PyTorch'
"""

from __future__ import annotations

from hg_keras.benchmarks import inference, training

BEST_INFERENCE_MAX_RATIO = 0.8
TFLITE_VS_KERAS_MAX_RATIO = 1.0
INT8_MIN_SPEEDUP = 1.5
TRAINING_MAX_RATIO = 0.8
PIPELINE_MIN_RATIO_PER_CORE = 2.0

#: Paths of our own (everything but the reference) that serve float32 or better accuracy.
_OURS_FLOAT = [p for p in inference.PATHS
               if p != inference.TORCH and p not in inference.INTEGER_PATHS]


def _verdict(ok) -> str:
    if ok is None:
        return "not measured"
    return "met" if ok else "not met"


def evaluate_targets(results: dict) -> list[dict]:
    """Check each target against the results of ``hg_keras.benchmarks.suite.run_benchmarks``.

    Inference targets use the largest number of stacks measured (8 in a full run) at batch
    size 1.

    Returns:
        One dict per target: ``target`` (text), ``measured`` (text), ``verdict`` ("met",
        "not met" or "not measured").
    """
    targets = []
    rows = results.get("inference", {}).get("rows", [])
    # Without inference results the targets are stated as set: for the paper's 8 stacks.
    stacks = max((r["stacks"] for r in rows), default=8)
    batch = 1
    # 1. best inference path vs the reference
    text = (f"best inference path, {stacks} stacks, batch {batch}: "
            f"<= {BEST_INFERENCE_MAX_RATIO}x PyTorch")
    candidates = [
        r for r in rows
        if r["stacks"] == stacks and r["batch_size"] == batch and r["path"] != inference.TORCH
        and r["ratio_to_reference"] is not None
    ]
    if candidates:
        best_float = min(
            (r for r in candidates if r["path"] in _OURS_FLOAT),
            key=lambda r: r["ratio_to_reference"], default=None,
        )
        best = min(candidates, key=lambda r: r["ratio_to_reference"])
        measured = f"{best['ratio_to_reference']:.2f}x ({best['path']})"
        if best_float is not None and best_float is not best:
            measured += (
                f"; best float path {best_float['ratio_to_reference']:.2f}x "
                f"({best_float['path']})"
            )
        ok = best["ratio_to_reference"] <= BEST_INFERENCE_MAX_RATIO
        targets.append({"target": text, "measured": measured, "verdict": _verdict(ok)})
    else:
        targets.append({"target": text, "measured": "-", "verdict": _verdict(None)})
    # 2. TFLite fp32 no slower than Keras
    text = f"TFLite fp32 no slower than Keras tf.function, {stacks} stacks"
    parts, oks = [], []
    for size in sorted({r["batch_size"] for r in rows}):
        keras_row = inference.find_row(rows, stacks, size, inference.KERAS)
        tflite_rows = [
            r for r in (inference.find_row(rows, stacks, size, p)
                        for p in (inference.TFLITE_FP32, inference.LITERT_FP32,
                                  inference.LITERT_FP32_PER_IMAGE,
                                  inference.LITERT_FP32_PARALLEL))
            if r is not None
        ]
        if keras_row and tflite_rows:
            fastest = min(tflite_rows, key=lambda r: r["median_s"])
            ratio = fastest["median_s"] / keras_row["median_s"]
            parts.append(f"batch {size}: {ratio:.2f}x Keras ({fastest['path']})")
            oks.append(ratio <= TFLITE_VS_KERAS_MAX_RATIO)
    targets.append(
        {"target": text, "measured": "; ".join(parts) or "-",
         "verdict": _verdict(all(oks) if oks else None)}
    )
    # 3. int8 vs fp32
    text = f"TFLite int8 >= {INT8_MIN_SPEEDUP}x faster than fp32, {stacks} stacks"
    parts, oks = [], []
    for size in sorted({r["batch_size"] for r in rows}):
        fp32 = inference.find_row(rows, stacks, size, inference.TFLITE_FP32)
        int8 = inference.find_row(rows, stacks, size, inference.TFLITE_INT8)
        if fp32 and int8:
            speedup = fp32["median_s"] / int8["median_s"]
            parts.append(f"batch {size}: {speedup:.2f}x")
            oks.append(speedup >= INT8_MIN_SPEEDUP)
    errors = [q for q in results.get("inference", {}).get("quantization", [])
              if q["stacks"] == stacks and q["quantization"] == "int8"]
    if errors:
        parts.append(
            f"error vs fp32: relative RMS {errors[0]['relative_rms']:.3f}, "
            f"peaks within 1 px {100 * errors[0]['agreement_1px']:.0f}%"
        )
    targets.append(
        {"target": text, "measured": "; ".join(parts) or "-",
         "verdict": _verdict(all(oks) if oks else None)}
    )
    # 4. training step
    train_rows = results.get("training", {}).get("rows", [])
    ours = [r for r in train_rows
            if not r["path"].startswith(training.TORCH) and r["ratio_to_reference"]]
    if ours:
        best = min(ours, key=lambda r: r["ratio_to_reference"])
        text = (f"training step, {best['num_stacks']} stacks, batch {best['batch_size']}: "
                f"<= {TRAINING_MAX_RATIO}x PyTorch")
        targets.append(
            {"target": text,
             "measured": f"{best['ratio_to_reference']:.2f}x ({best['path']})",
             "verdict": _verdict(best["ratio_to_reference"] <= TRAINING_MAX_RATIO)}
        )
    else:
        targets.append({"target": f"training step: <= {TRAINING_MAX_RATIO}x PyTorch",
                        "measured": "-", "verdict": _verdict(None)})
    # 5. input pipeline
    pipeline = results.get("pipeline")
    text = f"input pipeline >= {PIPELINE_MIN_RATIO_PER_CORE}x the cv2 reference loader per core"
    if pipeline and "ratio_per_core" in pipeline:
        targets.append(
            {"target": text,
             "measured": f"{pipeline['ratio_per_core']:.2f}x per core "
                         f"({pipeline['ratio']:.2f}x wall-clock, "
                         f"{pipeline['num_threads']} pipeline thread(s))",
             "verdict": _verdict(pipeline["ratio_per_core"] >= PIPELINE_MIN_RATIO_PER_CORE)}
        )
    else:
        targets.append({"target": text, "measured": "-", "verdict": _verdict(None)})
    return targets
