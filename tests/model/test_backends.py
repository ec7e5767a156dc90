"""The model code is backend-agnostic Keras: it builds and runs under the PyTorch backend."""

import json
import os
import subprocess
import sys

import pytest

SCRIPT = r"""
import json
import numpy as np
import keras
from hg_keras.model import build_stacked_hourglass, trainable_parameter_count
model = build_stacked_hourglass(num_stacks=1, num_joints=4, num_features=32,
                                input_shape=(64, 64, 3))
out = model(np.zeros((1, 64, 64, 3), "float32"))
out = out[0] if isinstance(out, (list, tuple)) else out
trained = model(np.random.default_rng(0).random((2, 64, 64, 3), "float32"), training=True)
trained = trained[0] if isinstance(trained, (list, tuple)) else trained
print(json.dumps({"backend": keras.backend.backend(), "shape": list(out.shape),
                  "training_shape": list(trained.shape),
                  "params": trainable_parameter_count(model)}))
"""


def test_one_stack_model_runs_under_the_torch_backend():
    pytest.importorskip("torch", reason="the torch backend test needs the CPU torch wheel")
    env = dict(os.environ, KERAS_BACKEND="torch")
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["backend"] == "torch"
    assert report["shape"] == [1, 16, 16, 4]
    assert report["training_shape"] == [2, 16, 16, 4]  # training-mode BatchNorm is Keras's own
    # same architecture as under TensorFlow
    from hg_keras.model import build_stacked_hourglass, trainable_parameter_count

    reference = build_stacked_hourglass(
        num_stacks=1, num_joints=4, num_features=32, input_shape=(64, 64, 3)
    )
    assert report["params"] == trainable_parameter_count(reference)
