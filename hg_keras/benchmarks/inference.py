"""Inference latency of every way to run the network, against the PyTorch reference.

For each number of stacks the Keras model and the reference ``PoseNet`` get identical
weights (``paired_models``); the model is exported once with the project's exporters
(``export_saved_model``, ``convert_to_tflite``) and every path then runs the same batch of
images, interleaved (``time_side_by_side``). The paths:

* Keras ``tf.function`` and Keras + XLA (``jit_compile``), each as trained and with
  BatchNorm folded into the convolutions (``hg_keras.export.fold_batch_norm``);
* the exported SavedModel's ``heatmaps`` signature (BN folded by the exporter);
* TFLite fp32 / fp16 / int8 through ``tf.lite.Interpreter`` and, when installed, LiteRT's
  interpreter (``ai-edge-litert``), both with the XNNPACK delegate and ``num_threads``;
  TFLite fp32 with the interpreter's default thread count is kept as the "before" row, and
  for batches above one LiteRT fp32 also runs the batch one image per invoke
  (``hg_keras.export.invoke_in_chunks``), and split over ``num_threads`` one-thread
  interpreters invoked concurrently (``hg_keras.export.invoke_in_parallel``);
* the PyTorch port's eager ``PoseNet`` under ``torch.inference_mode``.

Example:
    >>> rows = benchmark_inference(InferenceSettings(stacks=(1,), batch_sizes=(1,),
    ...                                              num_features=32, input_size=64,
    ...                                              repeats=2, num_threads=2))
    >>> sorted({row["path"] for row in rows})[:2]
    ['Keras + XLA', 'Keras + XLA, BN folded']
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field

import numpy as np

from hg_keras.benchmarks import runners
from hg_keras.benchmarks.paired_models import calibration_images, paired_models
from hg_keras.benchmarks.timing import time_side_by_side

KERAS = "Keras tf.function"
KERAS_FOLDED = "Keras tf.function, BN folded"
KERAS_XLA = "Keras + XLA"
KERAS_XLA_FOLDED = "Keras + XLA, BN folded"
SAVED_MODEL = "SavedModel heatmaps signature"
TFLITE_FP32_DEFAULT_THREADS = "TFLite fp32, default num_threads"
TFLITE_FP32 = "TFLite fp32"
TFLITE_FP16 = "TFLite fp16"
TFLITE_INT8 = "TFLite int8"
LITERT_FP32 = "LiteRT fp32"
LITERT_INT8 = "LiteRT int8"
LITERT_FP32_PER_IMAGE = "LiteRT fp32, one image per invoke"
LITERT_FP32_PARALLEL = "LiteRT fp32, one-thread interpreters in parallel"
TORCH = "PyTorch eager (reference)"

#: Every path, in table order.
PATHS = (
    KERAS,
    KERAS_XLA,
    KERAS_FOLDED,
    KERAS_XLA_FOLDED,
    SAVED_MODEL,
    TFLITE_FP32_DEFAULT_THREADS,
    TFLITE_FP32,
    TFLITE_FP16,
    TFLITE_INT8,
    LITERT_FP32,
    LITERT_FP32_PER_IMAGE,
    LITERT_FP32_PARALLEL,
    LITERT_INT8,
    TORCH,
)

#: Paths that compute in int8 (their accuracy and arithmetic are not float32's).
INTEGER_PATHS = (TFLITE_INT8, LITERT_INT8)

#: Paths that only differ from another path at batch sizes above one (not run at batch 1).
BATCHED_ONLY_PATHS = (LITERT_FP32_PER_IMAGE, LITERT_FP32_PARALLEL)


@dataclass(frozen=True)
class TFLitePath:
    """How a TFLite path runs its model.

    Attributes:
        quantize: quantization passed to ``convert_to_tflite``.
        interpreter: ``"tensorflow"`` or ``"litert"``.
        fixed_threads: give the interpreter ``num_threads``; False keeps TFLite's default.
        images_per_invoke: None for the whole batch at once (``invoke_in_chunks``).
        parallel: ``num_threads`` interpreters of one thread each share the batch
            (``invoke_in_parallel``) instead of one interpreter of ``num_threads``.
    """

    quantize: str
    interpreter: str
    fixed_threads: bool = True
    images_per_invoke: int | None = None
    parallel: bool = False


_TFLITE_PATHS = {
    TFLITE_FP32_DEFAULT_THREADS: TFLitePath("none", "tensorflow", fixed_threads=False),
    TFLITE_FP32: TFLitePath("none", "tensorflow"),
    TFLITE_FP16: TFLitePath("fp16", "tensorflow"),
    TFLITE_INT8: TFLitePath("int8", "tensorflow"),
    LITERT_FP32: TFLitePath("none", "litert"),
    LITERT_FP32_PER_IMAGE: TFLitePath("none", "litert", images_per_invoke=1),
    LITERT_FP32_PARALLEL: TFLitePath("none", "litert", images_per_invoke=1, parallel=True),
    LITERT_INT8: TFLitePath("int8", "litert"),
}


@dataclass(frozen=True)
class InferenceSettings:
    """What ``benchmark_inference`` measures.

    Attributes:
        stacks: numbers of stacks to measure.
        batch_sizes: batch sizes to measure.
        input_size: side of the square input (a multiple of 64).
        num_features: channels inside the hourglasses.
        num_joints: K.
        num_threads: threads of TFLite interpreters (TensorFlow and PyTorch are set up by
            ``environment.fix_thread_counts`` before anything runs).
        repeats: timed rounds.
        warmup: untimed rounds first.
        min_total_s: extra rounds (up to 4x ``repeats``) until the fastest path has been
            timed this many seconds in total, for stable medians of fast paths.
        calibration_count: crops for int8 calibration.
        accuracy_count: held-out images for the quantization error.
        seed: weights and images.
        paths: the paths to run (subset of ``PATHS``).
    """

    stacks: tuple[int, ...] = (1, 2, 8)
    batch_sizes: tuple[int, ...] = (1, 8)
    input_size: int = 256
    num_features: int = 256
    num_joints: int = 16
    num_threads: int = 2
    repeats: int = 5
    warmup: int = 1
    min_total_s: float = 0.0
    calibration_count: int = 8
    accuracy_count: int = 8
    seed: int = 0
    paths: tuple[str, ...] = field(default=PATHS)


def find_row(rows, stacks: int, batch_size: int, path: str) -> dict | None:
    """The row of ``benchmark_inference``'s ``rows`` for (stacks, batch size, path), or None.

    Example:
        >>> rows = [{"stacks": 8, "batch_size": 1, "path": KERAS, "median_s": 1.2}]
        >>> find_row(rows, 8, 1, KERAS)["median_s"], find_row(rows, 8, 8, KERAS)
        (1.2, None)
    """
    for row in rows:
        if (row["stacks"], row["batch_size"], row["path"]) == (stacks, batch_size, path):
            return row
    return None


def litert_available() -> bool:
    """True when ``ai_edge_litert`` (LiteRT's interpreter) can be imported."""
    try:
        import ai_edge_litert.interpreter  # noqa: F401
    except ImportError:
        return False
    return True


def torch_available() -> bool:
    """True when PyTorch can be imported (the reference is optional)."""
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def _dataset_info(num_joints: int):
    from hg_keras.datasets.records import MPII_INFO, DatasetInfo

    if num_joints == MPII_INFO.num_joints:
        return MPII_INFO
    return DatasetInfo(
        name=f"benchmark_{num_joints}_joints",
        joint_names=tuple(f"joint_{k}" for k in range(num_joints)),
        flip_permutation=tuple(range(num_joints)),
        metric="pck",
        threshold=0.2,
    )


@dataclass
class ExportedModels:
    """The exports of one model: SavedModel folder, TFLite bytes per quantization, timings."""

    saved_model_dir: str
    tflite: dict
    export_s: dict


def export_model(model, settings: InferenceSettings, workdir, quantizations) -> ExportedModels:
    """Export ``model`` with the project's exporters: SavedModel, then TFLite per quantization.

    Args:
        model: the Keras model (as trained; the exporter folds BN itself).
        settings: sizes and seeds (int8 calibration uses ``calibration_count`` crops).
        workdir: folder for the SavedModel.
        quantizations: subset of ``("none", "fp16", "int8")``.

    Returns:
        ``ExportedModels`` with seconds spent per export in ``export_s``.
    """
    from hg_keras.export.saved_model import export_saved_model
    from hg_keras.export.tflite import convert_to_tflite

    export_s = {}
    start = time.perf_counter()
    version_dir = export_saved_model(model, _dataset_info(settings.num_joints), out_dir=workdir)
    export_s["saved_model"] = time.perf_counter() - start
    crops = calibration_images(settings.calibration_count, settings.input_size, settings.seed + 7)
    tflite = {}
    for quantize in quantizations:
        start = time.perf_counter()
        tflite[quantize] = convert_to_tflite(
            version_dir, quantize, crops if quantize == "int8" else None
        )
        export_s[f"tflite_{quantize}"] = time.perf_counter() - start
    return ExportedModels(str(version_dir), tflite, export_s)


def quantization_error(reference_outputs, outputs) -> dict:
    """How far a quantized model's last-stack heatmaps are from float32.

    Returns:
        dict with ``relative_rms`` (RMS difference / standard deviation of the float32
        heatmaps), ``max_abs_diff`` and ``agreement_1px`` (share of joints whose decoded
        peak moves by at most one heatmap pixel, ``hg_keras.export.keypoint_agreement``).
    """
    from hg_keras.export.tflite import keypoint_agreement

    reference = runners.last_stack_nhwc(reference_outputs)
    other = runners.last_stack_nhwc(outputs)
    difference = other.astype(np.float64) - reference
    return {
        "relative_rms": float(np.sqrt(np.mean(difference**2)) / max(reference.std(), 1e-12)),
        "max_abs_diff": float(np.abs(difference).max()),
        "agreement_1px": keypoint_agreement(reference, other, 1.0),
    }


def _make_runner(path, images, model, folded, exported, net, settings):
    if path == KERAS:
        return runners.keras_runner(model, images)
    if path == KERAS_XLA:
        return runners.keras_runner(model, images, jit_compile=True)
    if path == KERAS_FOLDED:
        return runners.keras_runner(folded, images)
    if path == KERAS_XLA_FOLDED:
        return runners.keras_runner(folded, images, jit_compile=True)
    if path == SAVED_MODEL:
        return runners.saved_model_runner(exported.saved_model_dir, images)
    if path in _TFLITE_PATHS:
        spec = _TFLITE_PATHS[path]
        threads = settings.num_threads if spec.fixed_threads else None
        interpreters = 1
        if spec.parallel:
            threads, interpreters = 1, settings.num_threads
        return runners.tflite_runner(exported.tflite[spec.quantize], images, threads,
                                     spec.interpreter, images_per_invoke=spec.images_per_invoke,
                                     num_interpreters=interpreters)
    if path == TORCH:
        return runners.torch_runner(net, images)
    raise ValueError(f"path {path!r} is unknown; choose from {PATHS}")


def available_paths(paths) -> tuple[list[str], dict[str, str]]:
    """The paths that can run here, and a reason for each one that cannot."""
    skipped = {}
    for path in paths:
        if path not in PATHS:
            raise ValueError(f"path {path!r} is unknown; choose from {PATHS}")
        if path == TORCH and not torch_available():
            skipped[path] = "torch is not installed (pip install torch)"
        elif path.startswith("LiteRT") and not litert_available():
            skipped[path] = "ai-edge-litert is not installed (pip install ai-edge-litert)"
    return [p for p in paths if p not in skipped], skipped


def benchmark_inference(settings: InferenceSettings = InferenceSettings(),
                        log=print) -> dict:
    """Latency of every path for every (stacks, batch size), measured side by side.

    Args:
        settings: what to measure.
        log: called with one progress line at a time (``print``; ``None`` for silence).

    Returns:
        dict with ``rows`` (one per stacks x batch x path: ``stacks``, ``batch_size``,
        ``path``, ``median_s``, ``min_s``, ``runs``, ``ms_per_image``, ``flops_per_image``,
        ``gflops_per_s``, ``ratio_to_reference`` (median / PyTorch median, None without
        it)), ``quantization`` (per stacks and quantized path: ``quantization_error``),
        ``export_s`` (per stacks: seconds of each export) and ``skipped`` (path -> reason).
    """
    from hg_keras.export.bn_folding import fold_batch_norm
    from hg_keras.model.stacked import count_flops

    log = log or (lambda *_: None)
    paths, skipped = available_paths(settings.paths)
    quantizations = sorted(
        {_TFLITE_PATHS[p].quantize for p in paths if p in _TFLITE_PATHS},
        key=["none", "fp16", "int8"].index,
    )
    result = {"rows": [], "quantization": [], "export_s": {}, "skipped": skipped}
    for num_stacks in settings.stacks:
        log(f"inference: {num_stacks} stack(s): building models")
        model, net = paired_models(
            num_stacks, settings.num_features, settings.num_joints, settings.input_size,
            settings.seed,
        )
        if TORCH not in paths:
            net = None
        flops = count_flops(model)
        folded = fold_batch_norm(model)
        with tempfile.TemporaryDirectory(prefix="hg_benchmark_") as workdir:
            exported = None
            if any(p == SAVED_MODEL or p in _TFLITE_PATHS for p in paths):
                log(f"inference: {num_stacks} stack(s): exporting {quantizations}")
                exported = export_model(model, settings, workdir, quantizations)
                result["export_s"][num_stacks] = exported.export_s
            for batch_size in settings.batch_sizes:
                images = calibration_images(batch_size, settings.input_size, settings.seed + 1)
                candidates = {
                    path: _make_runner(path, images, model, folded, exported, net, settings)
                    for path in paths
                    if batch_size > 1 or path not in BATCHED_ONLY_PATHS
                }
                log(f"inference: {num_stacks} stack(s), batch {batch_size}: timing "
                    f"{len(candidates)} paths x {settings.repeats}")
                timings = time_side_by_side(
                    candidates, repeats=settings.repeats, warmup=settings.warmup,
                    min_total_s=settings.min_total_s,
                )
                reference = timings.get(TORCH)
                for path, timing in timings.items():
                    result["rows"].append(
                        {
                            "stacks": num_stacks,
                            "batch_size": batch_size,
                            "path": path,
                            **timing.row_fields(),
                            "ms_per_image": 1000 * timing.median_s / batch_size,
                            "flops_per_image": flops,
                            "gflops_per_s": flops * batch_size / timing.median_s / 1e9,
                            "ratio_to_reference": (
                                timing.ratio_to(reference) if reference else None
                            ),
                        }
                    )
                del candidates
            if exported is not None:
                result["quantization"] += _quantization_rows(num_stacks, settings, exported)
    return result


def _quantization_rows(num_stacks, settings, exported) -> list[dict]:
    """Error of each quantized TFLite model against TFLite fp32 on held-out images."""
    images = calibration_images(settings.accuracy_count, settings.input_size, settings.seed + 3)
    rows = []
    if "none" not in exported.tflite:
        return rows
    reference = runners.tflite_runner(exported.tflite["none"], images, settings.num_threads)()
    for quantize, label in (("fp16", "fp16"), ("int8", "int8")):
        if quantize not in exported.tflite:
            continue
        outputs = runners.tflite_runner(exported.tflite[quantize], images, settings.num_threads)()
        rows.append(
            {
                "stacks": num_stacks,
                "quantization": label,
                "size_mb": len(exported.tflite[quantize]) / 1e6,
                "fp32_size_mb": len(exported.tflite["none"]) / 1e6,
                "num_images": settings.accuracy_count,
                **quantization_error(reference, outputs),
            }
        )
    return rows
