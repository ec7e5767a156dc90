"""The crop matrix: known points, inverse round trip, flips (hg_keras.data.transforms)."""

import numpy as np
import tensorflow as tf

from hg_keras.data.transforms import (
    apply_matrix,
    crop_matrix,
    crop_matrix_np,
    warp_image,
)


def test_known_point_lands_where_expected_after_scale_rotation_and_flip():
    center, scale = (100.0, 50.0), 1.0  # 200 px box -> 0.32 heatmap px per image px
    point = [[150.0, 50.0]]  # 50 px right of the centre
    plain = apply_matrix(crop_matrix(center, scale, (64, 64)), point).numpy()
    np.testing.assert_allclose(plain, [[31.5 + 16.0, 31.5]], atol=1e-5)
    # +90 degrees turns the content counter-clockwise: right of the centre goes up.
    rotated = apply_matrix(crop_matrix(center, scale, (64, 64), 90.0), point).numpy()
    np.testing.assert_allclose(rotated, [[31.5, 31.5 - 16.0]], atol=1e-5)
    flipped = apply_matrix(
        crop_matrix(center, scale, (64, 64), 0.0, True), point
    ).numpy()
    np.testing.assert_allclose(flipped, [[31.5 - 16.0, 31.5]], atol=1e-5)
    zoomed = apply_matrix(crop_matrix(center, 0.5, (64, 64)), point).numpy()
    np.testing.assert_allclose(zoomed, [[31.5 + 32.0, 31.5]], atol=1e-5)


def test_matrix_and_its_inverse_round_trip_points_to_1e_4_px():
    rng = np.random.default_rng(0)
    for _ in range(20):
        center = rng.uniform(0, 1280, size=2)
        scale = rng.uniform(0.3, 6.0)
        matrix = crop_matrix_np(
            center, scale, (64, 64), rng.uniform(-30, 30), rng.random() > 0.5
        )
        points = rng.uniform(0, 1280, size=(16, 2))
        on_grid = points @ matrix[:2, :2].T + matrix[:2, 2]
        inverse = np.linalg.inv(matrix)
        back = on_grid @ inverse[:2, :2].T + inverse[:2, 2]
        np.testing.assert_allclose(back, points, atol=1e-4)


def test_flipping_twice_is_the_identity():
    center, scale, rotation = (60.0, 40.0), 0.4, 17.0
    plain = crop_matrix_np(center, scale, (32, 32), rotation)
    flipped = crop_matrix_np(center, scale, (32, 32), rotation, True)
    mirror = flipped @ np.linalg.inv(plain)  # the flip as a map of the output grid
    np.testing.assert_allclose(mirror, [[-1, 0, 31], [0, 1, 0], [0, 0, 1]], atol=1e-5)
    np.testing.assert_allclose(mirror @ mirror, np.eye(3), atol=1e-5)
    image = tf.random.stateless_uniform((80, 120, 3), seed=(1, 2))
    warped = warp_image(image, plain, (32, 32)).numpy()
    warped_flipped = warp_image(image, flipped, (32, 32)).numpy()
    np.testing.assert_allclose(warped_flipped[:, ::-1], warped, atol=1e-4)


def test_warp_moves_a_bright_pixel_where_the_matrix_maps_it():
    image = np.zeros((100, 150, 1), np.float32)
    image[30, 110] = 1.0  # (x, y) = (110, 30)
    matrix = crop_matrix_np((75.5, 50.5), 0.5, (100, 100))  # zoom 1, whole-pixel shift
    expected = apply_matrix(matrix, [[110.0, 30.0]]).numpy()[0]
    warped = warp_image(image, matrix, (100, 100)).numpy()[..., 0]
    y, x = np.unravel_index(np.argmax(warped), warped.shape)
    np.testing.assert_allclose([x, y], expected, atol=1e-4)
    assert warped[y, x] == 1.0
