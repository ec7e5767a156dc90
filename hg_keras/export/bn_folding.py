"""Batch normalisation folded away for inference (same outputs, fewer ops).

In inference mode a ``BatchNormalization`` layer is a per-channel affine map
``y = s * x + t`` with ``s = gamma / sqrt(moving_variance + epsilon)`` and
``t = beta - s * moving_mean``. ``fold_batch_norm`` rebuilds a model with every such map
removed where the graph allows:

* **Folded into the preceding convolution** when a ``Conv2D`` feeds only that BN
  (``stem_conv -> stem_bn``, ``conv1 -> bn2`` and ``conv2 -> bn3`` inside every residual,
  ``head_conv -> head_bn``): the kernel becomes ``W * s`` (per output channel) and the bias
  ``s * (b - mean) + beta``; the BN layer becomes an ``Identity``.
* **Scale moved through the ReLU** when the BN's output goes only through a ReLU into a
  ``Conv2D`` and every ``s`` is positive (``bn1 -> relu1 -> conv1`` of each pre-activation
  residual: its input is a sum or a ReLU, which no convolution produces alone). Since
  ``relu(s * x + t) = s * relu(x + t / s)`` for ``s > 0``, the scale goes into the input
  channels of ``conv1``'s kernel and the BN becomes a ``ChannelShift`` (one add, which the
  following ReLU fuses with in TFLite and oneDNN).
* **Kept as a ``ChannelAffine``** (one multiply and one add) otherwise, e.g. a BN with a
  zero or negative ``gamma`` in some channel.

The folded model has the original's layer names, inputs and outputs, and matches it within
float32 rounding (``tests/export/test_bn_folding.py`` checks max abs diff <= 1e-4).
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers


@keras.saving.register_keras_serializable(package="hg_keras")
class ChannelAffine(layers.Layer):
    """Per-channel ``x * scale + offset`` on the last axis: an inference-time BatchNorm.

    Args:
        **kwargs: ``keras.layers.Layer`` arguments (e.g. ``name``).

    Example:
        >>> affine = ChannelAffine()
        >>> affine.build((None, 4, 4, 2))
        >>> affine.set_weights([np.array([2.0, 3.0]), np.array([0.5, 0.0])])
        >>> affine(np.ones((1, 1, 1, 2), "float32")).numpy().ravel()
        array([2.5, 3. ], dtype=float32)
    """

    def build(self, input_shape):
        channels = input_shape[-1]
        self.scale = self.add_weight(
            shape=(channels,), initializer="ones", trainable=False, name="scale"
        )
        self.offset = self.add_weight(
            shape=(channels,), initializer="zeros", trainable=False, name="offset"
        )

    def call(self, inputs):
        return inputs * self.scale + self.offset

    def compute_output_shape(self, input_shape):
        return input_shape


@keras.saving.register_keras_serializable(package="hg_keras")
class ChannelShift(layers.Layer):
    """Per-channel ``x + offset`` on the last axis: a BatchNorm whose scale moved forward.

    Args:
        **kwargs: ``keras.layers.Layer`` arguments (e.g. ``name``).

    Example:
        >>> shift = ChannelShift()
        >>> shift.build((None, 4, 4, 2))
        >>> shift.set_weights([np.array([0.5, -1.0])])
        >>> shift(np.ones((1, 1, 1, 2), "float32")).numpy().ravel()
        array([1.5, 0. ], dtype=float32)
    """

    def build(self, input_shape):
        self.offset = self.add_weight(
            shape=(input_shape[-1],), initializer="zeros", trainable=False, name="offset"
        )

    def call(self, inputs):
        return inputs + self.offset

    def compute_output_shape(self, input_shape):
        return input_shape


def batch_norm_affine(layer: layers.BatchNormalization) -> tuple[np.ndarray, np.ndarray]:
    """The inference-mode affine map ``(s, t)`` of a channels-last BatchNormalization layer.

    Args:
        layer: a built ``keras.layers.BatchNormalization`` normalising the last axis.

    Returns:
        ``(scale, offset)``, two (C,) float64 arrays with ``bn(x) = scale * x + offset``.
    """
    axis = layer.axis if isinstance(layer.axis, int) else next(iter(layer.axis))
    if axis not in (-1, len(layer.input.shape) - 1):
        raise ValueError(f"{layer.name}: only channels-last BatchNormalization can be folded")
    mean = np.asarray(layer.moving_mean, np.float64)
    variance = np.asarray(layer.moving_variance, np.float64)
    gamma = np.asarray(layer.gamma, np.float64) if layer.scale else np.ones_like(mean)
    beta = np.asarray(layer.beta, np.float64) if layer.center else np.zeros_like(mean)
    scale = gamma / np.sqrt(variance + layer.epsilon)
    return scale, beta - scale * mean


def _consumer_counts(model: keras.Model) -> dict:
    """How many layer calls inside ``model`` read each layer's output."""
    counts = {}
    for layer in model.layers:
        for node in layer._inbound_nodes:
            for tensor in node.input_tensors:
                producer = tensor._keras_history.operation
                counts[producer.name] = counts.get(producer.name, 0) + 1
    for tensor in model.outputs:
        producer = tensor._keras_history.operation
        counts[producer.name] = counts.get(producer.name, 0) + 1
    return counts


