"""Gaussian heatmap targets: exact values, missing joints, vectorisation."""

import math

import numpy as np

from hg_keras.data.heatmaps import gaussian_heatmaps


def test_peak_is_one_and_value_one_pixel_away_is_exp_minus_half():
    hm = gaussian_heatmaps([[3.0, 2.0]], [True], (5, 7), sigma_px=1.0).numpy()
    assert hm.shape == (5, 7, 1)
    assert hm[2, 3, 0] == 1.0
    for y, x in ((2, 4), (2, 2), (1, 3), (3, 3)):
        np.testing.assert_allclose(hm[y, x, 0], math.exp(-0.5), rtol=1e-6)
    np.testing.assert_allclose(hm[1, 2, 0], math.exp(-1.0), rtol=1e-6)
    assert hm.max() == 1.0


def test_sigma_sets_the_width():
    hm = gaussian_heatmaps([[8.0, 8.0]], [True], (16, 16), sigma_px=2.0).numpy()[..., 0]
    np.testing.assert_allclose(hm[8, 10], math.exp(-0.5), rtol=1e-6)
    np.testing.assert_allclose(hm[12, 8], math.exp(-2.0), rtol=1e-6)


def test_sub_pixel_centre_shifts_the_gaussian():
    hm = gaussian_heatmaps([[3.25, 1.5]], [True], (4, 6), sigma_px=1.0).numpy()[..., 0]
    np.testing.assert_allclose(hm[1, 3], math.exp(-0.5 * (0.25**2 + 0.5**2)), rtol=1e-6)
    np.testing.assert_allclose(hm[2, 4], math.exp(-0.5 * (0.75**2 + 0.5**2)), rtol=1e-6)
    # The two rows either side of y = 1.5 are equally bright.
    np.testing.assert_allclose(hm[1], hm[2], rtol=1e-6)


def test_missing_joints_get_all_zero_maps_even_with_nan_coordinates():
    joints = [[1.0, 1.0], [np.nan, np.nan], [2.0, 3.0]]
    hm = gaussian_heatmaps(joints, [True, False, False], (4, 4), sigma_px=1.0).numpy()
    assert np.isfinite(hm).all()
    assert hm[..., 0].max() == 1.0
    assert not hm[..., 1].any()
    assert not hm[..., 2].any()


def test_matches_a_per_joint_loop_for_many_joints():
    rng = np.random.default_rng(0)
    joints = rng.uniform(-2, 34, size=(16, 2))
    valid = rng.random(16) > 0.3
    hm = gaussian_heatmaps(joints, valid, (32, 24), sigma_px=1.5).numpy()
    ys, xs = np.mgrid[0:32, 0:24]
    for k in range(16):
        expected = np.exp(
            -((xs - joints[k, 0]) ** 2 + (ys - joints[k, 1]) ** 2) / (2 * 1.5**2)
        )
        np.testing.assert_allclose(hm[..., k], expected * valid[k], atol=1e-6)


def test_a_batch_gives_the_same_maps_as_one_sample_at_a_time():
    rng = np.random.default_rng(1)
    joints = rng.uniform(0, 16, size=(3, 5, 2))
    valid = rng.random((3, 5)) > 0.3
    batched = gaussian_heatmaps(joints, valid, (16, 12), sigma_px=1.0).numpy()
    assert batched.shape == (3, 16, 12, 5)
    for n in range(3):
        single = gaussian_heatmaps(joints[n], valid[n], (16, 12), sigma_px=1.0).numpy()
        np.testing.assert_allclose(batched[n], single, atol=1e-7)
