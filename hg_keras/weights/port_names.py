"""Which layer of ``build_stacked_hourglass`` holds which tensor of the PyTorch port's checkpoint.

The official PyTorch port (princeton-vl/pytorch_stacked_hourglass, ``PoseNet``) names its
modules after their place in the code (``pre.1``, ``hgs.0.0.low2.low1``, ``outs.0``); ours are
named after the paper's parts (``stem_res1``, ``stack1_hg_down2_res1``, ``stack1_heatmaps``).
``port_layer_map`` is the table between the two; ``infer_port_architecture`` reads the sizes
of the network from the checkpoint's keys and shapes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Sub-modules of the port's ``Residual`` and the suffix of our matching layer.
RESIDUAL_PARTS = (
    ("bn1", "bn1"),
    ("conv1.conv", "conv1"),
    ("bn2", "bn2"),
    ("conv2.conv", "conv2"),
    ("bn3", "bn3"),
    ("conv3.conv", "conv3"),
    ("skip_layer.conv", "skip"),
)

#: Suffix of every skip convolution in the port; it exists even where the port never uses it.
SKIP_SUFFIX = ".skip_layer.conv"


@dataclass(frozen=True)
class PortArchitecture:
    """Sizes of a port ``PoseNet``, as read from its state_dict.

    Attributes:
        num_stacks: hourglasses in sequence (the port's ``nstack``).
        num_joints: K, heatmaps per stack (``oup_dim``).
        num_features: channels inside the hourglasses (``inp_dim``).
        depth: pooling steps of each hourglass (4 in the port).
    """

    num_stacks: int
    num_joints: int
    num_features: int
    depth: int


def residual_pairs(torch_prefix: str, keras_prefix: str) -> list[tuple[str, str]]:
    """The seven weighted layers of one residual module, port name → our name.

    Example:
        >>> residual_pairs("pre.1", "stem_res1")[:2]
        [('pre.1.bn1', 'stem_res1_bn1'), ('pre.1.conv1.conv', 'stem_res1_conv1')]
    """
    return [
        (f"{torch_prefix}.{part}", f"{keras_prefix}_{ours}")
        for part, ours in RESIDUAL_PARTS
    ]


def _hourglass_pairs(torch_prefix: str, keras_prefix: str, depth: int, level: int = 1):
    """Pairs of one hourglass level and, through ``low2``, of every level below it."""
    pairs = residual_pairs(f"{torch_prefix}.up1", f"{keras_prefix}_skip{level}_res1")
    pairs += residual_pairs(f"{torch_prefix}.low1", f"{keras_prefix}_down{level}_res1")
    if level < depth:
        pairs += _hourglass_pairs(
            f"{torch_prefix}.low2", keras_prefix, depth, level + 1
        )
    else:
        pairs += residual_pairs(f"{torch_prefix}.low2", f"{keras_prefix}_bottom_res1")
    pairs += residual_pairs(f"{torch_prefix}.low3", f"{keras_prefix}_up{level}_res1")
    return pairs


def port_layer_map(num_stacks: int, depth: int = 4) -> list[tuple[str, str]]:
    """Every weighted layer of the port's ``PoseNet`` and the name of our matching layer.

    Each pair is (port module path without the ``model.module.`` prefix, Keras layer name of
    ``build_stacked_hourglass(num_stacks, num_residuals=1, depth=depth)``). Convolutions map
    their ``weight``/``bias``, batch norms their ``weight``/``bias``/``running_mean``/
    ``running_var``. Residual skip convolutions are listed for every module, as the port
    stores them; our model has the layer only where the channel count changes.

    Args:
        num_stacks: number of hourglasses.
        depth: pooling steps of each hourglass.

    Returns:
        List of (torch_module_path, keras_layer_name) string pairs, stem first.

    Example:
        >>> table = dict(port_layer_map(num_stacks=2))
        >>> table["hgs.1.0.low2.low2.low3.conv2.conv"]
        'stack2_hg_up3_res1_conv2'
        >>> table["merge_preds.0.conv.conv"]
        'stack1_remap_heatmaps'
    """
    pairs = [
        ("pre.0.conv", "stem_conv"),
        ("pre.0.bn", "stem_bn"),
        *residual_pairs("pre.1", "stem_res1"),
        # pre.2 is the max-pool.
        *residual_pairs("pre.3", "stem_res2"),
        *residual_pairs("pre.4", "stem_res3"),
    ]
    for i in range(num_stacks):
        stack = f"stack{i + 1}"
        pairs += _hourglass_pairs(f"hgs.{i}.0", f"{stack}_hg", depth)
        pairs += residual_pairs(f"features.{i}.0", f"{stack}_head_res1")
        pairs += [
            (f"features.{i}.1.conv", f"{stack}_head_conv"),
            (f"features.{i}.1.bn", f"{stack}_head_bn"),
            (f"outs.{i}.conv", f"{stack}_heatmaps"),
        ]
        if i < num_stacks - 1:
            pairs += [
                (f"merge_features.{i}.conv.conv", f"{stack}_remap_features"),
                (f"merge_preds.{i}.conv.conv", f"{stack}_remap_heatmaps"),
            ]
    return pairs


def _shape_of(shapes: dict, key: str, source: str) -> tuple:
    if key not in shapes:
        raise ValueError(
            f"{source}: key {key!r} is missing; this does not look like a checkpoint of the "
            "PyTorch port's PoseNet (princeton-vl/pytorch_stacked_hourglass)"
        )
    return tuple(shapes[key])


def infer_port_architecture(
    shapes: dict, source: str = "checkpoint"
) -> PortArchitecture:
    """Read stacks, joints, features and hourglass depth from a port state_dict.

    Args:
        shapes: state_dict key (without the ``model.module.`` prefix) → tensor shape
            (any sequence of ints; arrays' ``.shape`` work).
        source: name of the checkpoint, for error messages.

    Returns:
        ``PortArchitecture``.

    Raises:
        ValueError: naming the key, when a key the port always has is missing or the
            network uses the port's ``increase`` option (a wider lower branch), which our
            model does not have.

    Example:
        >>> infer_port_architecture({"pre.0.conv.weight": (64, 3, 7, 7),
        ...     "pre.4.conv3.conv.weight": (256, 128, 1, 1), "outs.0.conv.weight": (16, 256, 1, 1),
        ...     "hgs.0.0.low1.conv3.conv.weight": (256, 128, 1, 1),
        ...     "hgs.1.0.low2.low2.low2.low2.bn1.weight": (256,),
        ...     "hgs.0.0.low2.low2.low2.low2.bn1.weight": (256,)})
        PortArchitecture(num_stacks=2, num_joints=16, num_features=256, depth=4)
    """
    _shape_of(shapes, "pre.0.conv.weight", source)
    num_features = _shape_of(shapes, "pre.4.conv3.conv.weight", source)[0]
    num_joints = _shape_of(shapes, "outs.0.conv.weight", source)[0]
    stacks = {
        int(m.group(1)) for key in shapes if (m := re.match(r"hgs\.(\d+)\.", key))
    }
    num_stacks = max(stacks, default=-1) + 1
    # The bottom residual of a depth-d hourglass is reached through d nested ``low2``.
    depth = max(
        (key.split(".").count("low2") for key in shapes if key.startswith("hgs.0.0.")),
        default=0,
    )
    if depth < 1:
        raise ValueError(
            f"{source}: no key starts with 'hgs.0.0.low2'; cannot read the depth"
        )
    lower = _shape_of(shapes, "hgs.0.0.low1.conv3.conv.weight", source)[0]
    if lower != num_features:
        raise ValueError(
            f"{source}: hgs.0.0.low1 has {lower} output channels but the hourglass has "
            f"{num_features}; networks trained with the port's increase != 0 are not supported"
        )
    return PortArchitecture(
        int(num_stacks), int(num_joints), int(num_features), int(depth)
    )
