"""TensorFlow's oneDNN custom ops on or off, for the same Keras forward pass.

TensorFlow reads ``TF_ENABLE_ONEDNN_OPTS`` once, when it starts, and turns oneDNN on by
default only on CPUs with AVX-512 VNNI / AMX; elsewhere its Eigen kernels run. The two
settings therefore run in child processes (``python -m hg_keras.benchmarks.onednn``),
alternated ``off, on, off, on, ...`` so that both see the same background load, and the
medians of the children are compared.

Example:
    >>> comparison = compare_onednn(num_stacks=1, num_features=32, input_size=64,
    ...                             batch_size=1, num_threads=2, repeats=2)  # doctest: +SKIP
    >>> comparison["forward_ratio"]                                      # doctest: +SKIP
    1.9

The training step with the other setting is measured by the training section itself
(``benchmark_training_in_child``), against its own PyTorch reference.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

from hg_keras.benchmarks.children import onednn_environment, run_json_child


def _child_args(num_stacks, num_features, input_size, batch_size, num_threads, repeats):
    return [
        "--stacks", str(num_stacks), "--features", str(num_features),
        "--input-size", str(input_size), "--batch", str(batch_size),
        "--threads", str(num_threads), "--repeats", str(repeats),
    ]


def measure_in_child(onednn: bool, num_stacks: int, num_features: int, input_size: int,
                     batch_size: int, num_threads: int, repeats: int) -> dict:
    """Run the measurement in a fresh process with ``TF_ENABLE_ONEDNN_OPTS`` = 1 or 0.

    Returns:
        The child's result: ``forward_median_s`` and ``onednn_enabled`` (what TensorFlow
        reported).
    """
    return run_json_child(
        "hg_keras.benchmarks.onednn",
        _child_args(num_stacks, num_features, input_size, batch_size, num_threads, repeats),
        onednn_environment(onednn),
    )


def compare_onednn(num_stacks: int, num_features: int, input_size: int, batch_size: int,
                   num_threads: int, repeats: int = 3, alternations: int = 2) -> dict:
    """Keras forward pass with oneDNN off and on, children alternated.

    Args:
        num_stacks, num_features, input_size: the model.
        batch_size: images per call.
        num_threads: TensorFlow intra-op threads in the children.
        repeats: timed calls per child (after one warm-up call).
        alternations: pairs of children (off, on).

    Returns:
        dict with ``off`` and ``on`` (lists of child results), ``forward_ratio`` (median of
        "on" medians / median of "off" medians; above 1: oneDNN is slower),
        ``onednn_default`` (whether TensorFlow turns it on by default here), and the
        settings.
    """
    runs = {"off": [], "on": []}
    for _ in range(alternations):
        for label, flag in (("off", False), ("on", True)):
            runs[label].append(measure_in_child(flag, num_stacks, num_features, input_size,
                                                batch_size, num_threads, repeats))
    on = statistics.median(r["forward_median_s"] for r in runs["on"])
    off = statistics.median(r["forward_median_s"] for r in runs["off"])

    default = subprocess.run(
        [sys.executable, "-c", ("from hg_keras.benchmarks.suite import "
                               "tensorflow_onednn_enabled as on; print(int(bool(on())))")],
        env={k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"},
        capture_output=True, text=True, timeout=600, check=False,
    )
    return {
        **runs,
        "forward_ratio": on / off,
        "onednn_default": default.stdout.strip().endswith("1"),
        "num_stacks": num_stacks,
        "num_features": num_features,
        "input_size": input_size,
        "batch_size": batch_size,
        "num_threads": num_threads,
        "repeats": repeats,
        "alternations": alternations,
    }


def _child(argv=None) -> None:
    parser = argparse.ArgumentParser(description="one oneDNN measurement (child process)")
    for flag in ("--stacks", "--features", "--input-size", "--batch", "--threads",
                 "--repeats"):
        parser.add_argument(flag, type=int, required=True)
    args = parser.parse_args(argv)

    from hg_keras.benchmarks.environment import fix_thread_counts

    fix_thread_counts(args.threads, torch=False)
    from hg_keras.benchmarks.paired_models import calibration_images
    from hg_keras.benchmarks.runners import keras_runner
    from hg_keras.benchmarks.suite import tensorflow_onednn_enabled
    from hg_keras.benchmarks.timing import time_side_by_side
    from hg_keras.model.stacked import build_stacked_hourglass

    def model():
        return build_stacked_hourglass(num_stacks=args.stacks, num_joints=16,
                                       num_features=args.features,
                                       input_shape=(args.input_size, args.input_size, 3))

    images = calibration_images(args.batch, args.input_size, seed=1)
    timings = time_side_by_side({"forward": keras_runner(model(), images)},
                                repeats=args.repeats, warmup=1)
    print(json.dumps({
        "forward_median_s": timings["forward"].median_s,
        "onednn_enabled": tensorflow_onednn_enabled(),
    }))


if __name__ == "__main__":
    _child()
