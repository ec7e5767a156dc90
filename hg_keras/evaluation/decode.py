"""Heatmaps -> joint coordinates: argmax, quarter-pixel offset, flip test, inverse crop.

Coordinate convention (``hg_keras.data.transforms``): x right, y down, pixel centres at
integers. Heatmap pixel ``(col, row)`` therefore *is* the point ``(x, y) = (col, row)`` in
heatmap coordinates, and the crop matrix maps image pixels to heatmap pixels with
``x_hm = (x - cx) * 64 / (200 s) + 31.5``. The reference code works 1-based with pixel
centres at half-integers and so adds 0.5 to the argmax before mapping back; under this
convention that correction is already part of the matrix and nothing is added.

Decoding one heatmap (the reference's rule, 0-based):

1. ``(px, py)`` = position of the maximum; the score is the value there.
2. If the peak is not on the border (``0 < px < W - 1`` and ``0 < py < H - 1``), move it by
   ``0.25 * sign(h[py, px + 1] - h[py, px - 1])`` in x and
   ``0.25 * sign(h[py + 1, px] - h[py - 1, px])`` in y (a quarter pixel toward the higher
   neighbour; no move on a tie).
3. Map back to the original image with the inverse of the crop matrix (``to_image_coords``).

The score of a joint is the heatmap value at the argmax. Peaks are always returned, even
when the maximum is not positive (pytorch-pose zeroes those coordinates); filter on the
score where that matters.

Flip test: the heatmaps of the mirrored crop are mirrored back along W and their left/right
channels swapped (``flip_back``), then averaged with the heatmaps of the crop
(``average_with_flipped``). Every function comes as a batched TF op (graph-safe, usable
inside an exported model) and as a NumPy twin for analysis; tests check they agree.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from hg_keras.data.transforms import apply_matrix, apply_matrix_np

QUARTER_OFFSET_PX = 0.25


def heatmap_peaks(heatmaps):
    """Per-joint peak of a batch of heatmaps with the quarter-pixel offset (TF, graph-safe).

    Args:
        heatmaps: (N, H, W, K) float tensor.

    Returns:
        coords: (N, K, 2) float32, peak (x, y) in heatmap pixels (pixel centres at integers).
        scores: (N, K) float32, heatmap value at the argmax.

    Example:
        >>> h = np.zeros((1, 64, 64, 1), np.float32); h[0, 10, 20, 0] = 1.0
        >>> h[0, 10, 21, 0] = 0.5                     # right neighbour higher
        >>> coords, scores = heatmap_peaks(h)
        >>> coords.numpy()[0, 0], scores.numpy()[0, 0]
        (array([20.25, 10.  ], dtype=float32), 1.0)
    """
    heatmaps = tf.cast(tf.convert_to_tensor(heatmaps), tf.float32)
    shape = tf.shape(heatmaps)
    n, height, width, k = shape[0], shape[1], shape[2], shape[3]
    # (N, K, H*W) so that argmax runs over the spatial positions of each joint.
    flat = tf.reshape(tf.transpose(heatmaps, (0, 3, 1, 2)), (n, k, height * width))
    index = tf.argmax(flat, axis=-1, output_type=tf.int32)
    scores = tf.reduce_max(flat, axis=-1)
    px = index % width
    py = index // width

    def value_at(dx, dy):
        # Clipped so that gathers at the border stay in range; border peaks are masked below.
        x = tf.clip_by_value(px + dx, 0, width - 1)
        y = tf.clip_by_value(py + dy, 0, height - 1)
        return tf.gather(flat, y * width + x, axis=2, batch_dims=2)

    inside = (px > 0) & (px < width - 1) & (py > 0) & (py < height - 1)
    step_x = tf.sign(value_at(1, 0) - value_at(-1, 0)) * QUARTER_OFFSET_PX
    step_y = tf.sign(value_at(0, 1) - value_at(0, -1)) * QUARTER_OFFSET_PX
    step = tf.where(inside[..., None], tf.stack([step_x, step_y], axis=-1), 0.0)
    coords = tf.cast(tf.stack([px, py], axis=-1), tf.float32) + step
    return coords, scores


def heatmap_peaks_np(heatmaps):
    """NumPy twin of ``heatmap_peaks``.

    Args:
        heatmaps: (N, H, W, K) float array.

    Returns:
        coords: (N, K, 2) float32, peak (x, y) in heatmap pixels with the quarter offset.
        scores: (N, K) float32, heatmap value at the argmax.

    Example:
        >>> coords, scores = heatmap_peaks_np(np.random.rand(2, 64, 64, 16))
        >>> coords.shape, scores.shape
        ((2, 16, 2), (2, 16))
    """
    heatmaps = np.asarray(heatmaps, dtype=np.float32)
    n, height, width, k = heatmaps.shape
    flat = heatmaps.transpose(0, 3, 1, 2).reshape(n, k, height * width)
    index = flat.argmax(axis=-1)
    scores = np.take_along_axis(flat, index[..., None], axis=-1)[..., 0]
    px, py = index % width, index // width
    coords = np.stack([px, py], axis=-1).astype(np.float32)
    inside = (px > 0) & (px < width - 1) & (py > 0) & (py < height - 1)
    for b, j in zip(*np.nonzero(inside)):
        x, y = px[b, j], py[b, j]
        h = heatmaps[b, :, :, j]
        coords[b, j, 0] += QUARTER_OFFSET_PX * np.sign(h[y, x + 1] - h[y, x - 1])
        coords[b, j, 1] += QUARTER_OFFSET_PX * np.sign(h[y + 1, x] - h[y - 1, x])
    return coords, scores.astype(np.float32)


def flip_back(heatmaps, flip_permutation):
    """Mirror heatmaps of a flipped input back along W and swap left/right channels.

    Accepts a TF tensor (returns a tensor, graph-safe) or a NumPy array (returns an array).

    Args:
        heatmaps: (N, H, W, K) heatmaps predicted for the mirrored crop.
        flip_permutation: K ints, the index of each joint's mirror joint.

    Returns:
        (N, H, W, K) heatmaps in the frame and joint order of the unflipped crop.

    Example:
        >>> h = np.zeros((1, 4, 4, 2)); h[0, 1, 0, 0] = 1.0   # joint 0 at x = 0
        >>> np.argwhere(flip_back(h, [1, 0]))                 # joint 1 at x = 3
        array([[0, 1, 3, 1]])
    """
    permutation = [int(i) for i in flip_permutation]
    if isinstance(heatmaps, np.ndarray):
        return heatmaps[:, :, ::-1, :][..., permutation]
    heatmaps = tf.convert_to_tensor(heatmaps)
    return tf.gather(tf.reverse(heatmaps, axis=[2]), permutation, axis=3)


def average_with_flipped(heatmaps, heatmaps_of_flipped_input, flip_permutation):
    """Flip-test average ``(h + flip_back(h_flipped)) / 2`` (TF or NumPy, like ``flip_back``).

    Args:
        heatmaps: (N, H, W, K) heatmaps of the crop.
        heatmaps_of_flipped_input: (N, H, W, K) heatmaps of the mirrored crop.
        flip_permutation: K ints, the index of each joint's mirror joint.

    Returns:
        (N, H, W, K) averaged heatmaps, same type as ``heatmaps``.

    Example:
        >>> h = model(images)[-1]; h_f = model(images[:, :, ::-1])[-1]
        >>> averaged = average_with_flipped(h, h_f, MPII_INFO.flip_permutation)
    """
    if isinstance(heatmaps, np.ndarray):
        flipped = flip_back(np.asarray(heatmaps_of_flipped_input), flip_permutation)
        return (heatmaps + flipped) / 2
    flipped = flip_back(tf.convert_to_tensor(heatmaps_of_flipped_input), flip_permutation)
    return (tf.convert_to_tensor(heatmaps) + tf.cast(flipped, heatmaps.dtype)) / 2


def to_image_coords(coords_hm, from_heatmap):
    """Map heatmap-pixel coordinates back to original image pixels.

    Accepts TF tensors (returns a float32 tensor, graph-safe) or NumPy arrays (returns a
    float64 array).

    Args:
        coords_hm: (N, K, 2) points (x, y) in heatmap pixels.
        from_heatmap: (N, 3, 3) heatmap -> image matrices (inverse of the crop matrix built
            with the heatmap size), or one (3, 3) matrix for every sample.

    Returns:
        (N, K, 2) points (x, y) in original image pixels.

    Example:
        >>> m = crop_matrix_np([100.0, 50.0], 1.0, (64, 64))
        >>> to_image_coords(np.array([[[31.5, 31.5]]]), np.linalg.inv(m)[None])
        array([[[100.,  50.]]])
    """
    if isinstance(coords_hm, np.ndarray) and isinstance(from_heatmap, np.ndarray):
        return apply_matrix_np(from_heatmap, coords_hm)
    return apply_matrix(from_heatmap, coords_hm)
