"""The whole CPU benchmark behind ``scripts/benchmark.py``: every section, one results dict.

Sections (each can be left out): ``inference`` (latency of every path vs the PyTorch
reference), ``profile`` (time per op type of the Keras and reference forward passes, GEMM
ceiling), ``training`` (step time vs the reference) and ``pipeline`` (input pipeline vs the
cv2 reference loader, ``pipeline_reference.benchmark_pipeline``) and ``onednn`` (TensorFlow's
oneDNN custom ops on vs off, in alternated child processes).

``run_benchmarks`` calls ``prepare_process`` before anything runs: thread pools and some
library settings can only be chosen before TensorFlow and PyTorch start, so run it in a
fresh process that has not run TensorFlow or PyTorch ops yet.

Example:
    >>> config = BenchmarkConfig(quick=True, num_threads=2)
    >>> results = run_benchmarks(config)                         # doctest: +SKIP
    >>> write_report(results, "docs/BENCHMARKS.md")              # doctest: +SKIP
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field

from hg_keras.benchmarks.environment import available_cores

SECTIONS = ("inference", "profile", "training", "pipeline", "onednn")

#: Environment defaults set by ``prepare_process`` (a value the user set is kept).
PROCESS_ENVIRONMENT = {
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "KERAS_BACKEND": "tensorflow",
    # libgomp's default spin-waiting makes PyTorch's parallel regions stall whenever another
    # process holds one of the cores; passive waiting keeps the reference at its best.
    "OMP_WAIT_POLICY": "PASSIVE",
}


@dataclass(frozen=True)
class BenchmarkConfig:
    """What ``run_benchmarks`` measures.

    Attributes:
        quick: tiny models and few repetitions (a smoke test; numbers mean nothing).
        num_threads: threads of every library (default: the cores available).
        sections: subset of ``SECTIONS``.
        repeats: timed rounds per measurement (default 5, 2 when quick).
        onednn_training_child: also measure the training step (against the reference, side
            by side) in a child process with TensorFlow's oneDNN setting flipped.

    A quick run measures the training step without XLA.
    """

    quick: bool = False
    num_threads: int = field(default_factory=available_cores)
    sections: tuple[str, ...] = SECTIONS
    repeats: int | None = None
    onednn_training_child: bool = True

    def __post_init__(self):
        unknown = [s for s in self.sections if s not in SECTIONS]
        if unknown:
            raise ValueError(f"--sections {unknown}: unknown; choose from {SECTIONS}")


def inference_settings(config: BenchmarkConfig):
    """The ``InferenceSettings`` of a full or quick run."""
    from hg_keras.benchmarks.inference import InferenceSettings

    if config.quick:
        return InferenceSettings(
            stacks=(1,), batch_sizes=(1, 2), input_size=64, num_features=32,
            num_threads=config.num_threads, repeats=config.repeats or 2,
            calibration_count=2, accuracy_count=2,
        )
    return InferenceSettings(num_threads=config.num_threads, repeats=config.repeats or 5,
                             min_total_s=2.0)


def training_settings(config: BenchmarkConfig):
    """The ``TrainingSettings`` of a full or quick run (2 stacks, batch 8 when full)."""
    from hg_keras.benchmarks.training import TrainingSettings

    if config.quick:
        return TrainingSettings(num_stacks=1, num_features=32, input_size=64, batch_size=2,
                                repeats=config.repeats or 2, warmup=1)
    return TrainingSettings(repeats=config.repeats or 5)


def prepare_process(config: BenchmarkConfig) -> dict:
    """Set environment defaults and fix every library's thread count; call before any op runs.

    Returns:
        dict with ``environment`` (the variables in effect) and ``threads`` (what each
        library was set to, ``environment.fix_thread_counts``).
    """
    from hg_keras.benchmarks.environment import fix_thread_counts

    for name, value in PROCESS_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    environment = {
        name: os.environ.get(name, "")
        for name in (*PROCESS_ENVIRONMENT, "TF_ENABLE_ONEDNN_OPTS")
    }
    return {"environment": environment, "threads": fix_thread_counts(config.num_threads)}


def tensorflow_onednn_enabled() -> bool | None:
    """Whether TensorFlow's oneDNN custom ops are on in this process (None if unknown)."""
    try:
        from tensorflow.python.util import _pywrap_util_port
    except ImportError:
        return None
    return bool(_pywrap_util_port.IsMklEnabled())


def _profile_section(config: BenchmarkConfig, log) -> dict:
    from hg_keras.benchmarks.inference import torch_available
    from hg_keras.benchmarks.paired_models import calibration_images, paired_models
    from hg_keras.benchmarks.profiles import (
        gemm_gflops,
        keras_op_profile,
        torch_op_profile,
    )
    from hg_keras.export.bn_folding import fold_batch_norm

    settings = inference_settings(config)
    stacks = max(settings.stacks)
    log(f"profile: {stacks} stack(s), batch 1")
    model, net = paired_models(stacks, settings.num_features, settings.num_joints,
                               settings.input_size, settings.seed)
    images = calibration_images(1, settings.input_size, settings.seed + 1)
    result = {
        "stacks": stacks,
        "keras": keras_op_profile(model, images),
        "keras_folded": keras_op_profile(fold_batch_norm(model), images),
        "torch": torch_op_profile(net, images) if torch_available() else [],
        "gemm_size": 512 if config.quick else 2048,
    }
    result["gemm_gflops"] = gemm_gflops(config.num_threads, size=result["gemm_size"])
    return result


