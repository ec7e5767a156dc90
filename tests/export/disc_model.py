"""A tiny hourglass whose weights are set by hand to find coloured discs.

Random-weight networks have flat, meaningless heatmaps: any rounding moves their peaks,
so they cannot show whether an exported or quantized model still *predicts the same
joints*. This model has sharp, input-driven peaks without training: joint k is a disc of
colour ``DISC_COLORS[k]``.

* ``stem_conv`` channel k is a 7x7 disc template matched to colour k (``v_k · rgb``, with
  ``v_k = 2 c_k - 1`` so other colours and grey give a negative response) minus a
  threshold, so after the ReLU only discs of that colour respond;
* the skip convolutions and ``head_conv`` copy channels, ``stack1_heatmaps`` reads channel k
  into heatmap k;
* every residual branch keeps its random weights, scaled down so it perturbs the signal
  without drowning it, and every BatchNorm gets non-trivial statistics: the exported and
  quantized graphs still carry all of their operations.
"""

from __future__ import annotations

import cv2
import numpy as np
from keras import layers

from hg_keras import build_stacked_hourglass
from hg_keras.datasets.records import DatasetInfo

DISC_COLORS = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0]], np.float32)
DISC_INFO = DatasetInfo(
    name="discs",
    joint_names=("red", "green", "blue", "yellow"),
    flip_permutation=(0, 1, 2, 3),
    metric="pck",
    threshold=0.2,
)
BACKGROUND = 0.4
TEMPLATE_RADIUS_PX = 3.0
RESPONSE_GAIN = 4.0
BRANCH_SCALE = 0.1


def _disc_mask(size=7, radius=TEMPLATE_RADIUS_PX):
    yy, xx = np.mgrid[:size, :size] - (size - 1) / 2.0
    return (xx**2 + yy**2 <= radius**2).astype(np.float32)


def build_disc_model(input_size=64, num_stacks=1, num_features=32, depth=2, seed=0):
    """A ``build_stacked_hourglass`` model (K = 4) with hand-set disc-detector weights.

    ``depth=2`` (16x16 heatmaps pooled down to 4x4) keeps the graph, and so every export in
    the tests, small; the layer types are those of the paper's depth-4 hourglass.
    """
    rng = np.random.default_rng(seed)
    model = build_stacked_hourglass(
        num_stacks=num_stacks,
        num_joints=len(DISC_COLORS),
        num_features=num_features,
        depth=depth,
        input_shape=(input_size, input_size, 3),
    )
    mask = _disc_mask()
    for layer in model.layers:
        name = layer.name
        if isinstance(layer, layers.BatchNormalization):
            channels = layer.gamma.shape[0]
            scale = rng.uniform(0.8, 1.25, channels)
            variance = rng.uniform(0.5, 2.0, channels)
            mean = rng.normal(0.0, 0.05, channels)
            # gamma / sqrt(var + eps) = scale and beta = scale * mean: the BN is a plain
            # per-channel rescale with real statistics behind it.
            layer.set_weights([scale * np.sqrt(variance + layer.epsilon), scale * mean,
                               mean, variance])
        elif not isinstance(layer, layers.Conv2D):
            continue
        elif name == "stem_conv":
            kernel = np.zeros(layer.kernel.shape, np.float32)
            bias = np.zeros(layer.bias.shape, np.float32)
            for k, color in enumerate(DISC_COLORS):
                direction = 2.0 * color - 1.0
                own = float(direction @ color)  # response to a full disc of colour k
                kernel[:, :, :, k] = mask[:, :, None] * direction * RESPONSE_GAIN / mask.sum()
                bias[k] = -0.6 * own * RESPONSE_GAIN
            layer.set_weights([kernel, bias])
        elif name.endswith("_conv3"):
            kernel, bias = layer.get_weights()
            layer.set_weights([kernel * BRANCH_SCALE, bias])
        elif name.endswith(("_skip", "_head_conv", "_heatmaps")):
            kernel = np.zeros(layer.kernel.shape, np.float32)
            count = min(kernel.shape[2], kernel.shape[3])
            kernel[0, 0, np.arange(count), np.arange(count)] = 1.0
            layer.set_weights([kernel, np.zeros(layer.bias.shape, np.float32)])
        elif "remap" in name:
            kernel, bias = layer.get_weights()
            layer.set_weights([kernel * BRANCH_SCALE, bias])
    return model


def draw_discs(rng, height, width, radius_px, noise=0.03, missing=()):
    """An RGB uint8 image with one disc per colour at random, non-overlapping places.

    Discs whose index is in ``missing`` are left out (their centre is still drawn at random).

    Returns:
        image: (height, width, 3) uint8 RGB.
        centers: (4, 2) float64 disc centres (x, y) in pixels.
    """
    image = np.full((height, width, 3), BACKGROUND, np.float32)
    image += rng.normal(0.0, noise, image.shape).astype(np.float32)
    centers = []
    margin = radius_px + 2
    while len(centers) < len(DISC_COLORS):
        candidate = rng.uniform([margin, margin], [width - 1 - margin, height - 1 - margin])
        if all(np.hypot(*(candidate - c)) > 3 * radius_px for c in centers):
            centers.append(candidate)
    for index, (color, (x, y)) in enumerate(zip(DISC_COLORS, centers)):
        if index in missing:
            continue
        cv2.circle(image, (int(round(x * 16)), int(round(y * 16))), int(round(radius_px * 16)),
                   color.tolist(), thickness=-1, lineType=cv2.LINE_AA, shift=4)
    image = np.clip(image * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return image, np.array(centers, np.float64)
