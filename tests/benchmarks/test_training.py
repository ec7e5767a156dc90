"""Training-step benchmark: both sides start from the same weights and the same loss."""

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the PyTorch reference needs torch")

from hg_keras.benchmarks.paired_models import paired_models
from hg_keras.benchmarks.training import (
    KERAS,
    KERAS_PLAIN_BN,
    TORCH,
    TrainingSettings,
    benchmark_training,
    keras_step,
    torch_step,
    training_batch,
    with_keras_batch_norm,
)

SETTINGS = TrainingSettings(num_stacks=1, num_features=16, num_joints=4, input_size=64,
                            batch_size=2, repeats=1, warmup=1)


def test_keras_and_reference_steps_start_from_the_same_loss():
    images, heatmaps = training_batch(SETTINGS)
    model, net = paired_models(1, num_features=16, num_joints=4, input_size=64)
    keras_loss = float(np.asarray(keras_step(model, images, heatmaps, jit_compile=False)()))
    torch_loss = torch_step(net, images, heatmaps)()
    assert keras_loss == pytest.approx(torch_loss, rel=1e-4)


def test_training_batch_has_images_and_quarter_size_heatmaps():
    images, heatmaps = training_batch(SETTINGS)
    assert images.shape == (2, 64, 64, 3)
    assert heatmaps.shape == (2, 16, 16, 4)
    assert images.dtype == heatmaps.dtype == np.float32


def test_rows_give_images_per_second_and_the_ratio_to_the_reference():
    rows = benchmark_training(SETTINGS, xla=False, keras_batch_norm=True)
    assert [row["path"] for row in rows] == [KERAS, KERAS_PLAIN_BN, TORCH]
    reference = rows[2]
    for row in rows:
        assert row["images_per_s"] == pytest.approx(2 / row["median_s"])
        assert row["ratio_to_reference"] == pytest.approx(row["median_s"] / reference["median_s"])
        assert (row["num_stacks"], row["batch_size"], row["runs"]) == (1, 2, 1)


def test_the_plain_batch_norm_copy_has_keras_layers_and_the_same_training_outputs():
    import keras

    from hg_keras.model.batch_norm import FusedBatchNormalization

    images, _ = training_batch(SETTINGS)
    model, _ = paired_models(1, num_features=16, num_joints=4, input_size=64)
    plain = with_keras_batch_norm(model)
    norms = [layer for layer in plain.layers
             if isinstance(layer, keras.layers.BatchNormalization)]
    assert norms and not any(isinstance(layer, FusedBatchNormalization) for layer in norms)
    fused_out = np.asarray(model(images, training=True)[-1])
    plain_out = np.asarray(plain(images, training=True)[-1])
    assert np.abs(plain_out).max() > 0.1
    np.testing.assert_allclose(fused_out, plain_out, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(np.asarray(model.get_layer(norms[0].name).moving_variance),
                               np.asarray(norms[0].moving_variance), rtol=1e-5)
