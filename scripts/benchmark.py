#!/usr/bin/env python
"""CPU benchmark against the PyTorch reference: ``python scripts/benchmark.py [--quick]``.

Writes docs/BENCHMARKS.md: inference latency of every path (Keras, XLA, SavedModel, TFLite
fp32/fp16/int8, LiteRT) against the reference ``PoseNet`` in PyTorch, where the time goes,
the training step, the input pipeline, and which speed targets are met. ``--quick`` runs
tiny models (a smoke test, a few minutes). A full run takes about an hour on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def parse_args(argv=None):
    from hg_keras.benchmarks.environment import available_cores
    from hg_keras.benchmarks.suite import SECTIONS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="tiny models, 2 repetitions: a smoke test, numbers mean nothing")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "docs" / "BENCHMARKS.md",
                        help="markdown report to write (default: docs/BENCHMARKS.md)")
    parser.add_argument("--threads", type=int, default=available_cores(),
                        help="threads of TensorFlow, PyTorch and TFLite "
                             "(default: the cores available, %(default)s here)")
    parser.add_argument("--sections", nargs="+", default=list(SECTIONS), choices=SECTIONS,
                        help="sections to run (default: all)")
    parser.add_argument("--pipeline", dest="sections", action="store_const",
                        const=["pipeline"], help="only the input pipeline: --sections pipeline")
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed rounds per measurement (default 5; 2 with --quick)")
    parser.add_argument("--json", type=Path, default=None,
                        help="also write the raw results as JSON here")
    parser.add_argument("--update", type=Path, default=None,
                        help="results JSON of an earlier run: re-run only --sections, keep the "
                             "other sections from the file, and rewrite the report (and the "
                             "JSON given with --json)")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from hg_keras.benchmarks.report import write_report
    from hg_keras.benchmarks.suite import BenchmarkConfig, run_benchmarks

    config = BenchmarkConfig(quick=args.quick, num_threads=args.threads,
                             sections=tuple(args.sections), repeats=args.repeats)

    results = run_benchmarks(config, log=lambda line: print(line, flush=True))
    if args.update:
        from hg_keras.benchmarks.suite import merge_results

        results = merge_results(json.loads(args.update.read_text()), results)
    path = write_report(results, args.out)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2, default=str))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
