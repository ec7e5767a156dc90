"""Load the official PyTorch port's MPII checkpoints into ``build_stacked_hourglass`` models.

The port (princeton-vl/pytorch_stacked_hourglass) saves ``{"state_dict", "optimizer",
"epoch"}`` with keys prefixed ``model.module.``. Convolution kernels go from PyTorch's
(out, in, kh, kw) to Keras' (kh, kw, in, out); batch norms map weight/bias/running_mean/
running_var to gamma/beta/moving_mean/moving_variance (both use epsilon 1e-5). Only reading
the file needs ``torch`` (``pip install 'hg-keras[convert]'``); the rest is numpy.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import keras
import numpy as np

from hg_keras.model.stacked import build_stacked_hourglass
from hg_keras.weights.port_names import (
    SKIP_SUFFIX,
    PortArchitecture,
    infer_port_architecture,
    port_layer_map,
)

#: Key prefixes the port's checkpoints carry (Trainer.model = DataParallel(PoseNet)), longest first.
KEY_PREFIXES = ("model.module.", "module.", "model.")

_CONV_TENSORS = ("weight", "bias")
_BN_TENSORS = ("weight", "bias", "running_mean", "running_var")
_BN_IGNORED = "num_batches_tracked"


def _import_torch():
    try:
        import torch
    except ImportError as error:
        raise ImportError(
            "reading a PyTorch checkpoint needs PyTorch, an optional dependency of hg_keras; "
            "install it with: pip install 'hg-keras[convert]'"
        ) from error
    return torch


def strip_key_prefix(state_dict: dict) -> dict:
    """Drop the ``model.module.`` (or ``module.``/``model.``) prefix shared by every key."""
    for prefix in KEY_PREFIXES:
        if state_dict and all(key.startswith(prefix) for key in state_dict):
            return {key[len(prefix) :]: value for key, value in state_dict.items()}
    return dict(state_dict)


def read_port_state_dict(path) -> dict[str, np.ndarray]:
    """Read a port checkpoint as {key without prefix: float32 numpy array}.

    Loads with ``torch.load(..., weights_only=True)``: tensors and plain containers only, no
    code from the file is run. Accepts the port's ``{"state_dict": ...}`` files and bare
    state_dicts.

    Args:
        path: the ``checkpoint.pt`` file.

    Returns:
        dict mapping e.g. ``"pre.0.conv.weight"`` to a float32 array of shape (64, 3, 7, 7).

    Raises:
        ImportError: torch is not installed.
        ValueError: naming the file, when it holds anything but weights or no state_dict.

    Example:
        >>> tensors = read_port_state_dict("checkpoint.pt")
        >>> tensors["outs.0.conv.weight"].shape
        (16, 256, 1, 1)
    """
    torch = _import_torch()
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: checkpoint file not found")
    try:
        checkpoint = torch.load(os.fspath(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise ValueError(
            f"{path}: refused by torch.load(weights_only=True); the file holds objects other "
            f"than tensors and plain containers: {error}"
        ) from error
    state_dict = (
        checkpoint.get("state_dict", checkpoint)
        if isinstance(checkpoint, dict)
        else None
    )
    if not isinstance(state_dict, dict) or not all(
        isinstance(value, torch.Tensor) for value in state_dict.values()
    ):
        raise ValueError(
            f"{path}: expected a dict with a 'state_dict' of tensors (the port's checkpoint "
            "format) or a state_dict itself"
        )
    return {
        key: value.detach().cpu().float().numpy()
        if value.is_floating_point()
        else value.detach().cpu().numpy()
        for key, value in strip_key_prefix(state_dict).items()
    }


def _format_keys(keys) -> str:
    return ", ".join(sorted(keys))


def _torch_to_keras(layer, torch_prefix: str, state_dict: dict):
    """Keras weights for ``layer`` from the port's tensors, plus the keys they came from."""
    if isinstance(layer, keras.layers.BatchNormalization):
        keys = [f"{torch_prefix}.{name}" for name in _BN_TENSORS]
        convert = [lambda t: t] * 4
    elif isinstance(layer, keras.layers.Conv2D):
        keys = [f"{torch_prefix}.{name}" for name in _CONV_TENSORS]
        convert = [lambda t: np.transpose(t, (2, 3, 1, 0)), lambda t: t]  # OIHW -> HWIO
    else:
        raise TypeError(
            f"layer {layer.name!r} is a {type(layer).__name__}; no port mapping"
        )
    missing = [key for key in keys if key not in state_dict]
    if missing:
        return None, keys, missing
    values = [
        np.asarray(f(state_dict[key]), dtype=np.float32)
        for f, key in zip(convert, keys)
    ]
    return values, keys, []


def _unused_skip(state_dict: dict, torch_prefix: str) -> bool:
    """True for a skip convolution the port never applies (in == out channels)."""
    weight = state_dict.get(f"{torch_prefix}.weight")
    return (
        torch_prefix.endswith(SKIP_SUFFIX)
        and weight is not None
        and weight.ndim == 4
        and weight.shape[0] == weight.shape[1]
    )


