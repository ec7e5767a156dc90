"""BatchNormalization whose training step runs TensorFlow's fused kernel.

Keras 3 normalises a training batch with ``ops.moments`` and ``ops.batch_normalization``:
on the TensorFlow backend a dozen element-wise ops per layer forward and more backward
(``Mul``, ``Mean``, ``SquaredDifference``, ``Tile``, ``Sum``, ...), a third of a 2-stack
training step on a CPU. ``FusedBatchNormalization`` computes the same function with one
``FusedBatchNormV3`` op forward and one ``FusedBatchNormGradV3`` backward (oneDNN kernels on
CPU, cuDNN on GPU), and keeps Keras's semantics exactly: the moving averages are updated
with the biased batch variance and ``momentum`` the way ``keras.layers.BatchNormalization``
does.

Everything else is the parent layer: inference (``training=False``), the JAX and PyTorch
backends, masks, batch renormalisation and ``synchronized=True`` (statistics across
``tf.distribute`` replicas) take Keras's own path, so the model still runs under every
backend and weight import, BatchNorm folding and export see an ordinary BatchNormalization.

Example:
    >>> import numpy as np
    >>> layer = FusedBatchNormalization(epsilon=1e-5, momentum=0.9)
    >>> x = np.random.default_rng(0).normal(2.0, 3.0, (4, 8, 8, 16)).astype("float32")
    >>> y = np.asarray(layer(x, training=True))
    >>> bool(abs(y.mean()) < 1e-4 and abs(y.std() - 1.0) < 1e-3)
    True
"""

from __future__ import annotations

import keras
from keras import layers, ops


@keras.saving.register_keras_serializable(package="hg_keras")
class FusedBatchNormalization(layers.BatchNormalization):
    """``keras.layers.BatchNormalization`` with a fused training kernel on TensorFlow.

    Takes the parent's arguments. The fused path is used for 4-D channels-last inputs in
    training mode on the TensorFlow backend when no mask, renormalisation or cross-replica
    synchronisation is asked for; every other call is the parent's.

    Example:
        >>> inputs = keras.Input((32, 32, 64))
        >>> outputs = FusedBatchNormalization(name="bn")(inputs)
        >>> tuple(outputs.shape)
        (None, 32, 32, 64)
    """

    def uses_fused_kernel(self, inputs, training=None, mask=None) -> bool:
        """Whether ``call(inputs, training, mask)`` runs the fused TensorFlow kernel."""
        return bool(
            training
            and self.trainable
            and mask is None
            and not self.synchronized
            and not self.renorm
            and keras.backend.backend() == "tensorflow"
            and len(inputs.shape) == 4
            and tuple(self._reduction_axes) == (0, 1, 2)
        )

    def call(self, inputs, training=None, mask=None):
        if not self.uses_fused_kernel(inputs, training, mask):
            return super().call(inputs, training=training, mask=mask)
        import tensorflow as tf

        # Statistics in float32 for every input dtype, as the parent computes them.
        x = ops.cast(inputs, "float32")
        channels = x.shape[-1]
        gamma = ops.cast(self.gamma, "float32") if self.scale else ops.ones((channels,))
        beta = ops.cast(self.beta, "float32") if self.center else ops.zeros((channels,))
        outputs, mean, unbiased_variance = tf.compat.v1.nn.fused_batch_norm(
            x, gamma, beta, epsilon=self.epsilon, data_format="NHWC", is_training=True
        )
        # The kernel reports the Bessel-corrected variance; Keras averages the biased one.
        count = ops.cast(ops.size(x) // channels, "float32")
        variance = unbiased_variance * ((count - 1.0) / count)
        moving_mean = ops.cast(self.moving_mean, "float32")
        moving_variance = ops.cast(self.moving_variance, "float32")
        self.moving_mean.assign(moving_mean * self.momentum + mean * (1.0 - self.momentum))
        self.moving_variance.assign(
            moving_variance * self.momentum + variance * (1.0 - self.momentum)
        )
        return ops.cast(outputs, self.compute_dtype)