def foldable_pairs(model: keras.Model) -> dict:
    """Map each BatchNormalization that can be folded to the Conv2D it folds into.

    A BN folds into a convolution when that convolution (biased or not, called once) is its
    only input and nothing else reads the convolution's output.

    Args:
        model: a functional ``keras.Model``.

    Returns:
        ``{bn_layer_name: conv_layer_name}``.

    Example:
        >>> pairs = foldable_pairs(build_stacked_hourglass(num_stacks=1, num_features=32))
        >>> pairs["stem_bn"], pairs["stem_res1_bn2"]
        ('stem_conv', 'stem_res1_conv1')
    """
    counts = _consumer_counts(model)
    pairs = {}
    for layer in model.layers:
        if not isinstance(layer, layers.BatchNormalization) or len(layer._inbound_nodes) != 1:
            continue
        producer = layer.input._keras_history.operation
        if (
            isinstance(producer, layers.Conv2D)
            and len(producer._inbound_nodes) == 1
            and counts.get(producer.name) == 1
        ):
            pairs[layer.name] = producer.name
    return pairs


def _only_reader(model: keras.Model, layer, counts: dict):
    """The one layer that reads ``layer``'s output, or None (several readers, or an output)."""
    if counts.get(layer.name) != 1 or any(
        tensor._keras_history.operation is layer for tensor in model.outputs
    ):
        return None
    for candidate in model.layers:
        for node in candidate._inbound_nodes:
            if any(t._keras_history.operation is layer for t in node.input_tensors):
                return candidate
    return None


def _is_plain_relu(layer) -> bool:
    return (
        isinstance(layer, layers.ReLU)
        and layer.max_value is None
        and float(layer.negative_slope) == 0.0
        and float(layer.threshold) == 0.0
    )


def shift_through_relu_pairs(model: keras.Model) -> dict:
    """Map each BatchNormalization whose scale can move through a ReLU to the Conv2D after it.

    A BN qualifies when it cannot fold into a preceding convolution, a plain ReLU is the only
    reader of its output, a ``Conv2D`` called once is the only reader of the ReLU's, and its
    inference scale ``s`` is positive in every channel.

    Args:
        model: a functional ``keras.Model``.

    Returns:
        ``{bn_layer_name: conv_layer_name}``.

    Example:
        >>> pairs = shift_through_relu_pairs(build_stacked_hourglass(num_stacks=1))
        >>> pairs["stem_res1_bn1"]
        'stem_res1_conv1'
    """
    counts = _consumer_counts(model)
    into_conv = foldable_pairs(model)
    pairs = {}
    for layer in model.layers:
        if (
            not isinstance(layer, layers.BatchNormalization)
            or layer.name in into_conv
            or len(layer._inbound_nodes) != 1
        ):
            continue
        relu = _only_reader(model, layer, counts)
        if relu is None or not _is_plain_relu(relu) or len(relu._inbound_nodes) != 1:
            continue
        conv = _only_reader(model, relu, counts)
        if not isinstance(conv, layers.Conv2D) or len(conv._inbound_nodes) != 1:
            continue
        if np.all(batch_norm_affine(layer)[0] > 0):
            pairs[layer.name] = conv.name
    return pairs


