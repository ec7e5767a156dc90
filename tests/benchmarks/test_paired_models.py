"""The Keras model and the PyTorch reference get identical weights for the comparisons."""

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the PyTorch reference needs torch")

from hg_keras.benchmarks.paired_models import (
    calibration_images,
    estimate_batch_norm_statistics,
    paired_models,
    reference_posenet,
)


def test_keras_model_agrees_with_the_float64_reference_as_well_as_the_reference_itself():
    """Both networks compute the same function with the same weights.

    The calibrated BatchNorm statistics include channels of tiny variance that magnify float32
    rounding, so the float32 reference itself is off its float64 run by ~1e-4 of the heatmaps'
    range; the Keras model must be no further from the float64 truth than that.
    """
    model, net = paired_models(num_stacks=2, num_features=16, num_joints=4, input_size=64)
    images = calibration_images(2, 64, seed=5)
    ours = [np.asarray(o) for o in model(images, training=False)]
    with torch.no_grad():
        theirs = net(torch.from_numpy(images)).numpy()  # (N, stacks, K, H, W)
        truth = net.double()(torch.from_numpy(images).double()).numpy()
    assert theirs.shape == (2, 2, 4, 16, 16)
    for stack in range(2):
        expected = truth[:, stack].transpose(0, 2, 3, 1)
        scale = np.abs(expected).max()
        reference_error = np.abs(theirs[:, stack].transpose(0, 2, 3, 1) - expected).max()
        our_error = np.abs(ours[stack] - expected).max()
        assert our_error <= max(2 * reference_error, 1e-6 * scale)
        assert our_error <= 1e-3 * scale


def test_batch_norm_statistics_become_those_of_the_calibration_batch():
    net = reference_posenet(num_stacks=1, num_features=16, num_joints=4)
    images = calibration_images(3, 64, seed=1)
    estimate_batch_norm_statistics(net, images)
    stem_conv, stem_bn = net.pre[0].conv, net.pre[0].bn
    with torch.no_grad():
        features = stem_conv(torch.from_numpy(images).permute(0, 3, 1, 2))
    np.testing.assert_allclose(stem_bn.running_mean.numpy(),
                               features.mean(dim=(0, 2, 3)).numpy(), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(stem_bn.running_var.numpy(),
                               features.var(dim=(0, 2, 3), unbiased=True).numpy(),
                               rtol=1e-4, atol=1e-6)
    assert not net.training
    assert stem_bn.momentum == 0.1  # restored after the calibration pass


def test_calibration_images_are_seeded_rgb_in_the_unit_range():
    images = calibration_images(2, 32, seed=3)
    assert images.shape == (2, 32, 32, 3)
    assert images.dtype == np.float32
    assert images.min() >= 0.0 and images.max() <= 1.0
    np.testing.assert_array_equal(images, calibration_images(2, 32, seed=3))
    assert not np.array_equal(images, calibration_images(2, 32, seed=4))
