"""Evaluate a stacked hourglass model (or a predictions file) and write the full report.

Usage:
    python scripts/evaluate.py --dataset mpii --weights runs/hg8/best.keras [--split valid]
        [--flip/--no-flip] [--out DIR] [--compare published/newell.h5 ...]
    python scripts/evaluate.py --dataset mpii --predictions preds_valid.h5

Writes tables (CSV + Markdown), PCK/PCKh curves, per-stack accuracy, occlusion analysis,
example figures and the predictions in the community format; see
hg_keras.evaluation.evaluate for the list of files.
"""

from __future__ import annotations

import sys

from hg_keras.evaluation.evaluate import main

if __name__ == "__main__":
    sys.exit(main())
