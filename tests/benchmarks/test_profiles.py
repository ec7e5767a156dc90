"""Per-op-type profiles: the trace is summed by op type and the tail folded into one row."""

from collections import Counter

import pytest

from hg_keras.benchmarks.profiles import _op_rows, keras_op_profile
from hg_keras.model import build_stacked_hourglass


def test_op_rows_are_per_call_shares_largest_first_with_the_tail_summed():
    rows = _op_rows(Counter({"Conv2D": 6.0, "Mul": 2.0, "Relu": 1.0, "Tile": 1.0}), calls=2,
                    top=3)
    assert rows == [
        {"op": "Conv2D", "ms_per_call": 3000.0, "share": 0.6},
        {"op": "Mul", "ms_per_call": 1000.0, "share": 0.2},
        {"op": "other (2 op types)", "ms_per_call": 1000.0, "share": 0.2},
    ]


@pytest.mark.slow
def test_keras_profile_finds_the_convolutions_of_a_forward_pass():
    model = build_stacked_hourglass(num_stacks=1, num_joints=4, num_features=16,
                                    input_shape=(64, 64, 3))
    rows = keras_op_profile(model, [[[[0.5] * 3] * 64] * 64], calls=1, top=50)
    ops = {row["op"] for row in rows}
    # Eigen's kernels (Conv2D, _FusedConv2D, MaxPool) or, where TensorFlow turns oneDNN on,
    # its own (_MklNativeFusedConv2D, _MklNativeMaxPool, ...).
    assert any(op.endswith("Conv2D") for op in ops), ops
    assert any(op.endswith("MaxPool") for op in ops), ops
    assert sum(row["share"] for row in rows) == pytest.approx(1.0)
    assert all(" " not in op and "::" not in op for op in ops)
