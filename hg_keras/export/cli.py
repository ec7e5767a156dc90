"""Command lines of ``scripts/export.py`` and ``scripts/predict.py``.

Export::

    python scripts/export.py --weights runs/mpii-paper/best.keras --format all \\
        --quantize none,fp16,int8 [--dataset mpii] [--name hourglass] [--version N] \\
        [--out-dir saved_models]

writes ``saved_models/hourglass/<N>/`` (SavedModel for TF Serving),
``saved_models/tflite/hourglass/<N>/hourglass_{float32,float16,int8}.tflite`` and, with
``--format onnx`` or ``all`` and tf2onnx installed, ``saved_models/onnx/hourglass/<N>/``.
int8 calibration crops come from ``--calibration-images DIR`` or, by default, from the
``--calibration-split`` of the dataset through the evaluation input pipeline.

Predict::

    python scripts/predict.py photo.jpg photos/ clip.mp4 --weights best.keras \\
        [--box x1,y1,x2,y2] [--out predictions]
    python scripts/predict.py photo.jpg --saved-model saved_models/hourglass
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

#: Joint count -> dataset assumed when ``--dataset`` is not given and no run config says.
DEFAULT_DATASET_BY_JOINTS = {16: "mpii", 11: "flic"}
FORMATS = ("savedmodel", "tflite", "onnx", "all")


def load_keras_model(weights):
    """Load a ``.keras`` file in safe mode (no pickle, no arbitrary code)."""
    import keras

    import hg_keras.export.bn_folding  # noqa: F401  (registers ChannelAffine, ChannelShift)

    path = Path(weights)
    if not path.is_file():
        raise FileNotFoundError(f"--weights {path}: file not found")
    return keras.saving.load_model(path, compile=False, safe_mode=True)


def _run_config_dataset(weights) -> str | None:
    config = Path(weights).parent / "config.json"
    if config.is_file():
        try:
            return json.loads(config.read_text()).get("dataset")
        except (ValueError, AttributeError):
            return None
    return None


def resolve_dataset_info(spec, model, weights=None, root="datasets"):
    """The ``DatasetInfo`` that labels ``model``'s outputs.

    Args:
        spec: ``mpii``, ``flic``, ``synthetic``, ``coco:PATH``, a ``*.info.json`` file, or
            None: the ``dataset`` of the run's ``config.json`` beside ``weights``, else
            ``mpii`` for 16 joints and ``flic`` for 11.
        model: the Keras model (its K is checked against the dataset's).
        weights: path of the model file (to find the run's ``config.json``).
        root: dataset root for specs that read files.

    Returns:
        ``(spec, info)``.

    Raises:
        ValueError: unknown spec, or K differs between model and dataset.
    """
    from hg_keras.datasets.records import read_info
    from hg_keras.datasets.registry import dataset_info
    from hg_keras.export.saved_model import check_joint_count, model_sizes

    _, _, num_joints = model_sizes(model)
    if spec is None and weights is not None:
        spec = _run_config_dataset(weights)
    if spec is None:
        spec = DEFAULT_DATASET_BY_JOINTS.get(num_joints)
        if spec is None:
            raise ValueError(
                f"--dataset: the model predicts {num_joints} heatmaps; name its dataset "
                "(mpii, flic, synthetic, coco:PATH or a .info.json file)"
            )
    if spec.endswith(".json") and Path(spec).is_file():
        info = read_info(spec)
    else:
        info = dataset_info(spec, root)
    try:
        check_joint_count(model, info)
    except ValueError as error:
        raise ValueError(f"--dataset {spec}: {error}") from None
    return spec, info


def _parse_quantize(text):
    from hg_keras.export.tflite import QUANTIZATIONS

    values = list(QUANTIZATIONS) if text == "all" else [v.strip() for v in text.split(",")]
    for value in values:
        if value not in QUANTIZATIONS:
            raise argparse.ArgumentTypeError(
                f"{value!r}: choose from {', '.join(QUANTIZATIONS)} or all (comma-separated)"
            )
    return list(dict.fromkeys(values))


def build_export_parser():
    """Argument parser of ``scripts/export.py``."""
    parser = argparse.ArgumentParser(
        prog="export.py",
        description="Export a trained model as a TF Serving SavedModel, TFLite and ONNX.",
    )
    add = parser.add_argument
    add("--weights", required=True, help=".keras model file (e.g. runs/NAME/best.keras)")
    add("--format", default="savedmodel", choices=FORMATS,
        help="what to write; all = savedmodel + tflite + onnx (default: savedmodel)")
    add("--quantize", type=_parse_quantize, default=["none"],
        help="TFLite variants, comma-separated: none (float32), fp16, int8, or all "
             "(default: none)")
    add("--dataset", default=None,
        help="dataset whose joints the model predicts: mpii, flic, synthetic, coco:PATH or a "
             ".info.json file (default: the run's config.json, else by joint count)")
    add("--root", default="datasets", help="dataset root (default: datasets)")
    add("--name", default="hourglass", help="model name (default: hourglass)")
    add("--version", type=int, default=None,
        help="version number (default: the next free one; existing versions are refused)")
    add("--out-dir", default="saved_models", help="export root (default: saved_models)")
    add("--flip-test", action=argparse.BooleanOptionalAction, default=True,
        help="average with the mirrored crop inside serving_default (default: on)")
    add("--fold-bn", action=argparse.BooleanOptionalAction, default=True,
        help="fold BatchNorm into the convolutions (default: on)")
    add("--calibration-images", default=None, metavar="DIR",
        help="int8: calibrate on whole-image crops of the photos in DIR")
    add("--calibration-dataset", default=None, metavar="SPEC",
        help="int8: calibrate on this dataset's crops (default: --dataset)")
    add("--calibration-split", default="train", help="split for calibration (default: train)")
    add("--calibration-samples", type=int, default=200,
        help="number of calibration crops (default: 200)")
    return parser


def _calibration_crops(args, dataset_spec, info, input_size):
    from hg_keras.export.media import IMAGE_SUFFIXES
    from hg_keras.export.tflite import (
        calibration_crops_from_images,
        calibration_crops_from_records,
    )

    if args.calibration_images:
        folder = Path(args.calibration_images)
        paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES) \
            if folder.is_dir() else []
        if not paths:
            raise FileNotFoundError(f"--calibration-images {folder}: no images found")
        return calibration_crops_from_images(paths, input_size, args.calibration_samples)
    from hg_keras.datasets.registry import load_dataset

    spec = args.calibration_dataset or dataset_spec
    if spec.endswith(".json"):
        raise ValueError(
            f"--calibration-dataset: {spec} holds no images; pass --calibration-images DIR "
            "or a dataset spec"
        )
    records, _ = load_dataset(spec, args.calibration_split, root=args.root)
    return calibration_crops_from_records(records, info, input_size, args.calibration_samples)


def export_main(argv=None) -> int:
    """Entry point of ``scripts/export.py``; returns the exit status."""
    args = build_export_parser().parse_args(argv)
    try:
        return _export(args)
    except (ValueError, FileNotFoundError, FileExistsError, ImportError) as error:
        print(f"export.py: error: {error}", file=sys.stderr)
        return 2


def _export(args) -> int:
    from hg_keras.export.onnx import export_onnx, onnx_available
    from hg_keras.export.saved_model import export_saved_model, model_sizes
    from hg_keras.export.tflite import export_tflite, tflite_parity

    model = load_keras_model(args.weights)
    spec, info = resolve_dataset_info(args.dataset, model, args.weights, args.root)
    formats = {"savedmodel", "tflite", "onnx"} if args.format == "all" else {args.format}
    if args.format == "all" and not onnx_available():
        print("export.py: tf2onnx is not installed; skipping ONNX", file=sys.stderr)
        formats.discard("onnx")
    input_size, _, _ = model_sizes(model)
    crops = None
    if "tflite" in formats and ("int8" in args.quantize or args.calibration_images
                                or args.calibration_dataset):
        crops = _calibration_crops(args, spec, info, input_size)
    written = {"dataset": spec, "joint_names": list(info.joint_names)}
    with tempfile.TemporaryDirectory() as scratch:
        if "savedmodel" in formats:
            saved_model_dir = export_saved_model(
                model, info, args.out_dir, args.name, args.version, args.flip_test, args.fold_bn
            )
            written["savedmodel"] = str(saved_model_dir)
            version = int(saved_model_dir.name)
        else:
            saved_model_dir = export_saved_model(
                model, info, scratch, args.name, 1, args.flip_test, args.fold_bn
            )
            version = args.version
        if "tflite" in formats:
            paths = export_tflite(saved_model_dir, args.out_dir, args.name, version,
                                  args.quantize, crops)
            written["tflite"] = {q: str(p) for q, p in paths.items()}
            if crops is not None:
                written["tflite_parity"] = {
                    q: tflite_parity(saved_model_dir, p, crops) for q, p in paths.items()
                }
            else:
                written["tflite_size_bytes"] = {q: p.stat().st_size for q, p in paths.items()}
        if "onnx" in formats:
            written["onnx"] = str(export_onnx(saved_model_dir, args.out_dir, args.name, version))
    print(json.dumps(written, indent=2))
    return 0


def _parse_box(text):
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) != 4 or not (values[2] > values[0] and values[3] > values[1]):
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected x1,y1,x2,y2 in pixels with x2 > x1 and y2 > y1"
        )
    return values


def build_predict_parser():
    """Argument parser of ``scripts/predict.py``."""
    parser = argparse.ArgumentParser(
        prog="predict.py",
        description="Predict poses on images, folders of images or videos; write JSON and "
                    "overlays. Without --box the whole image is the person box "
                    "(centre = box centre, scale = max(w, h) * 1.25 / 200).",
    )
    add = parser.add_argument
    add("inputs", nargs="+", metavar="IMAGE|DIR|VIDEO")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--weights", help=".keras model file")
    source.add_argument("--saved-model", help="exported SavedModel (base or version folder)")
    add("--dataset", default=None,
        help="with --weights: the model's dataset (mpii, flic, synthetic, coco:PATH, "
             ".info.json; default: run config, else by joint count)")
    add("--root", default="datasets", help="dataset root (default: datasets)")
    add("--box", type=_parse_box, default=None, metavar="x1,y1,x2,y2",
        help="person box in pixels for every image / frame (default: the whole image)")
    add("--out", default="predictions", help="output folder (default: predictions)")
    add("--presence-threshold", type=float, default=None,
        help="heatmap maximum below which a joint is flagged absent (default: 0.2)")
    add("--flip-test", action=argparse.BooleanOptionalAction, default=True,
        help="with --weights: flip test (default: on; a SavedModel has it built in)")
    add("--batch-size", type=int, default=8, help="images / frames per forward pass")
    add("--overlay", action=argparse.BooleanOptionalAction, default=True,
        help="write overlay images / videos (default: on)")
    add("--progress", action=argparse.BooleanOptionalAction, default=True,
        help="show progress bars (default: on)")
    return parser


def predict_main(argv=None) -> int:
    """Entry point of ``scripts/predict.py``; returns the exit status."""
    args = build_predict_parser().parse_args(argv)
    try:
        return _predict(args)
    except (ValueError, FileNotFoundError) as error:
        print(f"predict.py: error: {error}", file=sys.stderr)
        return 2


def _predict(args) -> int:
    from hg_keras.export.media import predict_inputs
    from hg_keras.export.predictor import (
        DEFAULT_PRESENCE_THRESHOLD,
        PosePredictor,
        SavedModelPredictor,
    )

    threshold = (DEFAULT_PRESENCE_THRESHOLD if args.presence_threshold is None
                 else args.presence_threshold)
    if args.weights:
        model = load_keras_model(args.weights)
        _, info = resolve_dataset_info(args.dataset, model, args.weights, args.root)
        predictor = PosePredictor(model, info, flip_test=args.flip_test,
                                  presence_threshold=threshold, batch_size=args.batch_size)
    else:
        predictor = SavedModelPredictor(args.saved_model, presence_threshold=threshold,
                                        batch_size=args.batch_size)
    written = predict_inputs(predictor, args.inputs, args.out, box=args.box,
                             overlay=args.overlay, progress=args.progress)
    print(f"wrote {len(written)} prediction file(s) to {args.out}")
    return 0
