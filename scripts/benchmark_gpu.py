#!/usr/bin/env python
"""GPU benchmark without TensorFlow: ``KERAS_BACKEND=jax python scripts/benchmark_gpu.py``.

Keras (JAX backend by default) against the PyTorch reference, fp32 and bf16: forward latency
at batch 1, training images/s at batch 16, for 8 and 2 stacks, and the projected wall-clock
of the paper's schedule. Writes markdown to ``--out`` (and prints it). ``--tiny`` runs tiny
models, on CPU too: ``python scripts/benchmark_gpu.py --tiny --backend torch``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("jax", "torch"), default=None,
                        help="Keras backend (default: $KERAS_BACKEND, else jax)")
    parser.add_argument("--tiny", action="store_true",
                        help="tiny models and 2 repetitions: a smoke test that runs on CPU")
    parser.add_argument("--out", type=Path, default=None,
                        help="markdown report to write (default: print only; "
                             "docs/BENCHMARKS_GPU.md is where docs/BENCHMARKS.md looks)")
    parser.add_argument("--stacks", type=int, nargs="+", default=None,
                        help="numbers of stacks (default: 8 2; --tiny: 1 2)")
    parser.add_argument("--precisions", nargs="+", choices=("fp32", "bf16"), default=None,
                        help="precisions (default: both)")
    parser.add_argument("--epochs", type=int, default=100,
                        help="epochs of the projected schedule (default 100)")
    parser.add_argument("--people-per-epoch", type=int, default=22_000,
                        help="training people per epoch of the projected schedule (default 22000)")
    parser.add_argument("--budget-min", type=float, default=9.0,
                        help="start no new measurement after this many minutes (default 9)")
    parser.add_argument("--json", type=Path, default=None, help="also write raw results here")
    return parser.parse_args(argv)


def prepare_process(backend: str | None) -> str:
    """Choose the Keras backend before anything imports keras (``import hg_keras`` does)."""
    backend = backend or os.environ.get("KERAS_BACKEND") or "jax"
    if backend not in ("jax", "torch"):
        raise SystemExit(
            f"KERAS_BACKEND={backend!r}: the GPU benchmark runs the backend-agnostic model "
            "without TensorFlow; use --backend jax or --backend torch"
        )
    os.environ["KERAS_BACKEND"] = backend
    # JAX would otherwise reserve 75% of GPU memory up front, starving the PyTorch side.
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    return backend


def main(argv=None) -> int:
    args = parse_args(argv)
    prepare_process(args.backend)
    from hg_keras.benchmarks.gpu import (
        GpuSettings,
        render_gpu_report,
        run_gpu_benchmark,
    )

    overrides = {
        "epochs": args.epochs,
        "people_per_epoch": args.people_per_epoch,
        "budget_s": 60.0 * args.budget_min,
    }
    if args.stacks:
        overrides["stacks"] = tuple(args.stacks)
    if args.precisions:
        overrides["precisions"] = tuple(args.precisions)
    settings = GpuSettings.tiny(**overrides) if args.tiny else GpuSettings(**overrides)
    results = run_gpu_benchmark(settings, log=lambda line: print(line, flush=True))
    report = render_gpu_report(results)
    print(report)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(report)
        print(f"wrote {args.out}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
