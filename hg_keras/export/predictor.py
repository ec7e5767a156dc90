"""Keypoints for whole photos (or person boxes): from a Keras model or an exported SavedModel.

``PosePredictor`` runs a Keras model with the very functions traced into the SavedModel
(``hg_keras.export.cropping`` and ``hg_keras.export.inference``); ``SavedModelPredictor``
calls the exported ``with_box`` signature. Both take images as arrays of any size, channel
count (grey, grey + alpha, RGB, RGBA) and dtype (uint8, uint16, float in [0, 1]) and
return one ``PosePrediction`` per image.

Presence: the heatmap maximum of a joint (``scores``) is the paper's §5.2 signal for
"this joint is in the picture". Joints scoring below ``presence_threshold`` (default 0.2;
targets peak at 1) are flagged ``present: false``.

Example:
    >>> predictor = PosePredictor.from_weights("runs/mpii/best.keras", MPII_INFO)
    >>> pose = predictor.predict([read_image("me.jpg")])[0]
    >>> pose.to_dict(predictor.joint_names)["joints"][0]
    {'name': 'r_ankle', 'x': 151.2, 'y': 402.7, 'score': 0.83, 'present': True}
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import tensorflow as tf

from hg_keras.export.bn_folding import ChannelAffine  # noqa: F401  (registers the layers)
from hg_keras.export.cropping import crop_person, decode_image_bytes, to_rgb_float_np
from hg_keras.export.inference import keypoints_from_crops
from hg_keras.export.saved_model import (
    METADATA_FILE,
    WITH_BOX,
    check_joint_count,
    model_sizes,
)

#: Joints whose heatmap maximum is below this are flagged as absent (paper §5.2 signal).
DEFAULT_PRESENCE_THRESHOLD = 0.2

_NAN_BOX = np.full(4, np.nan, np.float32)


@dataclass
class PosePrediction:
    """The pose of one person in one image.

    Attributes:
        keypoints_xy: (K, 2) float64, joint positions ``(x, y)`` in image pixels.
        scores: (K,) float32, heatmap maximum of each joint.
        present: (K,) bool, ``scores >= presence_threshold``.
        box: (4,) float64 or None, the person box ``x1, y1, x2, y2`` that was cropped
            (None for the whole image).
    """

    keypoints_xy: np.ndarray
    scores: np.ndarray
    present: np.ndarray
    box: np.ndarray | None = None

    def to_dict(self, joint_names) -> dict:
        """JSON-ready dict: ``box``, ``joints`` (name, x, y, score, present), flat lists."""
        joints = [
            {
                "name": str(name),
                "x": round(float(x), 3),
                "y": round(float(y), 3),
                "score": round(float(score), 4),
                "present": bool(present),
            }
            for name, (x, y), score, present in zip(
                joint_names, self.keypoints_xy, self.scores, self.present
            )
        ]
        return {
            "box": None if self.box is None else [round(float(v), 3) for v in self.box],
            "joints": joints,
            "keypoints": [[j["x"], j["y"]] for j in joints],
            "scores": [j["score"] for j in joints],
            "present": [j["present"] for j in joints],
        }


def read_image(path) -> np.ndarray:
    """Read an image file as RGB float32 in [0, 1], whatever its channels and bit depth.

    EXIF orientation is applied (the picture comes out as photo viewers show it). Formats
    OpenCV cannot read (e.g. GIF on some builds) fall back to ``tf.io.decode_image``.

    Args:
        path: image file.

    Returns:
        (H, W, 3) float32 array.

    Raises:
        ValueError: the file is not a readable image (the message names it).

    Example:
        >>> read_image("photo.png").shape
        (480, 640, 3)
    """
    path = Path(path)
    image = cv2.imread(str(path), cv2.IMREAD_COLOR | cv2.IMREAD_ANYDEPTH)
    if image is not None:
        return to_rgb_float_np(image, bgr=True)
    try:
        decoded = decode_image_bytes(tf.io.read_file(str(path)))
    except (tf.errors.InvalidArgumentError, tf.errors.NotFoundError) as error:
        raise ValueError(
            f"{path}: not a readable image ({error.message.splitlines()[0]})"
        ) from error
    return decoded.numpy()


def _boxes_for(count, boxes) -> np.ndarray:
    if boxes is None:
        return np.tile(_NAN_BOX, (count, 1))
    boxes = np.asarray(
        [_NAN_BOX if box is None else np.asarray(box, np.float32) for box in boxes], np.float32
    )
    if boxes.shape != (count, 4):
        raise ValueError(
            f"boxes: need one (x1, y1, x2, y2) or None per image ({count} images); "
            f"got shape {boxes.shape}"
        )
    return boxes


def _predictions(keypoints, scores, boxes, threshold) -> list[PosePrediction]:
    results = []
    for xy, score, box in zip(keypoints, scores, boxes):
        results.append(
            PosePrediction(
                keypoints_xy=np.asarray(xy, np.float64),
                scores=np.asarray(score, np.float32),
                present=np.asarray(score) >= threshold,
                box=None if np.all(np.isnan(box)) else np.asarray(box, np.float64),
            )
        )
    return results


class PosePredictor:
    """Predict poses with a Keras model, exactly as the exported SavedModel does.

    Args:
        model: ``keras.Model`` (square input S x S x 3 in [0, 1], heatmaps S/4 x S/4 x K).
        info: ``DatasetInfo`` with the joint names and flip permutation (K must match).
        flip_test: average with the mirrored crop (paper §3.4).
        presence_threshold: heatmap maximum below which a joint is flagged absent.
        batch_size: crops per forward pass.

    Example:
        >>> predictor = PosePredictor(model, MPII_INFO)
        >>> [pose] = predictor.predict([image], boxes=[(40, 10, 200, 380)])
        >>> pose.keypoints_xy.shape
        (16, 2)
    """

    def __init__(self, model, info, flip_test: bool = True,
                 presence_threshold: float = DEFAULT_PRESENCE_THRESHOLD, batch_size: int = 8):
        check_joint_count(model, info)
        self.model = model
        self.info = info
        self.presence_threshold = float(presence_threshold)
        self.batch_size = int(batch_size)
        self.input_size, self.heatmap_size, _ = model_sizes(model)
        permutation = [int(j) for j in info.flip_permutation] if flip_test else None
        size, heatmap_size = self.input_size, self.heatmap_size

        @tf.function(
            input_signature=[
                tf.TensorSpec([None, None, 3], tf.float32),
                tf.TensorSpec([4], tf.float32),
            ]
        )
        def crop(image, box):
            return crop_person(image, box, size, heatmap_size)

        @tf.function(
            input_signature=[tf.TensorSpec([], tf.string), tf.TensorSpec([4], tf.float32)]
        )
        def crop_encoded(image_bytes, box):
            return crop_person(decode_image_bytes(image_bytes), box, size, heatmap_size)

        @tf.function(
            input_signature=[
                tf.TensorSpec([None, size, size, 3], tf.float32),
                tf.TensorSpec([None, 3, 3], tf.float32),
            ]
        )
        def infer(crops, from_heatmap):
            return keypoints_from_crops(model, crops, from_heatmap, permutation)

        self._crop, self._crop_encoded, self._infer = crop, crop_encoded, infer

    @classmethod
    def from_weights(cls, path, info, **kwargs) -> PosePredictor:
        """Load a ``.keras`` file (safe mode) and wrap it; ``kwargs`` go to the constructor."""
        import keras

        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"--weights {path}: file not found")
        model = keras.saving.load_model(path, compile=False, safe_mode=True)
        return cls(model, info, **kwargs)

    @property
    def joint_names(self) -> tuple:
        """The K joint names, in output order."""
        return tuple(self.info.joint_names)

    def _run(self, crops_and_matrices, boxes) -> list[PosePrediction]:
        keypoints, scores = [], []
        for start in range(0, len(crops_and_matrices), self.batch_size):
            chunk = crops_and_matrices[start : start + self.batch_size]
            crops = tf.stack([c for c, _ in chunk])
            matrices = tf.stack([m for _, m in chunk])
            xy, score = self._infer(crops, matrices)
            keypoints.append(xy.numpy())
            scores.append(score.numpy())
        return _predictions(
            np.concatenate(keypoints), np.concatenate(scores), boxes, self.presence_threshold
        )

    def predict(self, images, boxes=None) -> list[PosePrediction]:
        """Poses for a list of image arrays (one person each).

        Args:
            images: list of (H, W) / (H, W, C) arrays, RGB(A) or grey, any size and dtype.
            boxes: None (whole images) or one ``(x1, y1, x2, y2)`` or None per image.

        Returns:
            One ``PosePrediction`` per image.

        Raises:
            tf.errors.InvalidArgumentError: a box is degenerate or outside its image.
        """
        images = list(images)
        boxes = _boxes_for(len(images), boxes)
        prepared = []
        for image, box in zip(images, boxes):
            crop, from_heatmap, _ = self._crop(to_rgb_float_np(image), box)
            prepared.append((crop, from_heatmap))
        return self._run(prepared, boxes) if prepared else []

    def predict_encoded(self, encoded_images, boxes=None) -> list[PosePrediction]:
        """Poses for encoded JPEG / PNG / GIF / BMP bytes, decoded as the SavedModel does."""
        encoded_images = list(encoded_images)
        boxes = _boxes_for(len(encoded_images), boxes)
        prepared = []
        for data, box in zip(encoded_images, boxes):
            crop, from_heatmap, _ = self._crop_encoded(tf.constant(data), box)
            prepared.append((crop, from_heatmap))
        return self._run(prepared, boxes) if prepared else []


def encode_png(image) -> bytes:
    """Lossless RGB PNG bytes of an image array (8-bit for uint8 input, 16-bit otherwise)."""
    source = np.asarray(image)
    rgb = to_rgb_float_np(source)
    if source.dtype == np.uint8:
        pixels = np.round(rgb * 255.0).astype(np.uint8)
    else:
        pixels = np.round(rgb * 65535.0).astype(np.uint16)
    ok, buffer = cv2.imencode(".png", np.ascontiguousarray(pixels[:, :, ::-1]))  # BGR
    if not ok:
        raise ValueError(f"could not PNG-encode an image of shape {source.shape}")
    return buffer.tobytes()


class SavedModelPredictor:
    """Predict poses with an exported SavedModel (its ``with_box`` signature).

    Args:
        path: a version folder written by ``export_saved_model`` (e.g.
            ``saved_models/hourglass/1``) or the model's base folder (its latest version).
        presence_threshold: heatmap maximum below which a joint is flagged absent.
        batch_size: images per signature call.

    Example:
        >>> predictor = SavedModelPredictor("saved_models/hourglass")
        >>> predictor.predict([read_image("me.jpg")])[0].keypoints_xy.shape
        (16, 2)
    """

    def __init__(self, path, presence_threshold: float = DEFAULT_PRESENCE_THRESHOLD,
                 batch_size: int = 8):
        path = Path(path)
        if not (path / "saved_model.pb").is_file():
            versions = sorted(
                (int(p.name) for p in path.glob("*") if p.name.isdigit()), reverse=True
            ) if path.is_dir() else []
            if not versions:
                raise FileNotFoundError(
                    f"--saved-model {path}: no saved_model.pb here nor in a version folder"
                )
            path = path / str(versions[0])
        self.path = path
        self.presence_threshold = float(presence_threshold)
        self.batch_size = int(batch_size)
        self._loaded = tf.saved_model.load(str(path))
        self._signature = self._loaded.signatures[WITH_BOX]
        self.metadata = json.loads((path / "assets" / METADATA_FILE).read_text())

    @property
    def joint_names(self) -> tuple:
        """The K joint names stored with the model."""
        return tuple(name.decode() for name in self._loaded.joint_names.numpy())

    def predict_encoded(self, encoded_images, boxes=None) -> list[PosePrediction]:
        """Poses for encoded image bytes, sent to the signature as they are."""
        encoded_images = list(encoded_images)
        boxes = _boxes_for(len(encoded_images), boxes)
        keypoints, scores = [], []
        for start in range(0, len(encoded_images), self.batch_size):
            out = self._signature(
                image_bytes=tf.constant(encoded_images[start : start + self.batch_size]),
                box=tf.constant(boxes[start : start + self.batch_size]),
            )
            keypoints.append(out["keypoints"].numpy())
            scores.append(out["scores"].numpy())
        if not keypoints:
            return []
        return _predictions(
            np.concatenate(keypoints), np.concatenate(scores), boxes, self.presence_threshold
        )

    def predict(self, images, boxes=None) -> list[PosePrediction]:
        """Poses for image arrays (PNG-encoded losslessly, then sent to the signature)."""
        return self.predict_encoded([encode_png(image) for image in images], boxes)
