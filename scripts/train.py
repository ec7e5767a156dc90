#!/usr/bin/env python
"""Train a stacked hourglass: ``python scripts/train.py --dataset synthetic --preset cpu-demo``.

All options: ``python scripts/train.py --help`` (the same as ``hg-train``).
"""

from hg_keras.training.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
