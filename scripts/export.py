"""Export a trained model: TF Serving SavedModel, TFLite (float32 / float16 / int8), ONNX.

Usage:
    python scripts/export.py --weights runs/NAME/best.keras --format savedmodel|tflite|onnx|all
        [--quantize none|fp16|int8|all, comma-separated] [--dataset mpii] [--name hourglass]
        [--version N] [--out-dir saved_models] [--calibration-images DIR]

See docs/SERVING.md for the layout, the signatures and how to serve the result.
"""

from __future__ import annotations

import sys

from hg_keras.export.cli import export_main

if __name__ == "__main__":
    sys.exit(export_main())
