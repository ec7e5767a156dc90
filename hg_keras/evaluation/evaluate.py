"""The evaluation report: tables, curves, occlusion analysis, examples and prediction files.

``evaluate(...)`` scores a model (or an existing predictions file) on one split and writes
into ``out_dir``:

=============================== ==============================================================
file                            content
=============================== ==============================================================
``accuracy.csv/.md``            main table (PCKh or PCK columns + AUC), one row per model /
                                compared predictions file
``accuracy_pytorch_pose.csv/md`` MPII only: the pytorch-pose variant (strict <, Head = head
                                top, Mean of joints), to compare with numbers published so
``per_joint.csv/.md``           every joint: accuracy on all / visible / occluded joints
``occlusion.csv/.md``           table columns on all / visible / occluded joints (section 5.2)
``per_stack.csv/.md``           accuracy of every stack's heatmaps (fig. 9)
``presence.csv/.md``            AUC of precision-recall for "joint annotated?" from heatmap
                                max / mean, per joint (fig. 11)
``curves.png``                  accuracy vs normalised distance (figs. 6-7), compared files too
``occlusion_curves.png``        the curves on visible vs occluded joints
``per_stack.png``               ``per_stack`` as a plot
``presence_pr.png``             precision-recall curves of annotation presence
``examples_best.png/_worst.png``predicted skeletons on the original images (figs. 2, 5)
``heatmaps.png``                one crop with every joint's heatmap
``preds_<split>.h5/.mat``       predictions in the community format (N x K x 2 image px)
``pred_keypoints_mpii.mat``     MPII test split: the evaluation server's submission format
``report.md``                   everything above in one page
=============================== ==============================================================

Without a model (``predictions=FILE``) the heatmap-based parts (per-stack, presence,
heatmaps figure) are left out.

Example:
    >>> from hg_keras.evaluation.evaluate import evaluate
    >>> result = evaluate("synthetic", weights="runs/demo/best.keras", out_dir="docs/report")
    >>> result.tables["accuracy"].loc["best", "Total"]
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from hg_keras.evaluation import occlusion, pck, plots, predictions_io, report

DEFAULT_BATCH_SIZE = 16
DEFAULT_INPUT_SIZE = 256


@dataclass
class EvaluationResult:
    """What ``evaluate`` produced.

    Attributes:
        out_dir: the report folder.
        tables: name -> DataFrame (``accuracy``, ``per_joint``, ``occlusion``, ...).
        figures: name -> PNG path.
        files: name -> other written files (predictions, report.md, summary.json).
        coords: (N, K, 2) predictions that were scored, image pixels.
        predictions: ``Predictions`` when a model ran, else None.
    """

    out_dir: Path
    tables: dict = field(default_factory=dict)
    figures: dict = field(default_factory=dict)
    files: dict = field(default_factory=dict)
    coords: np.ndarray | None = None
    predictions: object = None


@dataclass
class _GroundTruth:
    joints: np.ndarray
    annotated: np.ndarray
    visible: np.ndarray
    norm_size: np.ndarray

    @classmethod
    def from_records(cls, records):
        joints = np.stack(records["joints"].to_numpy()).astype(np.float64)
        annotated = np.stack(records["annotated"].to_numpy()).astype(bool)
        visible = np.stack(records["visible"].to_numpy()).astype(bool) & annotated
        norm_size = records["norm_size"].to_numpy(dtype=np.float64)
        return cls(joints, annotated, visible, norm_size)


def load_model(weights):
    """Load a ``.keras`` model file (safe mode) for evaluation."""
    import keras

    import hg_keras.model  # noqa: F401  (registers the model's layers, if any)

    path = Path(weights)
    if not path.is_file():
        raise FileNotFoundError(f"--weights {path}: file not found")
    return keras.saving.load_model(path, compile=False, safe_mode=True)


def run_model(model, records, info, flip_test=True, batch_size=DEFAULT_BATCH_SIZE,
              progress=True, keep_heatmaps=False):
    """Predict every record with ``model`` (batched, flip test optional, all stacks).

    Returns:
        ``Predictions`` in record order.
    """
    import tensorflow as tf

    from hg_keras.data import PipelineConfig, make_dataset
    from hg_keras.evaluation.predict import predict_dataset

    input_size = model.input_shape[1] or DEFAULT_INPUT_SIZE
    config = PipelineConfig(input_size=int(input_size), flip_test=flip_test)
    dataset = make_dataset(records, info, config, training=False, batch_size=batch_size)
    batches = math.ceil(len(records) / batch_size)
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(batches))
    return predict_dataset(
        model, dataset, info.flip_permutation if flip_test else None, all_stacks=True,
        progress=progress, keep_heatmaps=keep_heatmaps,
    )


def _label(path, default):
    return Path(path).stem if path else default


def _curve_columns(info, table):
    kind = pck.metric_kind(info)
    if kind == "mpii":
        return [c for c in table if c != "UBody"]
    if kind == "flic":
        return ["Elbow", "Wrist", "Total"]
    return list(table)


def _person_errors(coords, gt):
    distances = pck.normalized_distances(coords, gt.joints, gt.annotated, gt.norm_size)
    with np.errstate(all="ignore"):
        return np.nanmean(np.where(gt.annotated, distances, np.nan), axis=1)


def _read_image(path):
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    return None if image is None else cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _example_samples(rows, records, coords, gt, errors):
    samples = []
    for row in rows:
        image = _read_image(records["image"].iloc[row])
        if image is None:
            continue
        cx, cy = np.asarray(records["center"].iloc[row], dtype=np.float64)
        half = 100.0 * float(records["scale"].iloc[row])
        samples.append({
            "image": image,
            "pred": coords[row],
            "gt": gt.joints[row],
            "annotated": gt.annotated[row],
            "box": (cx - half, cy - half, cx + half, cy + half),
            "caption": f"#{row}  mean error {errors[row]:.2f}",
        })
    return samples


def _heatmap_figure(model, records, info, row, flip_test, path):
    """Run the model on one record's crop and draw its per-joint heatmaps.

    The crop is warped from the full image with the pipeline's crop matrix (the same geometry
    as ``make_dataset``'s evaluation crops) to avoid building a second ``tf.data`` pipeline.
    """
    from hg_keras.data.transforms import crop_matrix, warp_image
    from hg_keras.evaluation.decode import average_with_flipped, heatmap_peaks_np

    image = _read_image(records["image"].iloc[row])
    if image is None:
        return None
    size = int(model.input_shape[1] or DEFAULT_INPUT_SIZE)
    matrix = crop_matrix(np.asarray(records["center"].iloc[row], dtype=np.float32),
                         float(records["scale"].iloc[row]), (size, size))
    crop = (warp_image(image, matrix, (size, size)).numpy() / 255.0).astype(np.float32)

    def last_output(batch):
        outputs = model(batch, training=False)
        return np.asarray(outputs[-1] if isinstance(outputs, (list, tuple)) else outputs)

    heatmaps = last_output(crop[None])
    if flip_test:
        flipped = last_output(crop[None, :, ::-1].copy())
        heatmaps = average_with_flipped(heatmaps, flipped, info.flip_permutation)
    coords_hm, _ = heatmap_peaks_np(heatmaps)
    return plots.plot_heatmaps(crop, heatmaps[0], coords_hm[0], info.joint_names, path,
                               title=f"record #{row}: heatmaps of the last stack")


def evaluate(dataset="synthetic", weights=None, split="valid", flip_test=True, out_dir=None,
             predictions=None, compare=(), root="datasets", batch_size=DEFAULT_BATCH_SIZE,
             model=None, records=None, info=None, num_examples=8, progress=True,
             offset_px=0.0, label=None, verbose=True):
    """Score a model or a predictions file on one split and write the full report.

    Args:
        dataset: dataset spec for ``hg_keras.datasets.registry.load_dataset``
            (``"mpii"``, ``"flic"``, ``"synthetic"``, ``"coco:PATH"``).
        weights: ``.keras`` model file to evaluate (or pass ``model``).
        split: split to evaluate (``"valid"``, ``"test"``, ...).
        flip_test: average with the mirrored crop's heatmaps (paper default).
        out_dir: report folder (default ``reports/<dataset>_<split>_<label>``).
        predictions: score this community-format predictions file instead of a model.
        compare: further predictions files shown beside the main row and curve.
        root: dataset root folder.
        batch_size: inference batch size.
        model: an in-memory keras model instead of ``weights``.
        records, info: in-memory records and ``DatasetInfo`` instead of loading ``dataset``.
        num_examples: skeletons per best / worst figure.
        progress: show a progress bar during inference.
        offset_px: coordinate offset of prediction files (added on save, subtracted on
            load). 0 by default: MPII and FLIC records keep the annotations' MATLAB pixel
            frame, the frame of the official evaluation and of published prediction files.
        label: name of the main row (default: the weights' or predictions' file stem).
        verbose: print the tables.

    Returns:
        ``EvaluationResult``.

    Example:
        >>> result = evaluate("mpii", weights="runs/hg8/best.keras", split="valid",
        ...                   compare=["published/newell.h5"])
        >>> print(result.tables["accuracy"])
    """
    if model is None and weights is None and predictions is None:
        raise ValueError("evaluate: give --weights (a model) or --predictions (a file)")
    if records is None or info is None:
        from hg_keras.datasets.registry import load_dataset

        records, info = load_dataset(dataset, split, root, require_images=predictions is None)
    records = records.reset_index(drop=True)
    label = label or _label(predictions or weights, "model")
    dataset_name = dataset.partition(":")[0] if isinstance(dataset, str) else info.name
    out_dir = Path(out_dir or Path("reports") / f"{dataset_name}_{split}_{label}")
    out_dir.mkdir(parents=True, exist_ok=True)
    result = EvaluationResult(out_dir=out_dir)
    offset = float(offset_px)

    if predictions is not None:
        coords = predictions_io.load_predictions(predictions, info.num_joints, -offset)
        if len(coords) != len(records):
            raise ValueError(
                f"--predictions {predictions}: {len(coords)} people; the {split} split of "
                f"{dataset_name} has {len(records)} (predictions must follow the split's order)"
            )
        preds = None
    else:
        model = model if model is not None else load_model(weights)
        preds = run_model(model, records, info, flip_test, batch_size, progress)
        coords = preds.coords
    result.coords, result.predictions = coords, preds

    stem = f"preds_{split}"
    result.files["predictions_h5"] = predictions_io.save_predictions(
        out_dir / f"{stem}.h5", coords, offset)
    result.files["predictions_mat"] = predictions_io.save_predictions(
        out_dir / f"{stem}.mat", coords, offset)
    if info.name == "mpii" and split == "test":
        result.files["mpii_submission"] = _write_mpii_submission(
            out_dir / "pred_keypoints_mpii.mat", records, coords, root, offset, verbose)

    gt = _GroundTruth.from_records(records)
    if gt.annotated.any():
        _score(result, info, gt, records, coords, preds, model, label, predictions, compare,
               offset, flip_test, num_examples)
    elif verbose:
        print(f"{dataset_name} {split}: no ground truth; predictions written to {out_dir}")
    source = (f"predictions read from `{Path(predictions).name}`" if predictions is not None
              else f"flip test {'on' if flip_test else 'off'}")
    result.files["report"] = _write_report(result, info, dataset_name, split, label, source)
    if verbose:
        for name, frame in result.tables.items():
            print(f"\n{name}\n{report.to_markdown(frame)}")
        print(f"report written to {out_dir}")
    return result


def mpii_test_image_indices(root="datasets"):
    """0-based ``annolist`` indices of the MPII test images (``RELEASE.img_train == 0``).

    Read from the official ``mpii_human_pose_v1_u12_1.mat`` under ``root/mpii``; None when
    that file is absent.
    """
    from hg_keras.datasets.matlab import field, load_mat
    from hg_keras.datasets.registry import MPII_MAT_CANDIDATES

    for candidate in MPII_MAT_CANDIDATES:
        path = Path(root) / "mpii" / candidate
        if path.is_file():
            release = load_mat(path, "RELEASE")
            img_train = np.ravel(np.asarray(field(release, "img_train", f"{path}: RELEASE")))
            return np.flatnonzero(img_train == 0)
    return None


def _write_mpii_submission(path, records, coords, root, offset, verbose):
    """The test-server .mat for the single-person people (all people if unknown)."""
    keep = np.ones(len(records), bool)
    if "single_person" in records.columns:
        keep = records["single_person"].fillna(False).to_numpy(dtype=bool)
    test_images = mpii_test_image_indices(root)
    if test_images is None and verbose:
        print(f"{path.name}: mpii_human_pose_v1_u12_1.mat not found under {root}/mpii; "
              "pred gets one entry per test image that has a predicted person")
    return predictions_io.save_mpii_submission(
        path, coords[keep], records["image_index"].to_numpy()[keep],
        records["person_index"].to_numpy()[keep], test_image_indices=test_images,
        offset_px=offset)


def _score(result, info, gt, records, coords, preds, model, label, predictions, compare,
           offset, flip_test, num_examples):
    out_dir = result.out_dir
    thresholds = pck.curve_thresholds(info)
    metric = "PCKh" if info.metric == "pckh" else "PCK"
    kind = pck.metric_kind(info)

    def table(xy, annotated=gt.annotated, threshold=None):
        return pck.accuracy_table(info, xy, gt.joints, annotated, gt.norm_size, threshold)

    def curve(xy, annotated=gt.annotated):
        return pck.accuracy_curve(info, xy, gt.joints, annotated, gt.norm_size, thresholds)

    # Main table and curves, with compared prediction files beside ours.
    runs = {label: coords}
    for path in compare:
        name = _label(path, "compared")
        if name in runs:
            name = Path(path).name
        while name in runs:
            name += "'"
        runs[name] = predictions_io.load_predictions(path, info.num_joints, -offset)
    rows, curves, pytorch_rows = {}, {}, {}
    for name, xy in runs.items():
        if len(xy) != len(records):
            raise ValueError(f"--compare {name}: {len(xy)} people; the split has {len(records)}")
        curves[name] = curve(xy)
        rows[name] = {**table(xy), "AUC": pck.curve_auc(thresholds, curves[name]["Total"])}
        if kind == "mpii":
            pytorch_rows[name] = pck.pckh_mean(xy, gt.joints, gt.annotated, gt.norm_size,
                                               info.threshold)
    _add_table(result, "accuracy", report.table_frame(rows))
    if pytorch_rows:
        _add_table(result, "accuracy_pytorch_pose", report.table_frame(pytorch_rows))
    columns = _curve_columns(info, curves[label])
    result.figures["curves"] = plots.plot_pck_curves(
        curves, thresholds, columns, out_dir / "curves.png", metric,
        title=f"{metric} on {info.name} (AUC {rows[label]['AUC']:.1f})")

    # Per joint and occlusion (visible vs occluded).
    masks = occlusion.visibility_masks(gt.annotated, gt.visible)
    distances = pck.normalized_distances(coords, gt.joints, gt.annotated, gt.norm_size)
    per_joint = {}
    for subset, mask in masks.items():
        subset_distances = np.where(mask, distances, np.nan)
        per_joint[f"{metric} {subset}"] = pck.per_joint_accuracy(subset_distances, info.threshold)
    per_joint["annotated"] = gt.annotated.sum(axis=0)
    per_joint["occluded"] = masks["occluded"].sum(axis=0)
    frame = pd.DataFrame(per_joint, index=pd.Index(info.joint_names, name="joint"))
    _add_table(result, "per_joint", frame)
    subset_tables = {s: table(coords, m) for s, m in masks.items()}
    _add_table(result, "occlusion", report.table_frame(subset_tables, "subset").T.rename_axis(
        "column"))
    subset_curves = {s: curve(coords, m) for s, m in masks.items()}
    result.figures["occlusion_curves"] = plots.plot_pck_curves(
        subset_curves, thresholds, columns, out_dir / "occlusion_curves.png", metric,
        title="All, visible and occluded joints")

    if preds is not None:
        # Intermediate stacks.
        stacks = preds.per_stack_coords
        stack_rows = {f"stack_{s + 1}": table(stacks[s]) for s in range(len(stacks))}
        stack_frame = report.table_frame(stack_rows, "stack")
        _add_table(result, "per_stack", stack_frame)
        result.figures["per_stack"] = plots.plot_per_stack(
            stack_frame, out_dir / "per_stack.png", metric)
        # Annotation presence from heatmap activations.
        presence = occlusion.presence_analysis(gt.annotated, preds.heatmap_max,
                                               preds.heatmap_mean)
        presence_frame = pd.DataFrame({
            "AUC max": [c.auc for c in presence["max"]],
            "AUC mean": [c.auc for c in presence["mean"]],
            "annotated": [c.positives for c in presence["max"]],
            "missing": [c.negatives for c in presence["max"]],
        }, index=pd.Index(info.joint_names, name="joint"))
        _add_table(result, "presence", presence_frame)
        result.figures["presence_pr"] = plots.plot_presence_pr(
            presence, info.joint_names, out_dir / "presence_pr.png")

    # Best and worst examples on the original images.
    errors = _person_errors(coords, gt)
    ranked = [int(i) for i in np.argsort(errors, kind="stable") if np.isfinite(errors[i])]
    count = min(num_examples, len(ranked))
    for name, chosen in (("best", ranked[:count]), ("worst", ranked[::-1][:count])):
        samples = _example_samples(chosen, records, coords, gt, errors)
        if samples:
            result.figures[f"examples_{name}"] = plots.plot_skeleton_grid(
                samples, info.joint_names, out_dir / f"examples_{name}.png",
                title=f"{name.capitalize()} predictions (white x: ground truth)")
    if model is not None and ranked:
        figure = _heatmap_figure(model, records, info, ranked[0], flip_test,
                                 out_dir / "heatmaps.png")
        if figure is not None:
            result.figures["heatmaps"] = figure


def _add_table(result, name, frame):
    result.tables[name] = frame
    report.save_table(frame, result.out_dir, name)


def _write_report(result, info, dataset_name, split, label, source):
    lines = [
        f"# Evaluation of {label} on {dataset_name} ({split})",
        "",
        (f"{len(result.coords)} people, {source}, metric "
         f"{info.metric.upper()}@{info.threshold} (distance / normaliser <= threshold)."),
        "",
    ]
    for name, frame in result.tables.items():
        lines += [f"## {name}", "", report.to_markdown(frame)]
    for name, path in result.figures.items():
        lines += [f"## {name}", "", f"![{name}]({Path(path).name})", ""]
    lines += ["## files", ""]
    lines += [f"- `{Path(p).name}`" for n, p in result.files.items()]
    path = result.out_dir / "report.md"
    path.write_text("\n".join(lines) + "\n")
    summary = {name: frame.reset_index().to_dict(orient="list")
               for name, frame in result.tables.items()}
    summary_path = result.out_dir / "summary.json"
    summary_path.write_text(json.dumps(summary, indent=1, default=_json_default))
    result.files["summary"] = summary_path
    return path


def _json_default(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return None if np.isnan(value) else float(value)
    return str(value)


def build_parser():
    """Command-line flags of ``scripts/evaluate.py`` / ``hg-evaluate``."""
    parser = argparse.ArgumentParser(
        prog="hg-evaluate",
        description="Score a stacked hourglass model (or a predictions file) and write the "
        "evaluation report: tables, curves, occlusion analysis, examples, prediction files.",
    )
    parser.add_argument("--dataset", default="synthetic",
                        help="mpii | flic | synthetic | coco:PATH (default: synthetic)")
    parser.add_argument("--weights", help=".keras model file to evaluate")
    parser.add_argument("--predictions", help="score this predictions file (community "
                        "format: 'preds' N x K x 2 in .h5 or .mat) instead of a model")
    parser.add_argument("--compare", nargs="+", default=[], metavar="FILE",
                        help="more predictions files to put beside the main row and curve")
    parser.add_argument("--split", default="valid", help="split to evaluate (default: valid)")
    parser.add_argument("--flip", dest="flip_test", action=argparse.BooleanOptionalAction,
                        default=True, help="flip test: average with the mirrored crop "
                        "(default: on)")
    parser.add_argument("--out", dest="out_dir", help="report folder "
                        "(default: reports/<dataset>_<split>_<name>)")
    parser.add_argument("--root", default="datasets", help="dataset root (default: datasets)")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    parser.add_argument("--num-examples", type=int, default=8,
                        help="skeletons per best / worst figure (default: 8)")
    parser.add_argument("--offset-px", type=float, default=0.0,
                        help="coordinate offset of prediction files relative to the "
                        "records (added on save, subtracted on load; default: 0)")
    parser.add_argument("--no-progress", dest="progress", action="store_false",
                        help="hide the progress bar")
    return parser


def main(argv=None):
    """Entry point of ``scripts/evaluate.py`` and the ``hg-evaluate`` console script."""
    args = build_parser().parse_args(argv)
    if args.weights is None and args.predictions is None:
        build_parser().error("give --weights (a model) or --predictions (a file)")
    evaluate(
        dataset=args.dataset, weights=args.weights, split=args.split,
        flip_test=args.flip_test, out_dir=args.out_dir, predictions=args.predictions,
        compare=tuple(args.compare), root=args.root, batch_size=args.batch_size,
        num_examples=args.num_examples, progress=args.progress, offset_px=args.offset_px,
    )
    return 0
