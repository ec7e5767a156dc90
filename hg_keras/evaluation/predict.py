"""Run a model over an evaluation dataset and decode its heatmaps to image coordinates."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm

from hg_keras.evaluation.decode import (
    average_with_flipped,
    heatmap_peaks,
    to_image_coords,
)


@dataclass
class Predictions:
    """Decoded predictions for the people of one split, sorted by record row.

    Attributes:
        coords: (N, K, 2) float64, predicted joints (x, y) in original image pixels.
        scores: (N, K) float32, heatmap value at each peak.
        index: (N,) int64, row position of each person in the split's records.
        per_stack_coords: (S, N, K, 2) float64, the same from every stack's heatmaps (the
            last one equals ``coords``), or None.
        heatmap_max: (N, K) float32, maximum of each decoded heatmap.
        heatmap_mean: (N, K) float32, mean of each decoded heatmap.
        heatmaps: (N, H, W, K) float32 decoded heatmaps of the last stack, or None.
    """

    coords: np.ndarray
    scores: np.ndarray
    index: np.ndarray
    per_stack_coords: np.ndarray | None = None
    heatmap_max: np.ndarray | None = None
    heatmap_mean: np.ndarray | None = None
    heatmaps: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.index)


def _as_list(outputs):
    if isinstance(outputs, dict):
        return [outputs[k] for k in sorted(outputs)]
    if isinstance(outputs, (list, tuple)):
        return list(outputs)
    return [outputs]


def predict_dataset(
    model,
    dataset,
    flip_permutation=None,
    all_stacks=False,
    progress=True,
    keep_heatmaps=False,
):
    """Predict every person of an evaluation ``tf.data.Dataset`` in original image pixels.

    The last model output is the prediction. When the dataset carries ``image_flipped``
    (``PipelineConfig(flip_test=True)``) and ``flip_permutation`` is given, every stack's
    heatmaps are averaged with those of the mirrored crop (``average_with_flipped``)
    before decoding.

    Args:
        model: keras model taking (B, S, S, 3) images; one or several (B, H, W, K) outputs.
        dataset: batched eval dataset of ``hg_keras.data.make_dataset(..., training=False)``,
            dict elements with ``image``, optional ``image_flipped``, ``from_heatmap``
            (B, 3, 3) and ``index`` (B,).
        flip_permutation: K ints (``DatasetInfo.flip_permutation``) to enable the flip test.
        all_stacks: also decode every intermediate stack (``per_stack_coords``).
        progress: show a tqdm progress bar.
        keep_heatmaps: keep the decoded last-stack heatmaps (memory: N x H x W x K floats).

    Returns:
        ``Predictions`` sorted by ``index``.

    Example:
        >>> ds = make_dataset(records, info, PipelineConfig(input_size=256, flip_test=True),
        ...                   training=False, batch_size=16)
        >>> preds = predict_dataset(model, ds, info.flip_permutation)
        >>> preds.coords.shape
        (2958, 16, 2)
    """
    use_flip = flip_permutation is not None
    permutation = [int(i) for i in flip_permutation] if use_flip else None

    @tf.function(reduce_retracing=True, autograph=False)
    def decode_batch(images, images_flipped, from_heatmap):
        if images_flipped is not None:
            both = _as_list(model(tf.concat([images, images_flipped], 0), training=False))
            count = tf.shape(images)[0]
            stacks = [average_with_flipped(h[:count], h[count:], permutation) for h in both]
        else:
            stacks = _as_list(model(images, training=False))
        if not all_stacks:
            stacks = stacks[-1:]
        coords = []
        for heatmaps in stacks:
            peaks, _ = heatmap_peaks(heatmaps)
            coords.append(to_image_coords(peaks, from_heatmap))
        last = tf.cast(stacks[-1], tf.float32)
        _, scores = heatmap_peaks(last)
        return (
            tf.stack(coords),
            scores,
            tf.reduce_max(last, axis=(1, 2)),
            tf.reduce_mean(last, axis=(1, 2)),
            last if keep_heatmaps else tf.zeros((0,)),
        )

    cardinality = int(dataset.cardinality())
    total = cardinality if cardinality >= 0 else None
    parts = {"coords": [], "scores": [], "max": [], "mean": [], "heatmaps": [], "index": []}
    for batch in tqdm(dataset, total=total, disable=not progress, desc="predict", unit="batch"):
        flipped = batch.get("image_flipped") if use_flip else None
        coords, scores, hm_max, hm_mean, heatmaps = decode_batch(
            batch["image"], flipped, batch["from_heatmap"]
        )
        parts["coords"].append(coords.numpy().astype(np.float64))
        parts["scores"].append(scores.numpy())
        parts["max"].append(hm_max.numpy())
        parts["mean"].append(hm_mean.numpy())
        parts["index"].append(batch["index"].numpy().astype(np.int64))
        if keep_heatmaps:
            parts["heatmaps"].append(heatmaps.numpy())
    if not parts["index"]:
        raise ValueError("predict_dataset: the dataset is empty")
    index = np.concatenate(parts["index"])
    order = np.argsort(index, kind="stable")
    stacks = np.concatenate(parts["coords"], axis=1)[:, order]
    return Predictions(
        coords=stacks[-1],
        scores=np.concatenate(parts["scores"])[order],
        index=index[order],
        per_stack_coords=stacks if all_stacks else None,
        heatmap_max=np.concatenate(parts["max"])[order],
        heatmap_mean=np.concatenate(parts["mean"])[order],
        heatmaps=np.concatenate(parts["heatmaps"])[order] if keep_heatmaps else None,
    )
