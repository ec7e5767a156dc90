"""The stacked hourglass network (paper §3.3) and the ablation variants of §4.2.

``build_stacked_hourglass`` is one readable functional-API function: stem, then per stack an
hourglass, a head that predicts heatmaps, and (between stacks) the 1x1 remaps of heatmaps
and features added into the next stack's input.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import keras
from keras import layers

from hg_keras.model.layers import (
    batch_norm,
    conv,
    hourglass,
    keras_input,
    residual_sequence,
    stem,
)

VARIANTS = ("stacked", "stacked_no_int", "hg", "hg_int")

# Per variant: (default stacks, default residuals per resolution).
_VARIANT_DEFAULTS = {
    "stacked": (8, 1),
    "stacked_no_int": (2, 4),
    "hg": (1, 8),
    "hg_int": (1, 8),
}

# Resolutions (side of the feature map) at which ``hg_int`` adds intermediate supervision:
# after upsampling at the next two resolutions above the 64x64 output (paper §4.2).
HG_INT_LEVELS = (2, 3)


@dataclass(frozen=True)
class Ablation:
    """One network of the paper's ablation study (Fig. 8–9)."""

    variant: str
    num_stacks: int
    num_residuals: int


#: The networks of Fig. 8 (names as in the paper) and the equal-parameter stacks of Fig. 9.
PAPER_ABLATIONS = {
    "HG": Ablation("hg", 1, 8),
    "HG-Int": Ablation("hg_int", 1, 8),
    "HG-Stacked": Ablation("stacked_no_int", 2, 4),
    "HG-Stacked-Int": Ablation("stacked", 2, 4),
    "2-Stack": Ablation("stacked", 2, 4),
    "4-Stack": Ablation("stacked", 4, 2),
    "8-Stack": Ablation("stacked", 8, 1),
}


def _check_positive_int(value, argument: str, allowed: str):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{argument}={value!r} is invalid; {argument} must be {allowed}")


def _validate(num_stacks, num_joints, num_features, num_residuals, depth, input_shape, variant):
    if variant not in VARIANTS:
        raise ValueError(f"variant={variant!r} is unknown; variant must be one of {VARIANTS}")
    _check_positive_int(num_stacks, "num_stacks", "an integer >= 1")
    _check_positive_int(num_joints, "num_joints", "an integer >= 1")
    _check_positive_int(num_residuals, "num_residuals", "an integer >= 1")
    _check_positive_int(depth, "depth", "an integer >= 1")
    _check_positive_int(num_features, "num_features", "an even integer >= 2")
    if num_features % 2:
        raise ValueError(f"num_features={num_features} is invalid; num_features must be even")
    if variant in ("hg", "hg_int") and num_stacks != 1:
        raise ValueError(
            f"num_stacks={num_stacks} is invalid for variant={variant!r}; it must be 1"
        )
    if variant == "hg_int" and depth < max(HG_INT_LEVELS):
        raise ValueError(f"depth={depth} is invalid for variant='hg_int'; it must be >= 3")
    if len(input_shape) != 3 or input_shape[-1] != 3:
        raise ValueError(f"input_shape={tuple(input_shape)} is invalid; it must be (H, W, 3)")
    divisor = 2 ** (depth + 2)
    for side in input_shape[:2]:
        if not isinstance(side, int) or side < divisor or side % divisor:
            raise ValueError(
                f"input_shape={tuple(input_shape)} is invalid; height and width must be "
                f"positive multiples of 2**(depth+2) = {divisor} for depth={depth}"
            )


