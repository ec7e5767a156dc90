"""FusedBatchNormalization computes exactly Keras's BatchNormalization, with one fused op."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from hg_keras.model import build_stacked_hourglass
from hg_keras.model.batch_norm import FusedBatchNormalization

SHAPE = (4, 6, 6, 8)


def paired_layers(**kwargs):
    """A fused and a plain Keras layer with identical, non-trivial weights."""
    fused = FusedBatchNormalization(epsilon=1e-5, momentum=0.9, **kwargs)
    plain = keras.layers.BatchNormalization(epsilon=1e-5, momentum=0.9, **kwargs)
    rng = np.random.default_rng(1)
    for layer in (fused, plain):
        layer.build(SHAPE)
    weights = [rng.normal(1.0, 0.3, SHAPE[-1]), rng.normal(0.0, 0.5, SHAPE[-1]),
               rng.normal(0.0, 1.0, SHAPE[-1]), rng.uniform(0.5, 2.0, SHAPE[-1])]
    for layer in (fused, plain):
        for variable, value in zip(
            [layer.gamma, layer.beta, layer.moving_mean, layer.moving_variance], weights
        ):
            variable.assign(value.astype("float32"))
    return fused, plain


def inputs():
    return np.random.default_rng(0).normal(3.0, 2.0, SHAPE).astype("float32")


def op_types(layer, x, training):
    graph = tf.function(lambda t: layer(t, training=training)).get_concrete_function(
        tf.TensorSpec(x.shape, tf.float32)).graph
    return {op.type for op in graph.get_operations()}


def test_training_outputs_gradients_and_moving_statistics_match_keras():
    fused, plain = paired_layers()
    x = tf.constant(inputs())
    upstream = tf.constant(np.random.default_rng(2).normal(size=SHAPE).astype("float32"))
    results = []
    for layer in (fused, plain):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=True)
            loss = tf.reduce_sum(y * upstream)
        grads = tape.gradient(loss, [x, layer.gamma, layer.beta])
        results.append([y, *grads, layer.moving_mean, layer.moving_variance])
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=1e-4, atol=1e-5)
    # The moving variance moved towards the biased batch variance, as in Keras.
    batch_variance = inputs().var(axis=(0, 1, 2))
    start = paired_layers()[1].moving_variance.numpy()
    np.testing.assert_allclose(fused.moving_variance.numpy(),
                               0.9 * start + 0.1 * batch_variance, rtol=1e-5)


def test_training_runs_one_fused_kernel_and_inference_is_kerass():
    fused, _ = paired_layers()
    x = inputs()
    training_ops = op_types(fused, x, training=True)
    assert "FusedBatchNormV3" in training_ops
    assert "Mean" not in training_ops and "SquaredDifference" not in training_ops
    assert "FusedBatchNormV3" not in op_types(fused, x, training=False)


def test_inference_matches_keras():
    fused, plain = paired_layers()
    np.testing.assert_allclose(np.asarray(fused(inputs(), training=False)),
                               np.asarray(plain(inputs(), training=False)), rtol=1e-6)


@pytest.mark.parametrize("setting", ["synchronized", "renorm"])
def test_settings_the_kernel_lacks_take_kerass_path(setting):
    fused, plain = paired_layers(**{setting: True})
    assert not fused.uses_fused_kernel(inputs(), training=True)
    assert "FusedBatchNormV3" not in op_types(fused, inputs(), training=True)
    np.testing.assert_allclose(np.asarray(fused(inputs(), training=True)),
                               np.asarray(plain(inputs(), training=True)), rtol=1e-5, atol=1e-5)


def test_mixed_precision_normalises_in_float32_and_returns_the_compute_dtype():
    fused = FusedBatchNormalization(dtype="mixed_bfloat16")
    y = fused(tf.constant(inputs(), tf.bfloat16), training=True)
    assert y.dtype == tf.bfloat16
    assert abs(float(tf.reduce_mean(tf.cast(y, tf.float32)))) < 0.02


def test_the_model_is_built_from_it_and_reloads_from_a_keras_file_in_safe_mode(tmp_path):
    model = build_stacked_hourglass(num_stacks=1, num_joints=4, num_features=32,
                                    input_shape=(64, 64, 3))
    norms = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert norms and all(isinstance(layer, FusedBatchNormalization) for layer in norms)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, compile=False, safe_mode=True)
    assert type(loaded.get_layer(norms[0].name)) is FusedBatchNormalization
    x = np.random.default_rng(0).random((1, 64, 64, 3), np.float32)
    np.testing.assert_allclose(np.asarray(loaded(x)[-1]), np.asarray(model(x)[-1]), atol=1e-6)
