"""Command line of ``scripts/train.py`` and ``hg-train``: flags → ``TrainConfig`` → ``train``.

Example:
    python scripts/train.py --dataset synthetic --preset cpu-demo
    python scripts/train.py --dataset mpii --preset paper --batch-size 6
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys

from hg_keras.training.config import PRESETS, TrainConfig

_DEFAULTS = TrainConfig()


def _default(name: str) -> str:
    """Help text naming the paper's default and the cpu-demo preset's value."""
    paper = getattr(_DEFAULTS, name)
    demo = PRESETS["cpu-demo"].get(name, paper)
    paper, demo = ("none" if v is None else v for v in (paper, demo))
    if demo == paper:
        return f"(default: {paper})"
    return f"(paper: {paper}; cpu-demo: {demo})"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; every default is shown in ``--help``."""
    parser = argparse.ArgumentParser(
        prog="train.py",
        description="Train a stacked hourglass network (Newell et al., ECCV 2016). Unset "
        "flags take the preset's value; the 'paper' preset is the paper's setup (§3.4).",
    )
    add = parser.add_argument
    add("--dataset", default=None,
        help="flic | mpii | synthetic | coco:PATH (default: synthetic, generated on first use)")
    add("--preset", default=None, choices=sorted(PRESETS),
        help="starting values: 'paper' (8 stacks, 256 px) or 'cpu-demo' (2 stacks, 128 px, "
        "minutes on a CPU) (default: cpu-demo with the synthetic set, else paper)")
    add("--run-dir", default=None, help="output folder (default: runs/{dataset}-{preset})")
    add("--data-root", default=None, help=f"dataset folder {_default('data_root')}")
    add("--stacks", dest="num_stacks", type=int, help=f"hourglasses {_default('num_stacks')}")
    add("--features", dest="num_features", type=int, help=f"channels {_default('num_features')}")
    add("--residuals", dest="num_residuals", type=int,
        help=f"residual modules per resolution {_default('num_residuals')}")
    add("--variant", choices=("stacked", "stacked_no_int", "hg", "hg_int"),
        help=f"ablation variant {_default('variant')}")
    add("--input-size", type=int, help=f"input side in pixels {_default('input_size')}")
    add("--batch-size", type=int, help=f"global batch size {_default('batch_size')}")
    add("--epochs", type=int, help=f"epochs {_default('epochs')}")
    add("--steps-per-epoch", type=int,
        help=f"batches per epoch; unset = one pass {_default('steps_per_epoch')}")
    add("--lr", dest="learning_rate", type=float, help=f"learning rate {_default('learning_rate')}")
    add("--optimizer", choices=("rmsprop", "adam"), help=f"{_default('optimizer')}")
    add("--sigma", dest="heatmap_sigma_px", type=float,
        help=f"target Gaussian sigma at output resolution {_default('heatmap_sigma_px')}")
    add("--rotation-deg", type=float, help=f"rotation range ± {_default('rotation_deg')}")
    add("--scale-range", type=float, nargs=2, help=f"scale factor range {_default('scale_range')}")
    add("--flip-prob", type=float, help=f"horizontal flip probability {_default('flip_prob')}")
    add("--color-jitter", type=float, help=f"per-channel colour jitter {_default('color_jitter')}")
    add("--val-every", type=int, help=f"validate every N epochs {_default('val_every')}")
    add("--val-samples", type=int, help=f"validate on at most N people {_default('val_samples')}")
    add("--no-val-flip", dest="val_flip_test", action="store_false", default=None,
        help="validate without the flip test")
    add("--lr-schedule", choices=("plateau", "step", "budget"),
        help=f"plateau: drop once on a plateau (paper); step: drop at --lr-step-epochs; "
        f"budget: drop once at --lr-drop-at of --time-limit-min {_default('lr_schedule')}")
    add("--lr-drop-factor", type=float, help=f"{_default('lr_drop_factor')}")
    add("--lr-patience", type=int, help=f"epochs without improvement {_default('lr_patience')}")
    add("--lr-min-delta", type=float, help=f"percentage points {_default('lr_min_delta')}")
    add("--max-lr-drops", type=int, help=f"{_default('max_lr_drops')}")
    add("--lr-step-epochs", type=int, nargs="+", help=f"{_default('lr_step_epochs')}")
    add("--time-limit-min", type=float,
        help=f"stop before this many minutes of training, validating and saving the last "
        f"epoch; 0 = no limit {_default('time_limit_min')}")
    add("--lr-drop-at", type=float,
        help=f"fraction of --time-limit-min after which --lr-schedule budget drops "
        f"{_default('lr_drop_at')}")
    add("--mixed-precision", nargs="?", const="mixed_float16",
        choices=("none", "mixed_float16", "mixed_bfloat16"),
        help="mixed precision policy (flag alone: mixed_float16, for GPUs) (default: none)")
    add("--jit-compile", action="store_true", default=None, help="compile with XLA")
    add("--steps-per-execution", type=int, help=f"{_default('steps_per_execution')}")
    add("--strategy", choices=("default", "mirrored", "multiworker"),
        help="tf.distribute strategy: mirrored = all local GPUs, multiworker = hosts from "
        "TF_CONFIG (default: default)")
    add("--scale-lr-with-replicas", action="store_true", default=None,
        help="multiply the learning rate by the number of replicas")
    add("--synthetic-images", type=int,
        help=f"size of the synthetic set {_default('synthetic_images')}")
    add("--seed", type=int, help=f"{_default('seed')}")
    add("--no-tensorboard", dest="tensorboard", action="store_false", default=None,
        help="do not write TensorBoard logs under run-dir/tensorboard")
    add("--resume", action="store_true", help="continue a run whose config.json differs")
    add("--overwrite", action="store_true", help="delete an existing run directory first")
    add("--print-config", action="store_true", help="print the resolved config and exit")
    return parser


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """Turn parsed flags into a ``TrainConfig`` (unset flags keep the preset's values)."""
    dataset = args.dataset or "synthetic"
    preset = args.preset or ("cpu-demo" if dataset == "synthetic" else "paper")
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    overrides = {
        k: v for k, v in vars(args).items() if k in names and k not in ("dataset", "preset")
    }
    for key in ("scale_range", "lr_step_epochs"):
        if overrides.get(key) is not None:
            overrides[key] = tuple(overrides[key])
    return TrainConfig.from_preset(preset, dataset=dataset, **overrides)


def main(argv=None) -> int:
    """Entry point of ``scripts/train.py`` and the ``hg-train`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        config = config_from_args(args)
    except ValueError as error:
        parser.error(str(error))
    if args.dataset is None:
        logging.info("--dataset not given: using the generated synthetic dataset")
    if args.print_config:
        print(json.dumps(config.to_dict(), indent=2))
        return 0
    from hg_keras.datasets.registry import DatasetNotFoundError
    from hg_keras.training.trainer import RunDirectoryError, train

    try:
        summary = train(config, resume=args.resume, overwrite=args.overwrite)
    except (DatasetNotFoundError, RunDirectoryError, OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
