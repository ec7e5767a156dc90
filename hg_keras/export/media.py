"""Run a predictor over image files, folders and videos; write JSON and overlays.

``predict_inputs`` is what ``scripts/predict.py`` does: for every image it writes
``<out>/<stem>.json`` and ``<out>/<stem>_pose.jpg``; for every video ``<out>/<stem>.json``
(one entry per frame) and ``<out>/<stem>_pose.mp4`` (``cv2.VideoWriter``, mp4v). A tqdm
bar counts images or frames.

JSON layout (one file per input)::

    {"source": "photo.jpg", "width": 640, "height": 480,
     "joint_names": ["r_ankle", ...], "presence_threshold": 0.2,
     "box": null,                                   # images
     "joints": [{"name": "r_ankle", "x": 151.2, "y": 402.7, "score": 0.83,
                 "present": true}, ...],
     "keypoints": [[x, y], ...], "scores": [...], "present": [...]}

Videos hold ``"fps"``, ``"frame_count"`` and ``"frames": [{"frame": 0, "box": ...,
"joints": [...], ...}, ...]`` instead of the per-image fields.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
from tqdm.auto import tqdm

from hg_keras.export.overlay import draw_pose
from hg_keras.export.predictor import read_image

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".jp2",
                  ".pgm", ".ppm", ".pnm"}
VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv"}


def collect_inputs(paths) -> list[Path]:
    """Expand files and folders (non-recursive, sorted) into image and video files.

    Raises:
        FileNotFoundError: a path does not exist or a folder holds no image / video.
    """
    files = []
    for path in map(Path, paths):
        if path.is_dir():
            found = sorted(
                p for p in path.iterdir()
                if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES | VIDEO_SUFFIXES
            )
            if not found:
                raise FileNotFoundError(f"{path}: folder holds no image or video files")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise FileNotFoundError(f"{path}: no such file or folder")
    return files


def is_video(path) -> bool:
    """True for the usual video file suffixes."""
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def _unique_stem(path: Path, used: set) -> str:
    stem, count = path.stem, 1
    while stem in used:
        count += 1
        stem = f"{path.stem}_{count}"
    used.add(stem)
    return stem


def _to_bgr_uint8(image_rgb_float) -> np.ndarray:
    return np.round(np.clip(image_rgb_float, 0.0, 1.0)[:, :, ::-1] * 255.0).astype(np.uint8)


def _write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=1) + "\n")


def predict_image_file(predictor, path, out_dir, box=None, overlay=True) -> Path:
    """Predict one image file; write ``<stem>.json`` (+ ``<stem>_pose.jpg``).

    Returns the JSON path.
    """
    return _predict_image(predictor, Path(path), Path(out_dir), box, overlay, Path(path).stem)


def _predict_image(predictor, path, out_dir, box, overlay, stem) -> Path:
    image = read_image(path)
    [pose] = predictor.predict([image], boxes=None if box is None else [box])
    names = list(predictor.joint_names)
    data = {
        "source": str(path),
        "width": int(image.shape[1]),
        "height": int(image.shape[0]),
        "joint_names": names,
        "presence_threshold": predictor.presence_threshold,
        **pose.to_dict(names),
    }
    json_path = out_dir / f"{stem}.json"
    _write_json(json_path, data)
    if overlay:
        drawn = draw_pose(_to_bgr_uint8(image), pose.keypoints_xy, pose.present, names)
        cv2.imwrite(str(out_dir / f"{stem}_pose.jpg"), drawn)
    return json_path


def predict_video_file(predictor, path, out_dir, box=None, overlay=True, batch_size=8,
                       progress=True, stem=None) -> Path:
    """Predict every frame of a video; write ``<stem>.json`` and ``<stem>_pose.mp4``.

    Args:
        predictor: ``PosePredictor`` or ``SavedModelPredictor``.
        path: video file OpenCV can read.
        out_dir: output folder.
        box: optional ``(x1, y1, x2, y2)`` used for every frame.
        overlay: also write the overlay video.
        batch_size: frames per prediction call.
        progress: show a tqdm bar over frames.
        stem: output file stem (default: the video's).

    Returns:
        Path of the JSON file.
    """
    path, out_dir = Path(path), Path(out_dir)
    stem = stem or path.stem
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise ValueError(f"{path}: OpenCV cannot open this video")
    fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) or None
    names = list(predictor.joint_names)
    writer = None
    frames = []
    bar = tqdm(total=total, desc=path.name, unit="frame", disable=not progress)
    try:
        while True:
            batch = []
            while len(batch) < batch_size:
                ok, frame = capture.read()
                if not ok:
                    break
                batch.append(frame)
            if not batch:
                break
            rgb = [frame[:, :, ::-1] for frame in batch]
            poses = predictor.predict(rgb, boxes=None if box is None else [box] * len(rgb))
            for frame, pose in zip(batch, poses):
                frames.append({"frame": len(frames), **pose.to_dict(names)})
                if overlay:
                    if writer is None:
                        height, width = frame.shape[:2]
                        writer = cv2.VideoWriter(
                            str(out_dir / f"{stem}_pose.mp4"),
                            cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height),
                        )
                    writer.write(draw_pose(frame, pose.keypoints_xy, pose.present, names))
            bar.update(len(batch))
    finally:
        bar.close()
        capture.release()
        if writer is not None:
            writer.release()
    if not frames:
        raise ValueError(f"{path}: no frame could be read")
    json_path = out_dir / f"{stem}.json"
    _write_json(json_path, {
        "source": str(path),
        "fps": float(fps),
        "frame_count": len(frames),
        "joint_names": names,
        "presence_threshold": predictor.presence_threshold,
        "frames": frames,
    })
    return json_path


def predict_inputs(predictor, inputs, out_dir, box=None, overlay=True, progress=True) -> list[Path]:
    """Predict image files, folders of images and videos; write JSON and overlays.

    Args:
        predictor: ``PosePredictor`` or ``SavedModelPredictor``.
        inputs: paths of images, folders (their images and videos) or videos.
        out_dir: output folder (created).
        box: optional person box ``(x1, y1, x2, y2)`` for every image / frame; default the
            whole image.
        overlay: write overlay images / videos.
        progress: show progress bars.

    Returns:
        The JSON files written, in input order.

    Example:
        >>> predict_inputs(PosePredictor.from_weights("best.keras", MPII_INFO),
        ...                ["photos/"], "predictions")
        [PosixPath('predictions/beach.json'), ...]
    """
    files = collect_inputs(inputs)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    used, written = set(), []
    images = [f for f in files if not is_video(f)]
    bar = tqdm(total=len(images), desc="images", unit="image",
               disable=not progress or not images)
    try:
        for path in files:
            stem = _unique_stem(path, used)
            if is_video(path):
                written.append(predict_video_file(
                    predictor, path, out_dir, box, overlay, progress=progress, stem=stem
                ))
            else:
                written.append(_predict_image(predictor, path, out_dir, box, overlay, stem))
                bar.update(1)
    finally:
        bar.close()
    return written
