"""Decoding image files into person regions: formats, channels, reduced-size JPEG decoding."""

import cv2
import numpy as np
import pytest
import tensorflow as tf

from hg_keras.benchmarks.pipeline_reference import projective_transform_warp
from hg_keras.data.images import (
    JPEG_CROP_ALIGNMENT_PX,
    MIN_PADDED_REGION_PIXELS,
    _padded_to_power_of_two,
    choose_reduction_ratio,
    decode_region,
    encoded_image_is_complete,
    warp_region,
)
from hg_keras.data.transforms import crop_matrix, warp_image


def _smooth_rgb(height, width):
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    red = 127 + 100 * np.sin(xs / 37.0)
    green = 127 + 100 * np.cos(ys / 23.0)
    blue = 127 + 100 * np.sin((xs + ys) / 51.0)
    return np.stack([red, green, blue], axis=-1).astype(np.uint8)


def _decode_whole(path):
    contents = tf.io.read_file(str(path))
    region, to_image = decode_region(contents, [30.0, 20.0], 1000.0, 1.0)
    return region.numpy(), to_image.numpy()


@pytest.mark.parametrize(
    "name, pixels, params",
    [
        ("gray.jpg", "gray", [cv2.IMWRITE_JPEG_QUALITY, 100]),
        (
            "progressive.jpg",
            "rgb",
            [cv2.IMWRITE_JPEG_PROGRESSIVE, 1, cv2.IMWRITE_JPEG_QUALITY, 100],
        ),
        ("rgb.png", "rgb", []),
        ("gray.png", "gray", []),
        ("rgba.png", "rgba", []),
        ("deep.png", "rgb16", []),
        ("rgb.bmp", "rgb", []),
    ],
)
def test_any_format_and_channel_count_decodes_to_rgb(tmp_path, name, pixels, params):
    rgb = _smooth_rgb(40, 60)
    gray = rgb[..., 1]
    written = {
        "gray": gray,
        "rgb": rgb[..., ::-1],
        "rgba": np.dstack([rgb[..., ::-1], np.full((40, 60), 128, np.uint8)]),
        "rgb16": rgb[..., ::-1].astype(np.uint16) * 257,
    }[pixels]
    path = tmp_path / name
    assert cv2.imwrite(str(path), written, params)
    region, to_image = _decode_whole(path)
    expected = np.repeat(gray[..., None], 3, axis=2) if pixels == "gray" else rgb
    if name.endswith(".jpg"):  # lossy: compare with OpenCV's decoding of the same file
        expected = cv2.imread(str(path), cv2.IMREAD_COLOR)[..., ::-1]
    assert region.shape == (40, 60, 3) and region.dtype == np.uint8
    np.testing.assert_allclose(to_image, np.eye(3))
    tolerance = 3 if name.endswith(".jpg") else 0  # lossless formats decode exactly
    assert np.abs(region.astype(int) - expected).max() <= tolerance


def test_region_is_clipped_to_the_image_and_mapped_back(tmp_path):
    rgb = _smooth_rgb(40, 60)
    path = tmp_path / "a.png"
    cv2.imwrite(str(path), rgb[..., ::-1])
    contents = tf.io.read_file(str(path))
    region, to_image = decode_region(contents, [55.0, 10.0], 4.0, 1.0)
    # x from floor(55 - 4) = 51 to the right border, y from floor(10 - 4) = 6 to ceil(14) + 1.
    assert region.shape == (9, 9, 3)
    np.testing.assert_allclose(to_image.numpy(), [[1, 0, 51], [0, 1, 6], [0, 0, 1]])
    np.testing.assert_array_equal(region.numpy(), rgb[6:15, 51:60])


def test_reduction_ratio_is_the_largest_that_keeps_the_crop_resolution():
    for max_zoom, expected in (
        (1.2, 1),
        (1.0, 1),
        (0.6, 1),
        (0.5, 2),
        (0.3, 2),
        (0.2, 4),
        (0.125, 8),
        (0.01, 8),
    ):
        assert int(choose_reduction_ratio(max_zoom)[1]) == expected, max_zoom


def test_reduced_jpeg_decode_gives_the_same_crop_as_full_decode(tmp_path):
    rgb = _smooth_rgb(720, 1280)
    cv2.circle(
        rgb, (700, 300), 12, (255, 255, 255), -1
    )  # a landmark 100 px right of centre
    path = tmp_path / "big.jpg"
    cv2.imwrite(str(path), rgb[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 95])
    contents = tf.io.read_file(str(path))
    center, scale = tf.constant([600.0, 300.0]), 3.0  # 600 px box into a 128 px crop
    image_to_crop = crop_matrix(center, scale, (128, 128), 20.0)
    crops = {}
    for allow_reduced in (False, True):
        region, to_image = decode_region(
            contents, center, 430.0, 128 / 600.0, allow_reduced
        )
        assert to_image[0, 0] == (4.0 if allow_reduced else 1.0)
        crops[allow_reduced] = warp_image(
            region, image_to_crop @ to_image, (128, 128)
        ).numpy()
    # Same geometry: the landmark is in the same place, the colours agree.
    for crop in crops.values():
        ys, xs = np.nonzero(crop.min(axis=2) > 240)
        landmark = crop_matrix(center, scale, (128, 128), 20.0).numpy() @ [
            700.0,
            300.0,
            1.0,
        ]
        np.testing.assert_allclose([xs.mean(), ys.mean()], landmark[:2], atol=0.5)
    assert np.abs(crops[True] - crops[False]).mean() < 2.0


