"""The test-time computation shared by the exported graph and the Python predictor.

Crops -> network (with the flip test) -> last stack's heatmaps -> peaks with the quarter
offset -> original image pixels. ``hg_keras.export.saved_model`` traces exactly these
functions into the SavedModel, and ``hg_keras.export.predictor`` runs them eagerly, so the
two cannot drift apart.
"""

from __future__ import annotations

import tensorflow as tf

from hg_keras.evaluation.decode import (
    average_with_flipped,
    heatmap_peaks,
    to_image_coords,
)


def model_outputs(model, images):
    """Run ``model`` in inference mode and return its outputs as a list (stack order)."""
    outputs = model(images, training=False)
    if isinstance(outputs, dict):
        return [outputs[name] for name in model.output_names]
    if isinstance(outputs, (list, tuple)):
        return list(outputs)
    return [outputs]


def last_stack_heatmaps(model, crops, flip_permutation=None):
    """Heatmaps of the last stack, averaged with the flipped crop when a permutation is given.

    Args:
        model: Keras model, (N, S, S, 3) float32 in [0, 1] -> list of (N, S/4, S/4, K).
        crops: (N, S, S, 3) float32 tensor.
        flip_permutation: K ints (``DatasetInfo.flip_permutation``) for the flip test, or None.

    Returns:
        (N, S/4, S/4, K) float32 tensor.
    """
    crops = tf.convert_to_tensor(crops, tf.float32)
    if flip_permutation is None:
        return tf.cast(model_outputs(model, crops)[-1], tf.float32)
    count = tf.shape(crops)[0]
    both = tf.concat([crops, tf.reverse(crops, axis=[2])], axis=0)
    heatmaps = tf.cast(model_outputs(model, both)[-1], tf.float32)
    permutation = [int(j) for j in flip_permutation]
    return average_with_flipped(heatmaps[:count], heatmaps[count:], permutation)


def keypoints_from_crops(model, crops, from_heatmap, flip_permutation=None):
    """Joint positions in original image pixels from person crops.

    Args:
        model: Keras model as in ``last_stack_heatmaps``.
        crops: (N, S, S, 3) float32 crops in [0, 1].
        from_heatmap: (N, 3, 3) float32 heatmap px -> image px matrices.
        flip_permutation: K ints for the flip test, or None.

    Returns:
        keypoints: (N, K, 2) float32 ``(x, y)`` in image pixels.
        scores: (N, K) float32, the (flip-averaged) heatmap maximum of each joint, the
            presence signal of paper §5.2.

    Example:
        >>> keypoints, scores = keypoints_from_crops(model, crops, from_heatmap,
        ...                                          MPII_INFO.flip_permutation)
    """
    heatmaps = last_stack_heatmaps(model, crops, flip_permutation)
    coords_hm, scores = heatmap_peaks(heatmaps)
    keypoints = to_image_coords(coords_hm, tf.cast(from_heatmap, tf.float32))
    return tf.cast(keypoints, tf.float32), scores