def run_benchmarks(config: BenchmarkConfig = BenchmarkConfig(), log=print) -> dict:
    """Run the chosen sections and return everything the report needs.

    Args:
        config: what to run.
        log: progress lines go here (``None``: silent).

    Returns:
        dict with ``config``, ``machine`` (at the start), ``load_average_end``,
        ``process`` (``prepare_process``'s result), ``onednn``, ``seconds``,
        ``section_seconds`` (per section run), and one entry
        per section: ``inference``, ``profile``, ``training``, ``pipeline``,
        ``onednn_comparison``.
    """
    from hg_keras.benchmarks.environment import load_average, machine_info

    log = log or (lambda *_: None)
    started = time.perf_counter()
    results = {
        "config": asdict(config),
        "machine": machine_info(),
        "process": prepare_process(config),
    }
    results["onednn"] = tensorflow_onednn_enabled()
    results["section_seconds"] = section_seconds = {}
    mark = time.perf_counter()

    def finished(section):
        nonlocal mark
        section_seconds[section] = time.perf_counter() - mark
        mark = time.perf_counter()

    if "inference" in config.sections:
        from hg_keras.benchmarks.inference import benchmark_inference

        settings = inference_settings(config)
        results["inference"] = benchmark_inference(settings, log=log)
        results["inference"]["settings"] = asdict(settings)
        finished("inference")
    if "profile" in config.sections:
        results["profile"] = _profile_section(config, log)
        finished("profile")
    if "training" in config.sections:
        from hg_keras.benchmarks.inference import torch_available
        from hg_keras.benchmarks.training import (
            benchmark_training,
            benchmark_training_in_child,
        )

        settings = training_settings(config)
        reference = torch_available()
        log(f"training: {settings.num_stacks} stack(s), batch {settings.batch_size}")
        # A quick run leaves out the XLA step (compiling it is most of a smoke test's time)
        # and the step with Keras's own BatchNormalization.
        rows = benchmark_training(settings, xla=not config.quick, torch_reference=reference,
                                  keras_batch_norm=not config.quick)
        if config.onednn_training_child:
            flipped = not results["onednn"]
            log(f"training: in a child process with oneDNN {'on' if flipped else 'off'}")
            rows += benchmark_training_in_child(settings, config.num_threads, flipped,
                                                torch_reference=reference)
        results["training"] = {"rows": rows, "settings": asdict(settings)}
        finished("training")
    if "pipeline" in config.sections:
        from hg_keras.benchmarks.pipeline_reference import benchmark_pipeline

        log("pipeline: tf.data vs the cv2 reference loader")
        results["pipeline"] = benchmark_pipeline(quick=config.quick,
                                                 num_threads=config.num_threads)
        finished("pipeline")
    if "onednn" in config.sections:
        from hg_keras.benchmarks.onednn import compare_onednn

        log("onednn: TensorFlow with oneDNN off and on, alternated child processes")
        settings = inference_settings(config)
        results["onednn_comparison"] = compare_onednn(
            max(settings.stacks), settings.num_features, settings.input_size, batch_size=1,
            num_threads=config.num_threads, repeats=settings.repeats,
            alternations=1 if config.quick else 2)
        finished("onednn")
    results["load_average_end"] = load_average()
    results["seconds"] = time.perf_counter() - started
    return results


#: Keys of the results dict that each section fills.
SECTION_KEYS = {
    "inference": ("inference",),
    "profile": ("profile",),
    "training": ("training",),
    "pipeline": ("pipeline",),
    "onednn": ("onednn_comparison",),
}


def merge_results(earlier: dict, update: dict) -> dict:
    """``earlier`` with the sections that ``update`` ran replaced by ``update``'s.

    The machine description stays the earlier run's; ``updates`` lists when which
    sections were re-run and under which load, and ``seconds`` adds up.

    Args:
        earlier: results of a previous run (e.g. read back from ``--json``).
        update: results of ``run_benchmarks`` with some ``sections``.

    Returns:
        A new results dict.
    """
    merged = dict(earlier)
    sections = update["config"]["sections"]
    for section in sections:
        for key in SECTION_KEYS[section]:
            if key in update:
                merged[key] = update[key]
    merged["section_seconds"] = {**earlier.get("section_seconds", {}),
                                 **update.get("section_seconds", {})}
    merged["seconds"] = earlier.get("seconds", 0.0) + update.get("seconds", 0.0)
    merged["updates"] = [
        *earlier.get("updates", []),
        {"sections": list(sections), "date": update["machine"]["date"],
         "load_average": update["machine"]["load_average"],
         "load_average_end": update.get("load_average_end")},
    ]
    return merged
