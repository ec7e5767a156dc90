#!/usr/bin/env python
"""Draw augmented training crops with their heatmap targets: ``docs/figures/augmentations.png``.

Usage: ``python scripts/show_augmentations.py [--dataset synthetic] [--out PATH]``.
"""

import argparse
import tempfile
from pathlib import Path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dataset",
        default="synthetic",
        help="'synthetic', 'flic', 'mpii' or 'coco:PATH' (default synthetic)",
    )
    parser.add_argument("--split", default="train")
    parser.add_argument(
        "--root",
        default=None,
        help="datasets folder (default: datasets/; synthetic: a fresh temporary "
        "set of --count images)",
    )
    parser.add_argument("--out", default="docs/figures/augmentations.png")
    parser.add_argument("--count", type=int, default=16, help="number of panels")
    parser.add_argument("--columns", type=int, default=4)
    parser.add_argument("--input-size", type=int, default=256)
    parser.add_argument("--heatmap-sigma-px", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    from hg_keras.data import PipelineConfig
    from hg_keras.data.preview import augmentation_grid
    from hg_keras.datasets.registry import load_dataset

    config = PipelineConfig(
        input_size=args.input_size, heatmap_sigma_px=args.heatmap_sigma_px
    )
    with tempfile.TemporaryDirectory() as scratch:
        if args.root is None and args.dataset == "synthetic":
            records, info = load_dataset(
                "synthetic",
                args.split,
                root=scratch,
                num_images=max(args.count, 20),
                seed=args.seed,
                progress=False,
            )
        else:
            records, info = load_dataset(
                args.dataset, args.split, root=args.root or "datasets"
            )
        figure = augmentation_grid(
            records,
            info,
            config,
            count=args.count,
            columns=args.columns,
            seed=args.seed,
        )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=110)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
