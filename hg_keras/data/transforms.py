"""The one affine transform between image pixels and crop / heatmap pixels.

Coordinate convention (used by training, decoding, export and plotting alike):

* x points right, y points down, in pixels;
* pixel centres sit at integer coordinates, so pixel ``(i, j)`` of an image covers
  ``[i - 0.5, i + 0.5] x [j - 0.5, j + 0.5]`` and a grid of side ``N`` spans
  ``[-0.5, N - 0.5]`` with its centre at ``(N - 1) / 2``.

A person is described by a ``center`` (x, y) and a ``scale``: the crop box is a square of
side ``200 * scale`` image pixels around the centre (the MPII convention). The matrix ``M``
of ``crop_matrix(center, scale, output_size, rotation_deg, flip)`` maps an image point to
the output grid::

    p_out = T((W - 1) / 2, (H - 1) / 2) · F · S(W / (200 · scale)) · R(rotation) · T(-center) · p

with ``R(θ) = [[cos θ, sin θ], [-sin θ, cos θ]]`` (positive angles turn the content
counter-clockwise on screen), ``F = diag(-1, 1)`` when flipping and ``S`` the isotropic zoom.
Because the formula only depends on the output size, the matrix for a 64x64 heatmap and the
one for the 256x256 crop of the same sample describe the same box:
``x_hm = (x - cx) · 64 / (200 s) + 31.5`` (no rotation, no flip).

``M`` warps the image (``warp_image``) and maps the joints (``apply_matrix``); its inverse
maps decoded heatmap peaks back to the original image.
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

BOX_PIXELS_PER_SCALE = 200.0


def crop_matrix(center, scale, output_size, rotation_deg=0.0, flip=False):
    """Matrix mapping image pixels to an output grid (TF ops, graph-friendly).

    Args:
        center: (2,) float, box centre (x, y) in image pixels.
        scale: scalar float, box side / 200.
        output_size: (height, width) of the output grid, Python ints.
        rotation_deg: scalar float, rotation of the content in degrees.
        flip: scalar bool, mirror left-right inside the output grid.

    Returns:
        (3, 3) float32 tensor ``M`` with ``p_out = M @ [x, y, 1]``.

    Example:
        >>> m = crop_matrix([100.0, 50.0], 1.0, (64, 64))
        >>> apply_matrix(m, [[100.0, 50.0]]).numpy()   # the centre lands in the middle
        array([[31.5, 31.5]], dtype=float32)
    """
    height, width = output_size
    center = tf.cast(tf.convert_to_tensor(center), tf.float32)
    scale = tf.cast(scale, tf.float32)
    theta = tf.cast(rotation_deg, tf.float32) * (math.pi / 180.0)
    zoom = float(width) / (BOX_PIXELS_PER_SCALE * scale)
    mirror = tf.where(tf.cast(flip, tf.bool), -1.0, 1.0)
    cos, sin = tf.cos(theta) * zoom, tf.sin(theta) * zoom
    # Rows of F·S·R: the first row is negated when flipping.
    a00, a01 = mirror * cos, mirror * sin
    a10, a11 = -sin, cos
    tx = (width - 1) / 2.0 - (a00 * center[0] + a01 * center[1])
    ty = (height - 1) / 2.0 - (a10 * center[0] + a11 * center[1])
    zero, one = tf.zeros_like(cos), tf.ones_like(cos)
    return tf.reshape(tf.stack([a00, a01, tx, a10, a11, ty, zero, zero, one]), (3, 3))


def crop_matrix_np(
    center, scale, output_size, rotation_deg=0.0, flip=False
) -> np.ndarray:
    """NumPy twin of ``crop_matrix`` for analysis code: returns a (3, 3) float64 array."""
    return (
        crop_matrix(center, scale, output_size, rotation_deg, flip)
        .numpy()
        .astype(np.float64)
    )


def rescale_matrix(from_size, to_size):
    """Matrix mapping one grid onto another covering the same area (e.g. crop → heatmap).

    With pixel centres at integers, ``x_to = (x_from + 0.5) · to / from - 0.5``.

    Args:
        from_size: (height, width) of the source grid.
        to_size: (height, width) of the target grid.
    """
    sy = to_size[0] / from_size[0]
    sx = to_size[1] / from_size[1]
    return tf.constant(
        [[sx, 0.0, 0.5 * sx - 0.5], [0.0, sy, 0.5 * sy - 0.5], [0.0, 0.0, 1.0]],
        tf.float32,
    )


def apply_matrix(matrix, points_xy):
    """Map (..., 2) points through a (3, 3) matrix (or a batch (N, 3, 3) with (N, K, 2) points).

    Works on TF tensors and NumPy arrays alike and returns a TF tensor.
    """
    matrix = tf.cast(tf.convert_to_tensor(matrix), tf.float32)
    points_xy = tf.cast(tf.convert_to_tensor(points_xy), tf.float32)
    linear = matrix[..., :2, :2]
    offset = matrix[..., :2, 2]
    if matrix.shape.rank == 3:
        return tf.einsum("nij,nkj->nki", linear, points_xy) + offset[:, None, :]
    return tf.einsum("ij,...j->...i", linear, points_xy) + offset


def apply_matrix_np(matrix, points_xy) -> np.ndarray:
    """NumPy version of ``apply_matrix``: (3, 3) or (N, 3, 3) with (..., 2) / (N, K, 2)."""
    matrix = np.asarray(matrix, dtype=np.float64)
    points_xy = np.asarray(points_xy, dtype=np.float64)
    if matrix.ndim == 3:
        return (
            np.einsum("nij,nkj->nki", matrix[:, :2, :2], points_xy)
            + matrix[:, None, :2, 2]
        )
    return points_xy @ matrix[:2, :2].T + matrix[:2, 2]


def warp_image(image, matrix, output_size, fill_value=0.0, dtype=tf.float32):
    """Warp an image with the image→output ``matrix`` (bilinear, constant fill).

    Args:
        image: (H, W, C) tensor.
        matrix: (3, 3) image→output matrix from ``crop_matrix``.
        output_size: (height, width) of the result.
        fill_value: value outside the image.
        dtype: the image is warped in this dtype (``tf.uint8``: interpolated values are cut
            to whole levels).

    Returns:
        (height, width, C) tensor of ``dtype``.

    Example:
        >>> image = tf.ones((8, 8, 3))
        >>> warp_image(image, crop_matrix([3.5, 3.5], 0.04, (4, 4)), (4, 4)).shape.as_list()
        [4, 4, 3]
    """
    inverse = tf.linalg.inv(tf.cast(matrix, tf.float32))
    inverse = inverse / inverse[2, 2]
    transform = tf.reshape(inverse, (9,))[:8][None, :]
    warped = tf.raw_ops.ImageProjectiveTransformV3(
        images=tf.cast(image, dtype)[None],
        transforms=transform,
        output_shape=tf.constant(output_size, tf.int32),
        fill_value=tf.cast(fill_value, tf.float32),
        interpolation="BILINEAR",
        fill_mode="CONSTANT",
    )
    return warped[0]