def load_port_weights(
    model: keras.Model, state_dict: dict, source: str = "state_dict"
) -> None:
    """Copy a port state_dict into ``model`` (built by ``build_stacked_hourglass``), in place.

    Every tensor must land in a layer of the same shape, except the port's unused skip
    convolutions (residual modules with equal in and out channels) and BatchNorm
    ``num_batches_tracked`` counters, which are ignored. Nothing is written unless all of it
    matches.

    Args:
        model: a ``"stacked"`` model with ``num_residuals=1`` of the checkpoint's sizes.
        state_dict: key without prefix → numpy array (``read_port_state_dict``).
        source: name of the checkpoint, for error messages.

    Raises:
        ValueError: listing every missing key, unmatched key, shape mismatch and model layer
            left without weights.

    Example:
        >>> model = build_stacked_hourglass(num_stacks=2)
        >>> load_port_weights(model, read_port_state_dict("checkpoint.pt"), "checkpoint.pt")
    """
    arch = infer_port_architecture(
        {k: np.shape(v) for k, v in state_dict.items()}, source
    )
    layers_by_name = {layer.name: layer for layer in model.layers}
    used, missing, mismatched, assignments = set(), [], [], []
    for torch_prefix, keras_name in port_layer_map(arch.num_stacks, arch.depth):
        layer = layers_by_name.get(keras_name)
        if layer is None:
            skip_keys = {f"{torch_prefix}.{name}" for name in _CONV_TENSORS}
            if _unused_skip(state_dict, torch_prefix):
                used.update(skip_keys)  # the port stores it but never applies it
            elif not torch_prefix.endswith(SKIP_SUFFIX) or skip_keys & set(state_dict):
                mismatched.append(
                    f"{torch_prefix} has no layer {keras_name!r} in the model"
                )
            continue
        values, keys, missing_here = _torch_to_keras(layer, torch_prefix, state_dict)
        missing += missing_here
        if values is None:
            continue
        used.update(keys)
        if isinstance(layer, keras.layers.BatchNormalization):
            used.add(f"{torch_prefix}.{_BN_IGNORED}")
        for key, value, weight in zip(keys, values, layer.weights):
            if tuple(value.shape) != tuple(weight.shape):
                mismatched.append(
                    f"{key} {tuple(np.shape(state_dict[key]))} -> {weight.path} "
                    f"{tuple(weight.shape)}"
                )
        assignments.append((layer, values))
    assigned = {layer.name for layer, _ in assignments}
    unfilled = [
        layer.name
        for layer in model.layers
        if layer.weights and layer.name not in assigned
    ]
    unmatched = set(state_dict) - used
    problems = []
    if missing:
        problems.append(f"missing keys: {_format_keys(missing)}")
    if unmatched:
        problems.append(f"unmatched keys: {_format_keys(unmatched)}")
    if mismatched:
        problems.append(f"shape or layer mismatches: {'; '.join(mismatched)}")
    if unfilled:
        problems.append(
            f"model layers without weights in the checkpoint: {', '.join(unfilled)}"
        )
    if problems:
        raise ValueError(
            f"{source}: cannot load into {model.name!r}: " + " | ".join(problems)
        )
    for layer, values in assignments:
        layer.set_weights(values)


def model_for_port_architecture(
    arch: PortArchitecture, input_shape=(256, 256, 3)
) -> keras.Model:
    """The ``build_stacked_hourglass`` model with the same sizes as a port ``PoseNet``."""
    return build_stacked_hourglass(
        num_stacks=arch.num_stacks,
        num_joints=arch.num_joints,
        num_features=arch.num_features,
        num_residuals=1,
        depth=arch.depth,
        input_shape=input_shape,
        variant="stacked",
    )


def from_pytorch_port(
    path, num_stacks: int | None = None, *, input_shape=(256, 256, 3)
) -> keras.Model:
    """Build our model with the weights of an official PyTorch port checkpoint.

    Stacks, joints, features and hourglass depth are read from the checkpoint. The result is
    a plain ``build_stacked_hourglass`` model (outputs ``stack_1`` … ``stack_S``), taking
    float32 RGB in [0, 1], NHWC, as the port's network does.

    Args:
        path: the port's ``checkpoint.pt`` (``{"state_dict", "optimizer", "epoch"}``).
        num_stacks: expected number of stacks; None to take it from the checkpoint.
        input_shape: (H, W, 3) of the model input, sides multiples of 64.

    Returns:
        ``keras.Model`` whose outputs match the port's ``PoseNet`` output
        (N, S, K, H/4, W/4) transposed to a list of S arrays (N, H/4, W/4, K).

    Raises:
        ImportError: torch is not installed.
        ValueError: naming the file, when ``num_stacks`` disagrees with the checkpoint or
            keys are missing or unmatched.

    Example:
        >>> model = from_pytorch_port("checkpoint.pt")  # the port's 8-stack MPII model
        >>> model.output_names[-1]
        'stack_8'
    """
    source = os.fspath(path)
    state_dict = read_port_state_dict(path)
    arch = infer_port_architecture({k: v.shape for k, v in state_dict.items()}, source)
    if num_stacks is not None and num_stacks != arch.num_stacks:
        raise ValueError(
            f"{source}: holds a {arch.num_stacks}-stack network but num_stacks={num_stacks}"
        )
    model = model_for_port_architecture(arch, input_shape)
    load_port_weights(model, state_dict, source)
    return model
