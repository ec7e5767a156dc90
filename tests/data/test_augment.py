"""Augmentation parameters: ranges over many seeds, probabilities, reproducibility."""

import numpy as np
import tensorflow as tf

from hg_keras.data import PipelineConfig, sample_augmentation


def _draw(config, count=400):
    seeds = tf.stack(
        [tf.fill([count], tf.constant(7, tf.int64)), tf.range(count, dtype=tf.int64)], 1
    )
    draws = tf.data.Dataset.from_tensor_slices(seeds).map(
        lambda seed: sample_augmentation(seed, config)
    )
    return {
        key: value.numpy()
        for key, value in draws.batch(count).get_single_element().items()
    }


def test_paper_defaults_stay_in_range_and_cover_it():
    params = _draw(PipelineConfig())
    rotation, scale = params["rotation_deg"], params["scale_factor"]
    assert rotation.min() >= -30.0 and rotation.max() <= 30.0
    assert rotation.min() < -25.0 and rotation.max() > 25.0
    assert (rotation != 0).all()  # rotation_prob defaults to 1.0
    assert scale.min() >= 0.75 and scale.max() <= 1.25
    assert scale.min() < 0.8 and scale.max() > 1.2
    assert 0.4 < params["flip"].mean() < 0.6
    np.testing.assert_array_equal(params["color_gains"], np.ones((400, 3), np.float32))


def test_rotation_prob_leaves_the_rest_unrotated():
    rotation = _draw(PipelineConfig(rotation_prob=0.6))["rotation_deg"]
    assert 0.3 < (rotation == 0).mean() < 0.5


def test_custom_ranges_and_colour_jitter_hold():
    config = PipelineConfig(
        rotation_deg=10.0, scale_range=(0.9, 1.1), flip_prob=0.0, color_jitter=0.2
    )
    params = _draw(config)
    assert np.abs(params["rotation_deg"]).max() <= 10.0
    assert params["scale_factor"].min() >= 0.9 and params["scale_factor"].max() <= 1.1
    assert not params["flip"].any()
    gains = params["color_gains"]
    assert gains.min() >= 0.8 and gains.max() <= 1.2 and gains.std() > 0.05


def test_same_seed_gives_same_parameters_and_other_seeds_differ():
    config = PipelineConfig()
    first = sample_augmentation(tf.constant([3, 4], tf.int64), config)
    again = sample_augmentation(tf.constant([3, 4], tf.int64), config)
    other = sample_augmentation(tf.constant([3, 5], tf.int64), config)
    assert float(first["rotation_deg"]) == float(again["rotation_deg"])
    assert float(first["scale_factor"]) == float(again["scale_factor"])
    assert float(first["rotation_deg"]) != float(other["rotation_deg"])
