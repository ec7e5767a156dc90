"""Decoding: argmax, quarter-pixel offset, flip test, inverse crop transform."""

import numpy as np
import pytest
import tensorflow as tf

from hg_keras.data.transforms import crop_matrix_np
from hg_keras.datasets.records import MPII_INFO
from hg_keras.evaluation.decode import (
    average_with_flipped,
    flip_back,
    heatmap_peaks,
    heatmap_peaks_np,
    to_image_coords,
)

R_WRIST, L_WRIST = 10, 15


def gaussian_heatmap(x, y, size=64, sigma=1.0):
    """(size, size) Gaussian with its peak at (x, y), pixel centres at integers."""
    grid = np.arange(size, dtype=np.float64)
    return np.exp(
        -((grid[None, :] - x) ** 2 + (grid[:, None] - y) ** 2) / (2 * sigma**2)
    ).astype(np.float32)


def both(heatmaps):
    """Peaks from the TF and the NumPy implementation."""
    coords_tf, scores_tf = heatmap_peaks(heatmaps)
    coords_np, scores_np = heatmap_peaks_np(heatmaps)
    return (coords_tf.numpy(), scores_tf.numpy()), (coords_np, scores_np)


def test_peak_moves_a_quarter_pixel_toward_higher_neighbour_in_x_and_y():
    h = np.zeros((1, 8, 8, 1), np.float32)
    h[0, 3, 5, 0] = 1.0  # peak at x = 5, y = 3
    h[0, 3, 4, 0] = 0.6  # left neighbour higher than right (0)
    h[0, 4, 5, 0] = 0.3  # lower neighbour (y + 1) higher than upper (0)
    for coords, scores in both(h):
        np.testing.assert_array_equal(coords[0, 0], [4.75, 3.25])
        assert scores[0, 0] == 1.0


def test_peak_on_the_border_is_not_moved():
    h = np.zeros((1, 8, 8, 2), np.float32)
    h[0, 0, 4, 0], h[0, 1, 4, 0], h[0, 0, 5, 0] = 1.0, 0.5, 0.5  # top row
    h[0, 4, 7, 1], h[0, 4, 6, 1], h[0, 5, 7, 1] = 1.0, 0.5, 0.5  # right column
    for coords, _ in both(h):
        np.testing.assert_array_equal(coords[0], [[4.0, 0.0], [7.0, 4.0]])


def test_equal_neighbours_leave_the_peak_on_the_pixel():
    h = np.zeros((1, 8, 8, 1), np.float32)
    h[0, 2:5, 2:5, 0] = 0.5
    h[0, 3, 3, 0] = 1.0
    for coords, _ in both(h):
        np.testing.assert_array_equal(coords[0, 0], [3.0, 3.0])


def test_gaussian_with_known_subpixel_peak_decodes_within_a_quarter_pixel():
    # True peak (20.3, 40.8): argmax (20, 41); right neighbour higher -> x 20.25;
    # upper neighbour (y = 40) higher than lower (y = 42) -> y 40.75.
    h = gaussian_heatmap(20.3, 40.8)[None, :, :, None]
    for coords, scores in both(h):
        np.testing.assert_allclose(coords[0, 0], [20.25, 40.75])
        assert scores[0, 0] == pytest.approx(h[0, 41, 20, 0])


def test_tf_and_numpy_peaks_agree_on_random_heatmaps():
    rng = np.random.default_rng(0)
    h = rng.random((3, 16, 12, 5)).astype(np.float32)
    (coords_tf, scores_tf), (coords_np, scores_np) = both(h)
    np.testing.assert_array_equal(coords_tf, coords_np)
    np.testing.assert_array_equal(scores_tf, scores_np)


def test_heatmap_peaks_runs_in_a_graph_with_unknown_batch_and_size():
    fn = tf.function(
        heatmap_peaks, input_signature=[tf.TensorSpec((None, None, None, 2), tf.float32)]
    )
    h = np.zeros((2, 6, 6, 2), np.float32)
    h[1, 2, 3, 1], h[1, 2, 4, 1] = 1.0, 0.5
    coords, scores = fn(h)
    np.testing.assert_array_equal(coords.numpy()[1, 1], [3.25, 2.0])
    np.testing.assert_array_equal(scores.numpy()[:, 1], [0.0, 1.0])


def test_joint_decodes_back_to_its_image_position_through_the_inverse_crop():
    center, scale = np.array([300.0, 200.0]), 1.5  # box 300 px -> 4.6875 image px per heatmap px
    joint_xy = np.array([[250.0, 260.0]])
    to_heatmap = crop_matrix_np(center, scale, (64, 64))
    x_hm, y_hm = joint_xy[0] @ to_heatmap[:2, :2].T + to_heatmap[:2, 2]
    expected_hm = ((250 - 300) * 64 / 300 + 31.5, (260 - 200) * 64 / 300 + 31.5)
    assert (x_hm, y_hm) == pytest.approx(expected_hm)
    h = gaussian_heatmap(x_hm, y_hm)[None, :, :, None]
    coords_hm, _ = heatmap_peaks_np(h)
    from_heatmap = np.linalg.inv(to_heatmap)[None]
    decoded = to_image_coords(coords_hm.astype(np.float64), from_heatmap)
    expected = center + (coords_hm[0, 0] - 31.5) * 300 / 64
    np.testing.assert_allclose(decoded[0, 0], expected, atol=1e-3)
    # The quarter offset bounds the error by a quarter heatmap pixel per axis.
    assert np.all(np.abs(decoded[0, 0] - joint_xy[0]) <= 0.25 * 300 / 64 + 1e-3)
    decoded_tf = to_image_coords(tf.constant(coords_hm), tf.constant(from_heatmap, tf.float32))
    np.testing.assert_allclose(decoded_tf.numpy(), decoded, atol=1e-3)


def test_flip_back_mirrors_width_and_swaps_left_and_right_wrists():
    h = np.zeros((1, 8, 8, 16), np.float32)
    h[0, 2, 1, R_WRIST] = 1.0  # right wrist at x = 1 in the mirrored crop
    for out in (flip_back(h, MPII_INFO.flip_permutation),
                flip_back(tf.constant(h), MPII_INFO.flip_permutation).numpy()):
        assert out[0, 2, 6, L_WRIST] == 1.0  # becomes the left wrist at x = 8 - 1 - 1
        assert out.sum() == 1.0


def test_flip_back_returns_numpy_for_numpy_and_tensor_for_tensor():
    h = np.zeros((1, 4, 4, 2), np.float32)
    assert isinstance(flip_back(h, [1, 0]), np.ndarray)
    assert isinstance(flip_back(tf.constant(h), [1, 0]), tf.Tensor)


def test_average_with_flipped_averages_the_crop_and_the_mirrored_crop():
    h = np.zeros((1, 8, 8, 2), np.float32)
    h[0, 3, 2, 0] = 1.0
    h_of_flipped = np.zeros_like(h)
    h_of_flipped[0, 3, 5, 1] = 0.5  # joint 1 at x = 5 mirrored is joint 0 at x = 2
    h_of_flipped[0, 0, 0, 0] = 0.25  # joint 0 at x = 0 mirrored is joint 1 at x = 7
    for out in (average_with_flipped(h, h_of_flipped, [1, 0]),
                average_with_flipped(tf.constant(h), tf.constant(h_of_flipped), [1, 0]).numpy()):
        assert out[0, 3, 2, 0] == 0.75
        assert out[0, 0, 7, 1] == 0.125
        assert out.sum() == pytest.approx(0.875)