def fold_batch_norm(model: keras.Model) -> keras.Model:
    """Return an inference copy of ``model`` with every BatchNormalization folded away.

    BNs fed only by a convolution are merged into its kernel and bias (and replaced by an
    ``Identity`` of the same name); BNs followed by a ReLU and a convolution move their
    scale into that convolution and become a ``ChannelShift``; every other BN becomes a
    ``ChannelAffine``. The original
    model is not modified. The copy is meant for inference and export only: it has no BN
    layers left to train.

    Args:
        model: a functional ``keras.Model`` (e.g. from ``build_stacked_hourglass``).

    Returns:
        A functional ``keras.Model`` with the same inputs, outputs and layer names whose
        outputs equal ``model(x, training=False)`` up to float32 rounding.

    Example:
        >>> model = build_stacked_hourglass(num_stacks=2, num_joints=16)
        >>> folded = fold_batch_norm(model)
        >>> sum(isinstance(l, keras.layers.BatchNormalization) for l in folded.layers)
        0
    """
    pairs = foldable_pairs(model)
    folded_into = {conv: bn for bn, conv in pairs.items()}
    shifts = shift_through_relu_pairs(model)
    scaled_by = {conv: bn for bn, conv in shifts.items()}

    def clone_layer(layer):
        if isinstance(layer, layers.BatchNormalization):
            if layer.name in pairs:
                return layers.Identity(name=layer.name)
            if layer.name in shifts:
                return ChannelShift(name=layer.name, dtype=layer.dtype_policy.name)
            return ChannelAffine(name=layer.name, dtype=layer.dtype_policy.name)
        config = layer.get_config()
        if layer.name in folded_into:
            config["use_bias"] = True  # the BN's offset becomes the bias
        return layer.__class__.from_config(config)

    def call_layer(layer, *args, **kwargs):
        if isinstance(layer, (layers.Identity, ChannelAffine, ChannelShift)):
            kwargs.pop("mask", None)  # recorded from the BN call; meaningless here
            kwargs.pop("training", None)
        return layer(*args, **kwargs)

    folded = keras.models.clone_model(
        model, clone_function=clone_layer, call_function=call_layer
    )
    for layer in model.layers:
        if not layer.weights:
            continue  # nothing to copy (input layers may even be renamed by the clone)
        target = folded.get_layer(layer.name)
        if isinstance(layer, layers.BatchNormalization):
            if layer.name in shifts:
                scale, offset = batch_norm_affine(layer)
                target.set_weights([offset / scale])
            elif layer.name not in pairs:
                target.set_weights(list(batch_norm_affine(layer)))
            continue
        if layer.name not in folded_into and layer.name not in scaled_by:
            target.set_weights(layer.get_weights())
            continue
        kernel = np.asarray(layer.kernel, np.float64)
        bias = np.asarray(layer.bias, np.float64) if layer.use_bias else np.zeros(kernel.shape[-1])
        if layer.name in scaled_by:  # the scale of the BN before the ReLU, per input channel
            kernel = kernel * batch_norm_affine(model.get_layer(scaled_by[layer.name]))[0][:, None]
        if layer.name in folded_into:  # the BN after the convolution, per output channel
            scale, offset = batch_norm_affine(model.get_layer(folded_into[layer.name]))
            kernel, bias = kernel * scale, bias * scale + offset
        target.set_weights([kernel, bias] if target.use_bias else [kernel])
    return folded
