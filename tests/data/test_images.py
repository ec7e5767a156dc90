"""Decoding image files into person regions: formats, channels, reduced-size JPEG decoding."""

import cv2
import numpy as np
import pytest
import tensorflow as tf

from hg_keras.data.images import (
    choose_reduction_ratio,
    decode_region,
    encoded_image_is_complete,
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
