"""Building blocks of the stacked hourglass (paper §3.1–3.2, Fig. 3–4).

Every function here takes a Keras tensor and returns one, adding named layers to the
functional graph. Names follow the paper's parts so that weight import and inspection are
plain name maps (see ``hg_keras.weights``).

Batch normalisation uses ``epsilon=1e-5`` and ``momentum=0.9``, the PyTorch defaults of the
paper's official port, so that imported weights reproduce its outputs exactly; its layers are
``FusedBatchNormalization`` (Keras's BatchNormalization with TensorFlow's fused training
kernel, see ``hg_keras.model.batch_norm``).
"""

from __future__ import annotations

import keras
from keras import layers

from hg_keras.model.batch_norm import FusedBatchNormalization
from hg_keras.model.upsampling import NearestUpsampling2D

BATCH_NORM_EPSILON = 1e-5
BATCH_NORM_MOMENTUM = 0.9


def batch_norm(name: str) -> FusedBatchNormalization:
    """A BatchNormalization layer with the reference implementation's constants."""
    return FusedBatchNormalization(
        epsilon=BATCH_NORM_EPSILON, momentum=BATCH_NORM_MOMENTUM, name=name
    )


def conv(filters: int, kernel_size: int, name: str, strides: int = 1, padding: str = "same"):
    """A biased, channels-last convolution (the reference code's convolutions carry biases)."""
    return layers.Conv2D(
        filters,
        kernel_size,
        strides=strides,
        padding=padding,
        use_bias=True,
        name=name,
    )


def residual(x, out_channels: int, name: str):
    """Pre-activation bottleneck residual module (Fig. 4, left).

    BN-ReLU-conv1x1(C/2) → BN-ReLU-conv3x3(C/2) → BN-ReLU-conv1x1(C), plus the identity,
    or a 1x1 convolution on the skip path when the channel count changes.

    Args:
        x: Keras tensor, (batch, H, W, C_in).
        out_channels: C, the number of output channels.
        name: prefix of every layer of the module, e.g. ``"stack2_hg_down3_res1"``.

    Returns:
        Keras tensor, (batch, H, W, C).

    Example:
        >>> inputs = keras.Input((64, 64, 128))
        >>> outputs = residual(inputs, 256, name="demo_res")
        >>> tuple(outputs.shape)
        (None, 64, 64, 256)
    """
    in_channels = x.shape[-1]
    mid_channels = out_channels // 2
    if in_channels == out_channels:
        shortcut = x
    else:
        shortcut = conv(out_channels, 1, name=f"{name}_skip")(x)
    y = x
    for index, (filters, kernel) in enumerate(
        [(mid_channels, 1), (mid_channels, 3), (out_channels, 1)], start=1
    ):
        y = batch_norm(f"{name}_bn{index}")(y)
        y = layers.ReLU(name=f"{name}_relu{index}")(y)
        y = conv(filters, kernel, name=f"{name}_conv{index}")(y)
    return layers.Add(name=f"{name}_add")([y, shortcut])


def residual_sequence(x, out_channels: int, count: int, name: str):
    """``count`` residual modules in a row, named ``{name}_res1`` … ``{name}_res{count}``."""
    for index in range(1, count + 1):
        x = residual(x, out_channels, name=f"{name}_res{index}")
    return x


def stem(x, num_features: int = 256):
    """The layers before the first hourglass: 256x256x3 → 64x64x``num_features``.

    7x7 conv stride 2 (64) + BN + ReLU → residual (128) → 2x2 max-pool → residual (128)
    → residual (``num_features``). The 7x7 convolution pads 3 pixels on every side, as the
    reference does, rather than Keras' asymmetric ``"same"`` padding for strided convs.
    """
    x = layers.ZeroPadding2D(3, name="stem_pad")(x)
    x = conv(64, 7, strides=2, padding="valid", name="stem_conv")(x)
    x = batch_norm("stem_bn")(x)
    x = layers.ReLU(name="stem_relu")(x)
    x = residual(x, 128, name="stem_res1")
    x = layers.MaxPooling2D(2, name="stem_pool")(x)
    x = residual(x, 128, name="stem_res2")
    return residual(x, num_features, name="stem_res3")


def hourglass(x, depth: int, num_features: int, num_residuals: int, name: str, level: int = 1,
              taps: dict | None = None):
    """Recursive hourglass module (Fig. 3) of ``depth`` pooling steps.

    At each level: an upper branch ``{name}_skip{level}`` at the current resolution, and a
    lower branch max-pool → ``{name}_down{level}`` → (next level, or ``{name}_bottom`` at
    the lowest resolution) → ``{name}_up{level}`` → nearest 2x upsampling; the two branches
    are added.

    Args:
        x: Keras tensor at the hourglass' top resolution.
        depth: number of pooling steps (4 in the paper: 64x64 down to 4x4).
        num_features: channels throughout the hourglass.
        num_residuals: residual modules at each position (1 in the paper's final model).
        name: prefix, e.g. ``"stack1_hg"``.
        level: current recursion level (1 = top); callers leave the default.
        taps: optional dict filled with the output of every level, keyed by level, so that
            ablations can attach intermediate supervision (``hg_int``).

    Returns:
        Keras tensor with the same shape as ``x``.
    """
    upper = residual_sequence(x, num_features, num_residuals, name=f"{name}_skip{level}")
    lower = layers.MaxPooling2D(2, name=f"{name}_pool{level}")(x)
    lower = residual_sequence(lower, num_features, num_residuals, name=f"{name}_down{level}")
    if level < depth:
        lower = hourglass(lower, depth, num_features, num_residuals, name, level + 1, taps)
    else:
        lower = residual_sequence(lower, num_features, num_residuals, name=f"{name}_bottom")
    lower = residual_sequence(lower, num_features, num_residuals, name=f"{name}_up{level}")
    lower = NearestUpsampling2D(2, name=f"{name}_upsample{level}")(lower)
    merged = layers.Add(name=f"{name}_add{level}")([upper, lower])
    if taps is not None:
        taps[level] = merged
    return merged


def keras_input(input_shape, name: str = "image"):
    """The model input: float32 RGB in [0, 1], channels-last."""
    return keras.Input(shape=tuple(input_shape), dtype="float32", name=name)
