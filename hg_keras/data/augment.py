"""Per-sample training augmentation parameters, drawn with stateless (seeded) TF ops."""

from __future__ import annotations

import tensorflow as tf


def sample_augmentation(seed, config):
    """Draw one sample's rotation, scale factor, flip and colour gains.

    Rotation is uniform in ``[-config.rotation_deg, config.rotation_deg]`` (applied with
    probability ``config.rotation_prob``, otherwise 0), the scale factor uniform in
    ``config.scale_range``, the flip a coin with probability ``config.flip_prob`` and the
    per-channel gains uniform in ``[1 - config.color_jitter, 1 + config.color_jitter]``.
    The same ``seed`` always gives the same parameters.

    Args:
        seed: (2,) int64 or int32 tensor, the stateless random seed of this sample.
        config: ``PipelineConfig``.

    Returns:
        dict with ``rotation_deg`` (float32 scalar), ``scale_factor`` (float32 scalar),
        ``flip`` (bool scalar) and ``color_gains`` (float32 (3,)).

    Example:
        >>> from hg_keras.data import PipelineConfig
        >>> params = sample_augmentation(tf.constant([1, 2], tf.int64), PipelineConfig())
        >>> -30.0 <= float(params["rotation_deg"]) <= 30.0
        True
    """
    uniform = tf.random.stateless_uniform([7], seed=seed, dtype=tf.float32)
    rotation = (2.0 * uniform[0] - 1.0) * config.rotation_deg
    rotation = tf.where(uniform[1] < config.rotation_prob, rotation, 0.0)
    low, high = config.scale_range
    scale_factor = low + (high - low) * uniform[2]
    flip = uniform[3] < config.flip_prob
    color_gains = 1.0 + config.color_jitter * (2.0 * uniform[4:7] - 1.0)
    return {
        "rotation_deg": rotation,
        "scale_factor": scale_factor,
        "flip": flip,
        "color_gains": color_gains,
    }
