"""Where the time goes: per-op-type time of one forward pass, and the machine's GEMM speed.

``keras_op_profile`` records a TensorFlow profiler trace (``tf.profiler.experimental``) of
a ``tf.function`` forward pass and sums the duration of every executed op by op type
(``_FusedConv2D``, ``Mul``, ``Tile``, ...); ``torch_op_profile`` does the same for the
PyTorch reference with ``torch.profiler``. ``gemm_gflops`` measures a large single-precision
matrix product, the practical ceiling of convolution throughput on the machine.

Example:
    >>> shares = keras_op_profile(model, images)                 # doctest: +SKIP
    >>> shares[0]["op"], round(shares[0]["share"], 2)            # doctest: +SKIP
    ('_FusedConv2D', 0.91)
"""

from __future__ import annotations

import glob
import re
import tempfile
from collections import Counter

import numpy as np

#: What an op type looks like in trace event names (``Conv2D``, ``_FusedConv2D``).
_OP_TYPE = re.compile(r"_?[A-Z][A-Za-z0-9_]*")


def _op_rows(durations_s: Counter, calls: int, top: int) -> list[dict]:
    total = sum(durations_s.values()) or 1.0
    rows = [
        {"op": op, "ms_per_call": 1000 * seconds / calls, "share": seconds / total}
        for op, seconds in durations_s.most_common()
    ]
    if len(rows) > top:
        rest = rows[top - 1 :]
        rows = rows[: top - 1] + [
            {
                "op": f"other ({len(rest)} op types)",
                "ms_per_call": sum(r["ms_per_call"] for r in rest),
                "share": sum(r["share"] for r in rest),
            }
        ]
    return rows


def keras_op_profile(model, images, calls: int = 2, top: int = 8) -> list[dict]:
    """Time per TensorFlow op type of ``model(images, training=False)`` in a ``tf.function``.

    Sums the executor's op events of the profiler trace (time on the executing thread,
    which includes the op's intra-op parallel work). Container events are left out.

    Args:
        model: Keras model (TensorFlow backend).
        images: (N, S, S, 3) float32.
        calls: profiled calls (after one untraced warm-up call).
        top: op types listed; the rest are summed into one row.

    Returns:
        List of dicts ``op``, ``ms_per_call``, ``share`` (of the summed op time), largest
        first.
    """
    import tensorflow as tf
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    from hg_keras.benchmarks.runners import keras_runner

    forward = keras_runner(model, images)
    forward()
    with tempfile.TemporaryDirectory(prefix="hg_profile_") as logdir:
        tf.profiler.experimental.start(logdir)
        try:
            for _ in range(calls):
                forward()
        finally:
            tf.profiler.experimental.stop()
        traces = glob.glob(f"{logdir}/**/*.xplane.pb", recursive=True)
        if not traces:
            return []
        space = xplane_pb2.XSpace()
        with open(traces[-1], "rb") as handle:
            space.ParseFromString(handle.read())
    durations = Counter()
    for plane in space.planes:
        metadata = plane.event_metadata
        for line in plane.lines:
            for event in line.events:
                name = metadata[event.metadata_id].name
                # Op events are "<node name>:<op type>"; thread-pool and executor
                # bookkeeping events have no node name.
                node, sep, op_type = name.rpartition(":")
                if (not (sep and node and _OP_TYPE.fullmatch(op_type))
                        or " " in node or "::" in name):
                    continue
                durations[op_type] += event.duration_ps / 1e12
    return _op_rows(durations, calls, top)


def torch_op_profile(net, images, calls: int = 2, top: int = 8) -> list[dict]:
    """Self CPU time per ATen op of the reference ``PoseNet`` (``torch.profiler``).

    Args:
        net: eval-mode ``PoseNet``.
        images: (N, S, S, 3) float32.
        calls: profiled calls (after one warm-up call).
        top: ops listed; the rest are summed into one row.
    """
    import torch
    from torch.profiler import ProfilerActivity, profile

    inputs = torch.from_numpy(np.ascontiguousarray(images, np.float32))
    with torch.inference_mode():
        net(inputs)
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(calls):
                net(inputs)
    durations = Counter()
    for event in prof.key_averages():
        durations[event.key] += event.self_cpu_time_total / 1e6
    return _op_rows(durations, calls, top)


def gemm_gflops(num_threads: int, size: int = 2048, repeats: int = 5) -> dict:
    """GFLOP/s of a (size x size) @ (size x size) float32 product in TensorFlow and PyTorch.

    The best of the two is the practical ceiling that convolutions (which the libraries
    lower to the same kind of matrix products) can approach on this machine with these
    threads.

    Returns:
        dict library -> GFLOP/s of the median product, both libraries timed side by side
        (``time_side_by_side``; libraries that are absent are left out).
    """
    from hg_keras.benchmarks.timing import time_side_by_side

    flops = 2.0 * size**3
    rng = np.random.default_rng(0)
    a = rng.random((size, size), np.float32)
    b = rng.random((size, size), np.float32)
    products = {}
    try:
        import tensorflow as tf
    except ImportError:
        tf = None
    if tf is not None:
        ta, tb = tf.constant(a), tf.constant(b)
        product = tf.function(tf.linalg.matmul)
        products["tensorflow"] = lambda: product(ta, tb).numpy()
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        torch.set_num_threads(num_threads)
        pa, pb = torch.from_numpy(a), torch.from_numpy(b)
        products["torch"] = lambda: torch.mm(pa, pb)
    if not products:
        return {}
    timings = time_side_by_side(products, repeats=repeats, warmup=1)
    return {library: flops / timing.median_s / 1e9 for library, timing in timings.items()}
