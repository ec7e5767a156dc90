"""Convert an official PyTorch port checkpoint (princeton-vl/pytorch_stacked_hourglass) to .keras.

Usage:
    python scripts/convert_weights.py checkpoint.pt --out saved_models/hg8_mpii.keras

Needs PyTorch to read the checkpoint: pip install 'hg-keras[convert]'. The result loads with
keras.models.load_model(path) and works with the evaluate, export and predict commands.
"""

from __future__ import annotations

import argparse
import sys

from hg_keras.weights import from_pytorch_port, save_model_atomically


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", help="the port's checkpoint.pt")
    parser.add_argument("--out", required=True, help="destination .keras file")
    parser.add_argument(
        "--num-stacks",
        type=int,
        default=None,
        help="expected number of stacks (default: read from the checkpoint)",
    )
    parser.add_argument(
        "--input-size",
        type=int,
        default=256,
        help="side of the square model input in pixels, a multiple of 64 (default 256)",
    )
    args = parser.parse_args(argv)
    if not args.out.endswith(".keras"):
        parser.error(f"--out {args.out}: the output file name must end in .keras")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    model = from_pytorch_port(
        args.checkpoint,
        num_stacks=args.num_stacks,
        input_shape=(args.input_size, args.input_size, 3),
    )
    out = save_model_atomically(model, args.out)
    heatmaps = model.outputs[-1].shape
    print(
        f"{args.checkpoint}: {len(model.outputs)} stacks, {heatmaps[-1]} joints, "
        f"{model.get_layer('stem_res3_conv3').filters} features -> {out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