def build_stacked_hourglass(
    num_stacks: int | None = None,
    num_joints: int = 16,
    num_features: int = 256,
    num_residuals: int | None = None,
    depth: int = 4,
    input_shape=(256, 256, 3),
    variant: str = "stacked",
    name: str | None = None,
) -> keras.Model:
    """Build the stacked hourglass network as a functional ``keras.Model``.

    Args:
        num_stacks: hourglasses in sequence (default 8 for ``"stacked"``, 2 for
            ``"stacked_no_int"``, 1 for ``"hg"``/``"hg_int"``).
        num_joints: K, heatmaps per output (16 MPII, 11 FLIC, any K for custom data).
        num_features: channels inside the hourglasses (256 in the paper).
        num_residuals: residual modules at each position of the hourglass and the head
            (default 1 for ``"stacked"``, 4 for ``"stacked_no_int"``, 8 for ``"hg"``/``"hg_int"``).
            Equal-parameter stacking of Fig. 9 uses ``8 // num_stacks``.
        depth: pooling steps inside each hourglass (4: 64x64 down to 4x4).
        input_shape: (H, W, 3), each side a multiple of ``2**(depth+2)``; outputs are H/4 x W/4.
        variant: ``"stacked"`` (a supervised output per stack), ``"stacked_no_int"`` (same
            network, only the last stack is an output, so only it is supervised), ``"hg"`` (one
            hourglass), ``"hg_int"`` (one hourglass plus supervision after upsampling at the two
            resolutions above the output: 1x1 conv to K heatmaps at a quarter and at half the
            output resolution (16x16 and 32x32 for a 256x256 input), resized bilinearly to the
            output resolution; outputs ``int_quarter_res``, ``int_half_res``, ``stack_1``).
        name: model name (default ``"stacked_hourglass_{S}x{N}"``).

    Returns:
        A ``keras.Model`` taking float32 RGB images in [0, 1], (batch, H, W, 3), and returning
        a list of heatmap tensors (batch, H/4, W/4, K), outputs named ``stack_1`` … ``stack_S``.

    Raises:
        ValueError: naming the argument, for nonsensical sizes or an unknown variant.

    Example:
        >>> model = build_stacked_hourglass(num_stacks=2, num_joints=16)
        >>> model.output_names
        ['stack_1', 'stack_2']
        >>> trainable_parameter_count(model)
        6570400
    """
    default_stacks, default_residuals = _VARIANT_DEFAULTS.get(variant, (8, 1))
    num_stacks = default_stacks if num_stacks is None else num_stacks
    num_residuals = default_residuals if num_residuals is None else num_residuals
    input_shape = tuple(input_shape)
    _validate(num_stacks, num_joints, num_features, num_residuals, depth, input_shape, variant)

    inputs = keras_input(input_shape)
    x = stem(inputs, num_features)
    outputs = []
    for stack in range(1, num_stacks + 1):
        prefix = f"stack{stack}"
        taps = {} if variant == "hg_int" else None
        hg = hourglass(x, depth, num_features, num_residuals, name=f"{prefix}_hg", taps=taps)
        if taps is not None:
            outputs.extend(_intermediate_outputs(taps, num_joints, input_shape))
        features = residual_sequence(hg, num_features, num_residuals, name=f"{prefix}_head")
        features = conv(num_features, 1, name=f"{prefix}_head_conv")(features)
        features = batch_norm(f"{prefix}_head_bn")(features)
        features = layers.ReLU(name=f"{prefix}_head_relu")(features)
        heatmaps = conv(num_joints, 1, name=f"{prefix}_heatmaps")(features)
        if variant != "stacked_no_int" or stack == num_stacks:
            outputs.append(layers.Identity(name=f"stack_{stack}")(heatmaps))
        if stack < num_stacks:
            remapped_heatmaps = conv(num_features, 1, name=f"{prefix}_remap_heatmaps")(heatmaps)
            remapped_features = conv(num_features, 1, name=f"{prefix}_remap_features")(features)
            x = layers.Add(name=f"{prefix}_merge")([x, remapped_heatmaps, remapped_features])
    if name is None:
        name = f"stacked_hourglass_{num_stacks}x{num_residuals}"
    return keras.Model(inputs, outputs, name=name)


def _intermediate_outputs(taps, num_joints, input_shape):
    """Heatmaps predicted at the hourglass' quarter- and half-resolution merges, resized."""
    results = []
    names = {2: "int_half_res", 3: "int_quarter_res"}
    for level in sorted(HG_INT_LEVELS, reverse=True):
        heatmaps = conv(num_joints, 1, name=f"{names[level]}_heatmaps")(taps[level])
        factor = 2 ** (level - 1)
        heatmaps = layers.UpSampling2D(factor, interpolation="bilinear", name=names[level])(
            heatmaps
        )
        results.append(heatmaps)
    return results


def build_ablation(name: str, num_joints: int = 16, **kwargs) -> keras.Model:
    """Build one of the paper's ablation networks by its Fig. 8/9 name.

    Args:
        name: a key of ``PAPER_ABLATIONS``: ``"HG"``, ``"HG-Int"``, ``"HG-Stacked"``,
            ``"HG-Stacked-Int"``, ``"2-Stack"``, ``"4-Stack"``, ``"8-Stack"``.
        num_joints: K.
        **kwargs: passed to ``build_stacked_hourglass`` (e.g. ``input_shape``).

    Example:
        >>> model = build_ablation("4-Stack")
        >>> len(model.outputs)
        4
    """
    if name not in PAPER_ABLATIONS:
        raise ValueError(f"ablation {name!r} is unknown; choose one of {sorted(PAPER_ABLATIONS)}")
    ablation = PAPER_ABLATIONS[name]
    return build_stacked_hourglass(
        num_stacks=ablation.num_stacks,
        num_residuals=ablation.num_residuals,
        num_joints=num_joints,
        variant=ablation.variant,
        name=name.lower().replace("-", "_"),
        **kwargs,
    )


def trainable_parameter_count(model: keras.Model) -> int:
    """Number of trainable scalars (conv kernels and biases, BN scales and offsets)."""
    return int(sum(math.prod(w.shape) for w in model.trainable_weights))


def count_flops(model: keras.Model) -> int:
    """Floating-point operations of one forward pass for one image (2 per multiply-add).

    Counts convolutions only (they are > 99% of the work); BN, ReLU, pooling and additions
    are left out, as is usual for published FLOP counts.

    Example:
        >>> round(count_flops(build_stacked_hourglass(num_stacks=8)) / 1e9, 1)
        54.9
    """
    total = 0
    for layer in model.layers:
        if isinstance(layer, layers.Conv2D):
            _, height, width, out_channels = layer.output.shape
            kernel_h, kernel_w = layer.kernel_size
            in_channels = layer.input.shape[-1]
            total += 2 * height * width * kernel_h * kernel_w * in_channels * out_channels
    return int(total)
