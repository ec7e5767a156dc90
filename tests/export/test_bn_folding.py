"""BatchNorm folding: same outputs as the original model, no BatchNorm left."""

import keras
import numpy as np
import pytest
from keras import layers

from hg_keras import build_stacked_hourglass
from hg_keras.export.bn_folding import (
    ChannelAffine,
    ChannelShift,
    batch_norm_affine,
    fold_batch_norm,
    foldable_pairs,
    shift_through_relu_pairs,
)


def _randomise_batch_norms(model, rng):
    """Non-trivial BN statistics and affine parameters, as after training."""
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            c = layer.gamma.shape[0]
            layer.set_weights([
                rng.uniform(0.5, 1.5, c), rng.normal(0.0, 0.2, c),
                rng.normal(0.0, 0.2, c), rng.uniform(0.5, 1.5, c),
            ])


@pytest.fixture(scope="module")
def two_stack_model():
    keras.utils.set_random_seed(0)
    model = build_stacked_hourglass(num_stacks=2, num_joints=5, num_features=32,
                                    input_shape=(64, 64, 3))
    _randomise_batch_norms(model, np.random.default_rng(0))
    return model


@pytest.fixture(scope="module")
def folded(two_stack_model):
    return fold_batch_norm(two_stack_model)


def test_folded_model_matches_original_within_1e_4(two_stack_model, folded):
    images = np.random.default_rng(1).uniform(0, 1, (2, 64, 64, 3)).astype("float32")
    expected = two_stack_model(images, training=False)
    actual = folded(images)
    assert len(actual) == 2
    for want, got in zip(expected, actual):
        assert np.abs(np.asarray(want)).max() > 1.0  # outputs are not trivially small
        assert np.abs(np.asarray(got) - np.asarray(want)).max() <= 1e-4


def test_no_batch_norm_is_left_and_names_are_kept(two_stack_model, folded):
    kinds = [type(layer) for layer in folded.layers]
    assert layers.BatchNormalization not in kinds
    assert [layer.name for layer in folded.layers] == [
        layer.name for layer in two_stack_model.layers
    ]
    assert folded.output_names == ["stack_1", "stack_2"]


def test_conv_fed_batch_norms_are_folded_and_bn1_becomes_a_shift(two_stack_model, folded):
    pairs = foldable_pairs(two_stack_model)
    # 31 residuals (3 stem + 14 per stack) with bn2 and bn3 each, plus stem_bn and 2 head_bn.
    assert len(pairs) == 31 * 2 + 1 + 2
    assert pairs["stem_bn"] == "stem_conv"
    assert pairs["stem_res1_bn2"] == "stem_res1_conv1"
    assert pairs["stack2_hg_down3_res1_bn3"] == "stack2_hg_down3_res1_conv2"
    assert pairs["stack1_head_bn"] == "stack1_head_conv"
    assert "stem_res1_bn1" not in pairs  # reads the ReLU output, not a convolution
    assert "stack2_hg_skip1_res1_bn1" not in pairs  # reads the merge of stack 1
    shifts = [layer.name for layer in folded.layers if isinstance(layer, ChannelShift)]
    assert len(shifts) == 31
    assert all(name.endswith("_bn1") for name in shifts)
    assert not any(isinstance(layer, ChannelAffine) for layer in folded.layers)
    assert isinstance(folded.get_layer("stem_bn"), layers.Identity)


def test_bn1_scale_moves_into_conv1_input_channels(two_stack_model, folded):
    name = "stack1_hg_down2_res1"
    assert shift_through_relu_pairs(two_stack_model)[f"{name}_bn1"] == f"{name}_conv1"
    scale1, offset1 = batch_norm_affine(two_stack_model.get_layer(f"{name}_bn1"))
    scale2, offset2 = batch_norm_affine(two_stack_model.get_layer(f"{name}_bn2"))
    conv = two_stack_model.get_layer(f"{name}_conv1")
    (shift,) = folded.get_layer(f"{name}_bn1").get_weights()
    kernel, bias = folded.get_layer(f"{name}_conv1").get_weights()
    np.testing.assert_allclose(shift, offset1 / scale1, rtol=1e-6)
    expected = np.asarray(conv.kernel) * scale1[:, None] * scale2
    np.testing.assert_allclose(kernel, expected, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(bias, np.asarray(conv.bias) * scale2 + offset2, rtol=1e-5,
                               atol=1e-7)


def test_a_bn_with_a_non_positive_scale_stays_an_affine():
    keras.utils.set_random_seed(1)
    model = build_stacked_hourglass(num_stacks=1, num_joints=3, num_features=16,
                                    input_shape=(64, 64, 3))
    _randomise_batch_norms(model, np.random.default_rng(5))
    bn = model.get_layer("stack1_hg_skip1_res1_bn1")
    gamma = bn.gamma.numpy()
    gamma[[0, 3]] = [-0.7, 0.0]
    bn.gamma.assign(gamma)
    assert bn.name not in shift_through_relu_pairs(model)
    folded = fold_batch_norm(model)
    assert isinstance(folded.get_layer(bn.name), ChannelAffine)
    images = np.random.default_rng(6).uniform(0, 1, (2, 64, 64, 3)).astype("float32")
    np.testing.assert_allclose(np.asarray(folded(images)[-1]),
                               np.asarray(model(images, training=False)[-1]), atol=1e-4)


def test_folded_conv_weights_follow_the_bn_formula(two_stack_model, folded):
    conv = two_stack_model.get_layer("stem_conv")
    scale, offset = batch_norm_affine(two_stack_model.get_layer("stem_bn"))
    kernel, bias = folded.get_layer("stem_conv").get_weights()
    np.testing.assert_allclose(kernel, np.asarray(conv.kernel) * scale, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(bias, np.asarray(conv.bias) * scale + offset, rtol=1e-6,
                               atol=1e-7)


def test_bn_after_a_shared_or_unbiased_conv():
    inputs = keras.Input((8, 8, 3))
    shared = layers.Conv2D(4, 3, padding="same", name="shared")(inputs)
    kept = layers.BatchNormalization(name="kept_bn")(shared)
    unbiased = layers.Conv2D(4, 1, use_bias=False, name="unbiased")(inputs)
    folded_bn = layers.BatchNormalization(name="folded_bn")(unbiased)
    outputs = layers.Add()([kept, shared, folded_bn])
    model = keras.Model(inputs, outputs)
    _randomise_batch_norms(model, np.random.default_rng(2))

    assert foldable_pairs(model) == {"folded_bn": "unbiased"}
    folded = fold_batch_norm(model)
    assert isinstance(folded.get_layer("kept_bn"), ChannelAffine)
    assert folded.get_layer("unbiased").use_bias
    images = np.random.default_rng(3).uniform(0, 1, (2, 8, 8, 3)).astype("float32")
    np.testing.assert_allclose(folded(images), model(images, training=False), atol=1e-5)


def test_folded_model_round_trips_through_a_keras_file(folded, tmp_path):
    path = tmp_path / "folded.keras"
    folded.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    images = np.random.default_rng(4).uniform(0, 1, (1, 64, 64, 3)).astype("float32")
    np.testing.assert_array_equal(loaded(images)[-1], folded(images)[-1])