def test_jpeg_region_starts_on_the_decoder_crop_alignment_and_keeps_its_pixels(tmp_path):
    rgb = _smooth_rgb(360, 640)
    path = tmp_path / "photo.jpg"
    cv2.imwrite(str(path), rgb[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 95])
    contents = tf.io.read_file(str(path))
    whole = tf.io.decode_jpeg(contents, channels=3, dct_method="INTEGER_ACCURATE").numpy()
    for center_x, max_zoom, ratio in ((333.0, 1.0, 1), (333.0, 0.5, 2), (100.0, 0.25, 4)):
        region, to_image = decode_region(contents, [center_x, 180.0], 60.0, max_zoom)
        left_px, top_px = float(to_image[0, 2]), float(to_image[1, 2])
        assert float(to_image[0, 0]) == ratio
        left = round((left_px - (ratio - 1) / 2) / ratio)  # in reduced pixels
        assert left % (JPEG_CROP_ALIGNMENT_PX // ratio) == 0
        assert left_px <= center_x - 60.0  # the region still holds the crop box
        if ratio == 1:  # the pixels are the whole image's, where to_image says
            top = round(top_px)
            part = whole[top : top + region.shape[0], left : left + region.shape[1]]
            levels = np.abs(region.numpy().astype(int) - part)
            assert levels.max() <= 2 and np.mean(levels > 0) < 0.02  # chroma at the cut


def test_truncated_and_foreign_files_are_recognised_before_decoding(tmp_path):
    rgb = _smooth_rgb(40, 60)
    jpeg = cv2.imencode(".jpg", rgb)[1].tobytes()
    png = cv2.imencode(".png", rgb)[1].tobytes()
    cases = {
        "jpeg": (jpeg, True),
        "jpeg with a trailer after the end marker": (jpeg + b"\0" * 100, True),
        "truncated jpeg": (jpeg[: len(jpeg) // 2], False),
        "png": (png, True),
        "truncated png": (png[:-20], False),
        "bmp": (cv2.imencode(".bmp", rgb)[1].tobytes(), True),
        "text": (b"<html>not found</html>", False),
        "empty": (b"", False),
    }
    for name, (contents, expected) in cases.items():
        assert bool(encoded_image_is_complete(tf.constant(contents))) == expected, name


def test_compiled_warp_matches_image_projective_transform_within_one_level():
    rng = np.random.default_rng(0)
    for _ in range(12):
        height, width = (int(v) for v in rng.integers(60, 300, 2))
        region = rng.integers(0, 256, (height, width, 3)).astype(np.uint8)
        theta = np.radians(rng.uniform(-45.0, 45.0))
        zoom, mirror = rng.uniform(0.8, 3.0), rng.choice([-1.0, 1.0])
        linear = zoom * np.array([[mirror * np.cos(theta), mirror * np.sin(theta)],
                                  [-np.sin(theta), np.cos(theta)]])
        # The region's centre (give or take 20 px) lands on the output's centre.
        centre = np.array([width, height]) / 2 + rng.uniform(-20, 20, 2)
        offset = np.array([36.0, 24.0]) - linear @ centre
        matrix = np.array([[*linear[0], offset[0]], [*linear[1], offset[1]], [0, 0, 1.0]])
        ours = warp_region(tf.constant(region), tf.constant(matrix, tf.float32), (48, 72))
        reference = projective_transform_warp(region, matrix, (48, 72)).numpy()
        assert ours.shape == (48, 72, 3)
        levels = np.round(ours.numpy() * 255) - np.round(reference * 255)
        assert np.abs(levels).max() <= 1
        assert np.mean(levels != 0) < 0.01
        assert np.mean(reference > 0) > 0.5  # most of the crop sees the region


def test_compiled_warp_fades_to_black_over_the_last_pixel_at_the_border():
    region = tf.fill((10, 10, 3), tf.constant(255, tf.uint8))
    half_pixel_right = np.array([[1.0, 0, 0.5], [0, 1.0, 0], [0, 0, 1.0]], np.float32)
    crop = warp_region(region, half_pixel_right, (4, 12)).numpy()[0, :, 0]
    # Output column c samples region column c - 0.5: half of column 9, half black beyond.
    np.testing.assert_allclose(crop[:10], [127 / 255] + [1.0] * 9, atol=1e-6)
    np.testing.assert_allclose(crop[10:], [127 / 255, 0.0], atol=1e-6)


def test_regions_are_padded_to_a_few_size_classes():
    lengths = {
        tuple(_padded_to_power_of_two(tf.zeros([count, 3], tf.uint8)).shape)
        for count in (1, 1000, 1024, 1025, 100_000, 131_072, 131_073, 921_600)
    }
    assert lengths == {(MIN_PADDED_REGION_PIXELS, 3), (2048, 3), (131_072, 3), (262_144, 3),
                       (1_048_576, 3)}
