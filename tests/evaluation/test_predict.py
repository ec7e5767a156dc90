"""predict_dataset: batched decoding, flip test, every stack, record order."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from hg_keras.evaluation.predict import Predictions, predict_dataset

SIZE = 8


def channels_model(num_stacks=2):
    """A 'network' whose stack s returns input channels [2s, 2s + 1] as two heatmaps."""
    inputs = keras.Input((SIZE, SIZE, 2 * num_stacks))
    outputs = [
        keras.layers.Lambda(lambda x, s=s: x[..., 2 * s: 2 * s + 2], name=f"stack_{s + 1}")(inputs)
        for s in range(num_stacks)
    ]
    return keras.Model(inputs, outputs)


def example_images():
    """4 samples; the last stack (channels 2, 3) has known peaks, stack 1 (0, 1) others."""
    images = np.zeros((4, SIZE, SIZE, 4), np.float32)
    images[:, 3, 2, 2] = 1.0                         # joint 0 of the last stack at (2, 3)
    images[:, 4, 5, 3], images[:, 4, 6, 3] = 0.8, 0.4  # joint 1 at (5, 4), right neighbour higher
    images[:, 1, 1, 0] = 0.9                         # stack 1, joint 0 at (1, 1)
    images[:, 6, 6, 1] = 0.9                         # stack 1, joint 1 at (6, 6)
    images[1] *= 0.5                                 # sample 1 has weaker peaks
    return images


def make_batches(images, flip):
    from_heatmap = np.tile(np.array([[4.0, 0, 10], [0, 4, 20], [0, 0, 1]], np.float32), (4, 1, 1))
    data = {"image": images, "from_heatmap": from_heatmap,
            "index": np.array([3, 2, 1, 0], np.int64)}  # reversed record order
    if flip:
        data["image_flipped"] = images[:, :, ::-1].copy()
    return tf.data.Dataset.from_tensor_slices(data).batch(3)


def test_predictions_are_decoded_to_image_pixels_in_record_order():
    preds = predict_dataset(channels_model(), make_batches(example_images(), flip=False),
                            progress=False)
    assert isinstance(preds, Predictions) and len(preds) == 4
    np.testing.assert_array_equal(preds.index, [0, 1, 2, 3])
    # Heatmap (2, 3) -> (4*2+10, 4*3+20); (5.25, 4) -> (31, 36).
    np.testing.assert_allclose(preds.coords[0], [[18.0, 32.0], [31.0, 36.0]])
    # Record 2 is dataset row 1, the weaker sample.
    np.testing.assert_allclose(preds.scores[:, 0], [1.0, 1.0, 0.5, 1.0])
    np.testing.assert_allclose(preds.heatmap_max[2], [0.5, 0.4])
    np.testing.assert_allclose(preds.heatmap_mean[0], [1.0 / 64, 1.2 / 64], rtol=1e-6)
    assert preds.per_stack_coords is None and preds.heatmaps is None


def test_flip_test_averages_with_mirrored_crop_and_swaps_joints():
    # With permutation [1, 0] both averaged maps are (h0 + h1) / 2: peaks 0.5 at (2, 3),
    # 0.4 at (5, 4), 0.2 at (6, 4) -> both joints at (2, 3) with score 0.5.
    preds = predict_dataset(channels_model(), make_batches(example_images(), flip=True),
                            flip_permutation=[1, 0], progress=False)
    np.testing.assert_allclose(preds.coords[0], [[18.0, 32.0], [18.0, 32.0]])
    np.testing.assert_allclose(preds.scores[0], [0.5, 0.5])


def test_flip_test_is_off_without_a_permutation_even_if_flipped_images_are_present():
    preds = predict_dataset(channels_model(), make_batches(example_images(), flip=True),
                            progress=False)
    np.testing.assert_allclose(preds.scores[0], [1.0, 0.8])


def test_all_stacks_decodes_every_intermediate_output():
    preds = predict_dataset(channels_model(), make_batches(example_images(), flip=False),
                            all_stacks=True, progress=False, keep_heatmaps=True)
    assert preds.per_stack_coords.shape == (2, 4, 2, 2)
    np.testing.assert_allclose(preds.per_stack_coords[0, 0], [[14.0, 24.0], [34.0, 44.0]])
    np.testing.assert_array_equal(preds.per_stack_coords[-1], preds.coords)
    assert preds.heatmaps.shape == (4, SIZE, SIZE, 2)


def test_single_output_model_is_accepted():
    preds = predict_dataset(channels_model(num_stacks=1),
                            make_batches(example_images()[..., 2:], flip=False), progress=False)
    np.testing.assert_allclose(preds.coords[0], [[18.0, 32.0], [31.0, 36.0]])


def test_empty_dataset_is_an_error():
    empty = make_batches(example_images(), flip=False).take(0)
    with pytest.raises(ValueError, match="empty"):
        predict_dataset(channels_model(), empty, progress=False)
