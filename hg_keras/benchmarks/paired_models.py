"""Our Keras model and the PyTorch reference ``PoseNet`` with the very same weights.

Speed comparisons run both networks on identical weights, so that neither side benefits
from numerics the other does not see (e.g. denormal floats, which slow CPUs down by orders
of magnitude, appear deep inside a randomly initialised network whose BatchNorm statistics
are still 0 / 1). ``paired_models`` therefore gives the reference network realistic
BatchNorm statistics first, one training-mode pass over a calibration batch, the way a
trained network has them, and copies every tensor into ``build_stacked_hourglass`` with the
project's checkpoint import (``hg_keras.weights.load_port_weights``).

Works under every Keras backend (nothing here imports TensorFlow). Needs ``torch``.

Example:
    >>> model, net = paired_models(num_stacks=1, num_features=32, input_size=64)
    >>> images = np.random.default_rng(0).random((1, 64, 64, 3), np.float32)
    >>> keras_out = np.asarray(model(images, training=False)[-1])
    >>> torch_out = net(torch.from_numpy(images))[:, -1].permute(0, 2, 3, 1).detach().numpy()
    >>> bool(np.abs(keras_out - torch_out).max() < 1e-3)
    True
"""

from __future__ import annotations

import numpy as np

from hg_keras.model.stacked import build_stacked_hourglass

#: The depth of every hourglass in the reference port (fixed in its code).
REFERENCE_DEPTH = 4


def calibration_images(count: int, input_size: int, seed: int = 0) -> np.ndarray:
    """Photo-like float32 images in [0, 1]: smooth shading plus noise, (count, S, S, 3).

    Smooth structure rather than white noise, so that activation statistics (BatchNorm
    calibration, int8 ranges) resemble those of real crops.
    """
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:input_size, 0:input_size].astype(np.float32) / input_size
    images = []
    for _ in range(count):
        channels = []
        for _ in range(3):
            fx, fy, phase = rng.uniform(1, 6), rng.uniform(1, 6), rng.uniform(0, 2 * np.pi)
            channels.append(0.5 + 0.35 * np.sin(2 * np.pi * (fx * xs + fy * ys) + phase))
        image = np.stack(channels, axis=-1) + rng.normal(0, 0.05, (input_size, input_size, 3))
        images.append(np.clip(image, 0.0, 1.0))
    return np.stack(images).astype(np.float32)


def reference_posenet(num_stacks: int, num_features: int = 256, num_joints: int = 16,
                      seed: int = 0):
    """The reference ``PoseNet`` in eval mode, weights drawn from ``seed`` (PyTorch init)."""
    import torch

    from hg_keras.benchmarks.pytorch_reference import PoseNet

    torch.manual_seed(seed)
    return PoseNet(num_stacks, num_features, num_joints).eval()


def estimate_batch_norm_statistics(net, images: np.ndarray) -> None:
    """Set every BatchNorm's running mean/variance to the statistics of ``images``, in place.

    One training-mode forward pass with ``momentum=None`` (cumulative average, here of a
    single batch) after resetting the running statistics; no parameter changes. The network
    is left in eval mode.

    Args:
        net: a ``PoseNet``.
        images: (N, S, S, 3) float32 in [0, 1], N >= 2.
    """
    import torch

    batch_norms = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    momenta = [m.momentum for m in batch_norms]
    for module in batch_norms:
        module.reset_running_stats()
        module.momentum = None
    net.train()
    try:
        with torch.no_grad():
            net(torch.from_numpy(np.ascontiguousarray(images, np.float32)))
    finally:
        for module, momentum in zip(batch_norms, momenta):
            module.momentum = momentum
        net.eval()


def torch_state_dict_as_numpy(net) -> dict[str, np.ndarray]:
    """``net.state_dict()`` as {key: float32 numpy array} (counters left as they are)."""
    return {key: value.detach().cpu().numpy() for key, value in net.state_dict().items()}


def paired_models(
    num_stacks: int,
    num_features: int = 256,
    num_joints: int = 16,
    input_size: int = 256,
    seed: int = 0,
    calibration_count: int = 4,
):
    """Build the Keras model and the reference ``PoseNet`` with identical weights.

    Args:
        num_stacks: hourglasses.
        num_features: channels inside the hourglasses (256 in the paper).
        num_joints: K.
        input_size: side of the square input, a multiple of 64 (the reference's depth is 4).
        seed: seed of the weights and of the calibration images.
        calibration_count: images of the BatchNorm calibration batch (>= 2).

    Returns:
        ``(keras_model, torch_net)``: ``build_stacked_hourglass(num_stacks, num_joints,
        num_features, num_residuals=1, depth=4, input_shape=(S, S, 3))`` and the eval-mode
        ``PoseNet``; their outputs agree to float32 rounding.

    Example:
        >>> model, net = paired_models(num_stacks=2, num_features=64, input_size=64)
        >>> model.output_names, net.nstack
        (['stack_1', 'stack_2'], 2)
    """
    from hg_keras.weights.pytorch_port import load_port_weights

    net = reference_posenet(num_stacks, num_features, num_joints, seed)
    estimate_batch_norm_statistics(
        net, calibration_images(max(calibration_count, 2), input_size, seed)
    )
    model = build_stacked_hourglass(
        num_stacks=num_stacks,
        num_joints=num_joints,
        num_features=num_features,
        num_residuals=1,
        depth=REFERENCE_DEPTH,
        input_shape=(input_size, input_size, 3),
    )
    load_port_weights(model, torch_state_dict_as_numpy(net), source="reference PoseNet")
    return model, net
