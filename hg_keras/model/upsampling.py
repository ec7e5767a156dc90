"""Nearest-neighbour upsampling by an integer factor, written as concatenations and reshapes.

``keras.layers.UpSampling2D(interpolation="nearest")`` repeats rows and columns with
``ops.repeat``: on TensorFlow an ``ExpandDims``/``Tile``/``Reshape`` chain whose target shape
is computed at run time, which the TFLite converter keeps as ``SHAPE``, ``STRIDED_SLICE``,
``TILE`` ... ops outside the XNNPACK delegate. ``NearestUpsampling2D`` computes the same
tensor with static ``concatenate`` + ``reshape``: copy the pixels ``factor`` times along the
channels and read them back as ``factor`` times as many columns, then the same for rows.
Every backend runs it; TFLite gets only ``CONCATENATION`` and ``RESHAPE``, both delegated
(8-stack TFLite fp32 at batch 8 about 4% faster, Keras about 3%).

Example:
    >>> import numpy as np
    >>> x = np.arange(4, dtype="float32").reshape(1, 2, 2, 1)
    >>> np.asarray(NearestUpsampling2D(2)(x))[0, :, :, 0]
    array([[0., 0., 1., 1.],
           [0., 0., 1., 1.],
           [2., 2., 3., 3.],
           [2., 2., 3., 3.]], dtype=float32)
"""

from __future__ import annotations

import keras
from keras import layers, ops


@keras.saving.register_keras_serializable(package="hg_keras")
class NearestUpsampling2D(layers.Layer):
    """Channels-last nearest-neighbour upsampling by ``factor`` in both directions.

    Gives exactly what ``keras.layers.UpSampling2D(factor, interpolation="nearest")`` gives.
    Inputs whose height, width or channels are unknown when the model is built take
    ``ops.repeat`` instead.

    Args:
        factor: integer upsampling factor (2 in the hourglass).
        **kwargs: ``keras.layers.Layer`` arguments (e.g. ``name``).

    Example:
        >>> inputs = keras.Input((8, 8, 256))
        >>> tuple(NearestUpsampling2D(2)(inputs).shape)
        (None, 16, 16, 256)
    """

    def __init__(self, factor: int = 2, **kwargs):
        super().__init__(**kwargs)
        if int(factor) != factor or factor < 1:
            raise ValueError(
                f"NearestUpsampling2D: factor must be a positive integer, got {factor!r}"
            )
        self.factor = int(factor)

    def call(self, inputs):
        factor = self.factor
        height, width, channels = inputs.shape[1:]
        if None in (height, width, channels):
            return ops.repeat(ops.repeat(inputs, factor, axis=1), factor, axis=2)
        columns = ops.concatenate([inputs] * factor, axis=-1)
        columns = ops.reshape(columns, (-1, height, factor * width, channels))
        rows = ops.concatenate([columns] * factor, axis=2)
        return ops.reshape(rows, (-1, factor * height, factor * width, channels))

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        scaled = [None if side is None else side * self.factor for side in (height, width)]
        return (batch, *scaled, channels)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}
