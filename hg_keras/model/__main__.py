"""``python -m hg_keras.model --stacks 8 --summary``: build a model and describe it.

Prints the Keras summary (with ``--summary``), the trainable parameter count and the FLOPs of
one forward pass.
"""

from __future__ import annotations

import argparse

from hg_keras.model.stacked import (
    VARIANTS,
    build_stacked_hourglass,
    count_flops,
    trainable_parameter_count,
)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hg_keras.model", description=__doc__)
    parser.add_argument("--stacks", type=int, default=8, help="number of hourglasses (default 8)")
    parser.add_argument("--joints", type=int, default=16, help="heatmaps per output (default 16)")
    parser.add_argument("--features", type=int, default=256, help="channels (default 256)")
    parser.add_argument("--residuals", type=int, default=None,
                        help="residual modules per resolution (default: the variant's)")
    parser.add_argument("--input-size", type=int, default=256,
                        help="square input side (default 256)")
    parser.add_argument("--variant", choices=VARIANTS, default="stacked")
    parser.add_argument("--summary", action="store_true", help="print the layer-by-layer summary")
    args = parser.parse_args(argv)
    model = build_stacked_hourglass(
        num_stacks=args.stacks,
        num_joints=args.joints,
        num_features=args.features,
        num_residuals=args.residuals,
        input_shape=(args.input_size, args.input_size, 3),
        variant=args.variant,
    )
    if args.summary:
        model.summary(line_length=120)
    size = args.input_size
    print(f"model: {model.name}")
    print(f"outputs: {', '.join(model.output_names)}")
    print(f"trainable parameters: {trainable_parameter_count(model):,}")
    print(f"FLOPs per {size}x{size} image: {count_flops(model) / 1e9:.2f} G")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
