"""Predict poses on photos, folders of photos or videos; write JSON and overlays.

Usage:
    python scripts/predict.py IMAGE|DIR|VIDEO ... --weights W.keras | --saved-model DIR
        [--box x1,y1,x2,y2] [--out predictions] [--presence-threshold 0.2]

Without --box the whole image is the person box: centre = box centre,
scale = max(box w, h) * 1.25 / 200. See docs/SERVING.md.
"""

from __future__ import annotations

import sys

from hg_keras.export.cli import predict_main

if __name__ == "__main__":
    sys.exit(predict_main())
