"""Gaussian heatmap targets (paper section 3.4)."""

from __future__ import annotations

import tensorflow as tf


def gaussian_heatmaps(joints_xy, valid, size, sigma_px=1.0):
    """One 2D Gaussian per joint, peak 1, centred on the joint's sub-pixel location.

    The Gaussian is separable, so the (H, W, K) maps are products of a (H, K) and a (W, K)
    profile, broadcast against each other in one multiplication: no loop over joints and no
    transpose. Joints that are not ``valid`` (not annotated, or outside the grid) get an
    all-zero map. Pixel centres sit at integer coordinates (``hg_keras.data.transforms``).

    Args:
        joints_xy: (K, 2) float, joint positions (x, y) in heatmap pixels; leading batch
            dimensions (..., K, 2) are allowed.
        valid: (K,) bool (or (..., K)), which joints get a Gaussian.
        size: (height, width) of the heatmaps, Python ints.
        sigma_px: standard deviation in heatmap pixels (scalar float or tensor).

    Returns:
        (height, width, K) float32 tensor ((..., height, width, K) for batched input).

    Example:
        >>> hm = gaussian_heatmaps([[3.0, 2.0]], [True], (5, 6), sigma_px=1.0)
        >>> float(hm[2, 3, 0]), round(float(hm[2, 4, 0]), 4)   # peak, 1 px to the right
        (1.0, 0.6065)
    """
    height, width = size
    joints_xy = tf.cast(tf.convert_to_tensor(joints_xy), tf.float32)
    valid = tf.cast(tf.convert_to_tensor(valid), tf.bool)
    # Missing joints may carry NaN coordinates; keep them out of the arithmetic.
    joints_xy = tf.where(valid[..., None], joints_xy, tf.zeros_like(joints_xy))
    inv_two_var = 0.5 / tf.square(tf.cast(sigma_px, tf.float32))
    xs = tf.range(width, dtype=tf.float32)[:, None]
    ys = tf.range(height, dtype=tf.float32)[:, None]
    # (..., W, K) and (..., H, K) profiles; the product broadcasts to (..., H, W, K).
    profile_x = tf.exp(-tf.square(xs - joints_xy[..., None, :, 0]) * inv_two_var)
    profile_y = tf.exp(-tf.square(ys - joints_xy[..., None, :, 1]) * inv_two_var)
    profile_y = profile_y * tf.cast(valid, tf.float32)[..., None, :]
    return profile_y[..., :, None, :] * profile_x[..., None, :, :]
