"""The embedded synthetic dataset: articulated stick figures with the 16 MPII joints.

Each image shows one main figure near the centre (its person record) plus background
clutter, distractor figures beside it, and sometimes occluders (joints under them are
annotated but not visible) or truncation by the image border (joints outside the image are
not annotated). Left and right can be told apart from pixels alone: the figure's right-side
limbs are drawn in a dark shade of its colour, the left-side limbs in a light shade, and the
face (eyes and nose) shows where the head turns. Figures face the camera, so the person's
right side usually appears on the image's left, as in MPII.

Records follow the MPII conventions: ``center`` / ``scale`` such that the ``200 · scale``
box holds the figure with a 1.25 margin, a ``head_box`` column ``[x1, y1, x2, y2]`` and
``norm_size = 0.6 × head-box diagonal``. ``generate`` writes ``out_dir/images/*.jpg`` and
``out_dir/annotations.jsonl`` (with a ``split`` column: ~90% train, ~10% valid);
``ensure`` generates once and reuses the cache; ``load`` reads one split.

Example:
    >>> from hg_keras.datasets import synthetic
    >>> root = synthetic.ensure("datasets/synthetic", num_images=2000, seed=0)  # doctest: +SKIP
    >>> train = synthetic.load(root, split="train")                             # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from hg_keras.datasets.records import (
    MPII_INFO,
    DatasetInfo,
    make_records,
    read_jsonl,
    write_jsonl,
)

SYNTHETIC_INFO = DatasetInfo(
    name="synthetic",
    joint_names=MPII_INFO.joint_names,
    flip_permutation=MPII_INFO.flip_permutation,
    metric="pckh",
    threshold=0.5,
)

ANNOTATIONS_FILE = "annotations.jsonl"
MANIFEST_FILE = "manifest.json"
GENERATOR_VERSION = 1

# MPII joint ids.
R_ANKLE, R_KNEE, R_HIP, L_HIP, L_KNEE, L_ANKLE, PELVIS, THORAX = range(8)
UPPER_NECK, HEAD_TOP, R_WRIST, R_ELBOW, R_SHOULDER, L_SHOULDER, L_ELBOW, L_WRIST = range(8, 16)

# Body proportions in units of the nominal figure height.
_TORSO, _NECK, _HEAD = 0.30, 0.05, 0.13
_SHOULDER_HALF, _HIP_HALF = 0.11, 0.075
_UPPER_ARM, _FOREARM, _THIGH, _SHIN = 0.16, 0.145, 0.235, 0.235
# Limb thickness in units of the nominal figure height.
_ARM_WIDTH, _FOREARM_WIDTH, _THIGH_WIDTH, _SHIN_WIDTH = 0.055, 0.045, 0.075, 0.06


@dataclass(frozen=True)
class SyntheticConfig:
    """Parameters of the synthetic images.

    Attributes:
        image_size_px: side of the square images.
        figure_height_px: (min, max) height of the main figure's bounding box; ``None``
            means (0.47, 0.78) × ``image_size_px`` (120–200 px at 256).
        valid_fraction: share of images in the ``valid`` split (at least one when
            ``num_images >= 2``).
        max_distractors: at most this many extra figures beside the main one.
        occluder_probability: chance that an image gets 1–2 occluders over the main figure.
        truncation_probability: chance that the main figure is shifted partly out of frame.
        margin: box side = ``margin`` × the figure's larger bounding-box side (MPII: 1.25).
        jpeg_quality: JPEG quality of the saved images.
    """

    image_size_px: int = 256
    figure_height_px: tuple | None = None
    valid_fraction: float = 0.1
    max_distractors: int = 2
    occluder_probability: float = 0.3
    truncation_probability: float = 0.15
    margin: float = 1.25
    jpeg_quality: int = 90

    def height_range(self) -> tuple:
        if self.figure_height_px is not None:
            return tuple(float(v) for v in self.figure_height_px)
        return (0.47 * self.image_size_px, 0.78 * self.image_size_px)


@dataclass
class _Figure:
    joints: np.ndarray  # (16, 2) float64, image pixels
    head_center: np.ndarray  # (2,)
    head_radius: float
    widths: dict = field(default_factory=dict)  # limb name -> thickness px
    colors: dict = field(default_factory=dict)
    facing: float = 0.0  # yaw in [-1, 1], sign = turn towards image right
    arm_order: tuple = ("right", "left")


# --- pose sampling -------------------------------------------------------------------------

def _unit(angle_rad):
    return np.array([math.sin(angle_rad), -math.cos(angle_rad)])


def _sample_skeleton(rng: np.random.Generator) -> tuple:
    """Joints (16, 2) of a figure of nominal height 1 around the origin, plus head centre/radius.

    Angles are in the image plane: a limb's angle is measured from hanging straight down,
    positive away from the body's midline.
    """
    lean = math.radians(rng.normal(0.0, 8.0))
    up = _unit(lean)  # points up along the torso
    right_of_image = np.array([math.cos(lean), math.sin(lean)])
    yaw = rng.uniform(-1.0, 1.0)
    width_factor = 1.0 - 0.45 * abs(yaw)  # turning narrows shoulders and hips
    proportions = rng.uniform(0.92, 1.08, size=9)

    joints = np.zeros((16, 2))
    joints[PELVIS] = 0.0
    joints[THORAX] = joints[PELVIS] + up * _TORSO * proportions[0]
    head_tilt = math.radians(rng.normal(0.0, 12.0))
    head_up = _unit(lean + head_tilt)
    joints[UPPER_NECK] = joints[THORAX] + head_up * _NECK * proportions[1]
    head_length = _HEAD * proportions[2]
    joints[HEAD_TOP] = joints[UPPER_NECK] + head_up * head_length
    head_center = joints[UPPER_NECK] + head_up * head_length * 0.5
    head_radius = 0.5 * head_length

    shoulder = _SHOULDER_HALF * width_factor * proportions[3]
    hip = _HIP_HALF * width_factor * proportions[4]
    # The person's right side appears on the image's left (figure faces the camera).
    sides = {"right": -1.0, "left": 1.0}
    ids = {
        "right": (R_SHOULDER, R_ELBOW, R_WRIST, R_HIP, R_KNEE, R_ANKLE),
        "left": (L_SHOULDER, L_ELBOW, L_WRIST, L_HIP, L_KNEE, L_ANKLE),
    }
    down = -up
    for side, sign in sides.items():
        sho, elb, wri, hip_id, kne, ank = ids[side]
        outward = sign * right_of_image

        def direction(angle_deg, outward=outward):
            a = math.radians(angle_deg)
            return math.cos(a) * down + math.sin(a) * outward

        joints[sho] = joints[THORAX] + outward * shoulder - up * 0.01
        joints[hip_id] = joints[PELVIS] + outward * hip
        upper = rng.uniform(-35.0, 170.0)
        bend = rng.uniform(0.0, 145.0) * rng.choice([-1.0, 1.0])
        foreshorten = rng.uniform(0.7, 1.0, size=4)
        joints[elb] = joints[sho] + direction(upper) * _UPPER_ARM * foreshorten[0] * proportions[5]
        joints[wri] = (joints[elb]
                       + direction(upper + bend) * _FOREARM * foreshorten[1] * proportions[6])
        if rng.random() < 0.1:
            thigh = rng.uniform(40.0, 95.0)
        else:
            thigh = rng.uniform(-12.0, 35.0)
        shin = thigh * rng.uniform(-0.2, 0.8) + rng.uniform(-15.0, 15.0)
        joints[kne] = joints[hip_id] + direction(thigh) * _THIGH * foreshorten[2] * proportions[7]
        joints[ank] = joints[kne] + direction(shin) * _SHIN * foreshorten[3] * proportions[8]
    return joints, head_center, head_radius, yaw


def _figure_extent(joints, head_center, head_radius, pad):
    lo = np.minimum(joints.min(axis=0), head_center - head_radius) - pad
    hi = np.maximum(joints.max(axis=0), head_center + head_radius) + pad
    return lo, hi


def _random_color(rng, saturation=(0.35, 0.9), value=(0.35, 0.8)):
    hsv = np.uint8([[[rng.integers(0, 180), rng.uniform(*saturation) * 255,
                      rng.uniform(*value) * 255]]])
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0].astype(np.float64)


def _shades(base):
    """(dark, light) shades of a colour: right-side limbs dark, left-side limbs light."""
    dark = base * 0.45
    light = base + (255.0 - base) * 0.55
    return tuple(int(v) for v in dark), tuple(int(v) for v in light)


_SKIN = np.array([[60, 80, 120], [90, 130, 190], [120, 170, 230], [150, 200, 245],
                  [40, 60, 95]], np.float64)


def _sample_figure(rng, height_px, center_xy) -> _Figure:
    joints, head_center, head_radius, yaw = _sample_skeleton(rng)
    lo, hi = _figure_extent(joints, head_center, head_radius, _THIGH_WIDTH / 2)
    zoom = height_px / (hi[1] - lo[1])
    offset = np.asarray(center_xy, np.float64) - zoom * (lo + hi) / 2.0
    figure = _Figure(
        joints=joints * zoom + offset,
        head_center=head_center * zoom + offset,
        head_radius=head_radius * zoom,
        facing=yaw,
        arm_order=("right", "left") if rng.random() < 0.5 else ("left", "right"),
    )
    nominal = zoom  # pixels per unit nominal height
    figure.widths = {
        "upper_arm": max(2, int(round(_ARM_WIDTH * nominal))),
        "forearm": max(2, int(round(_FOREARM_WIDTH * nominal))),
        "thigh": max(2, int(round(_THIGH_WIDTH * nominal))),
        "shin": max(2, int(round(_SHIN_WIDTH * nominal))),
        "neck": max(2, int(round(0.05 * nominal))),
    }
    shirt = _random_color(rng)
    trousers = _random_color(rng)
    arm_dark, arm_light = _shades(shirt)
    leg_dark, leg_light = _shades(trousers)
    figure.colors = {
        "torso": tuple(int(v) for v in shirt),
        "arm_right": arm_dark, "arm_left": arm_light,
        "leg_right": leg_dark, "leg_left": leg_light,
        "skin": tuple(int(v) for v in _SKIN[rng.integers(len(_SKIN))] + rng.normal(0, 8, 3)),
    }
    return figure


# --- drawing ------------------------------------------------------------------------------

_SHIFT = 4  # sub-pixel bits for cv2 drawing
_ONE = 1 << _SHIFT


def _pt(xy):
    return (int(round(xy[0] * _ONE)), int(round(xy[1] * _ONE)))


def _line(image, a, b, color, width):
    cv2.line(image, _pt(a), _pt(b), color, int(width), cv2.LINE_AA, _SHIFT)


def _draw_figure(image, figure: _Figure) -> None:
    j = figure.joints
    c = figure.colors
    w = figure.widths
    for side, (hip, knee, ankle) in (("right", (R_HIP, R_KNEE, R_ANKLE)),
                                     ("left", (L_HIP, L_KNEE, L_ANKLE))):
        _line(image, j[hip], j[knee], c[f"leg_{side}"], w["thigh"])
        _line(image, j[knee], j[ankle], c[f"leg_{side}"], w["shin"])
    torso = np.array([j[R_SHOULDER], j[L_SHOULDER], j[L_HIP], j[R_HIP]])
    cv2.fillConvexPoly(image, (torso * _ONE).round().astype(np.int32), c["torso"],
                       cv2.LINE_AA, _SHIFT)
    _line(image, j[THORAX], j[UPPER_NECK], c["skin"], w["neck"])
    for side in figure.arm_order:
        sho, elb, wri = ((R_SHOULDER, R_ELBOW, R_WRIST) if side == "right"
                         else (L_SHOULDER, L_ELBOW, L_WRIST))
        _line(image, j[sho], j[elb], c[f"arm_{side}"], w["upper_arm"])
        _line(image, j[elb], j[wri], c[f"arm_{side}"], w["forearm"])
        cv2.circle(image, _pt(j[wri]), int(round(w["forearm"] * 0.7 * _ONE)), c["skin"], -1,
                   cv2.LINE_AA, _SHIFT)
    _draw_head(image, figure)


def _draw_head(image, figure: _Figure) -> None:
    center, radius = figure.head_center, figure.head_radius
    cv2.circle(image, _pt(center), int(round(radius * _ONE)), figure.colors["skin"], -1,
               cv2.LINE_AA, _SHIFT)
    up = figure.joints[HEAD_TOP] - figure.joints[UPPER_NECK]
    up = up / (np.linalg.norm(up) + 1e-9)
    across = np.array([-up[1], up[0]])  # points to the image's right for an upright head
    turn = 0.45 * figure.facing
    hair = tuple(int(v * 0.35) for v in figure.colors["skin"])
    # Hair on the top of the head.
    cv2.ellipse(image, _pt(center), (int(radius * _ONE), int(radius * _ONE)),
                math.degrees(math.atan2(up[1], up[0])), -70, 70, hair, -1, cv2.LINE_AA, _SHIFT)
    eye_radius = max(1.0, 0.13 * radius)
    for side in (-1.0, 1.0):
        eye = center + across * radius * (0.38 * side + turn) + up * radius * 0.05
        cv2.circle(image, _pt(eye), int(round(eye_radius * _ONE)), (20, 20, 20), -1,
                   cv2.LINE_AA, _SHIFT)
    nose_tip = center + across * radius * (1.6 * turn) - up * radius * 0.35
    nose_base = center + across * radius * turn * 0.6 - up * radius * 0.1
    _line(image, nose_base, nose_tip, (40, 40, 110), max(1, int(round(0.12 * radius))))


def _background(rng, size) -> np.ndarray:
    kind = rng.integers(3)
    if kind == 0:  # smooth colour noise
        cells = int(rng.integers(2, 9))
        low = rng.integers(0, 256, (cells, cells, 3), dtype=np.uint8)
        image = cv2.resize(low, (size, size), interpolation=cv2.INTER_CUBIC)
    elif kind == 1:  # linear gradient between two colours (bilinear from 2x2 corners)
        a, b = _random_color(rng, (0, 1), (0.1, 1)), _random_color(rng, (0, 1), (0.1, 1))
        t = np.array([[0.0, 0.5], [0.5, 1.0]]) if rng.random() < 0.5 else np.array(
            [[0.0, 1.0], [0.0, 1.0]])
        t = np.rot90(t, int(rng.integers(4)))[..., None]
        corners = (a * (1 - t) + b * t).astype(np.uint8)
        image = cv2.resize(corners, (size, size), interpolation=cv2.INTER_LINEAR)
    else:  # flat
        image = np.empty((size, size, 3), np.uint8)
        image[:] = _random_color(rng, (0, 1), (0.1, 1)).astype(np.uint8)
    for _ in range(int(rng.integers(3, 13))):
        color = tuple(int(v) for v in _random_color(rng, (0, 1), (0.05, 1)))
        shape = rng.integers(4)
        p = rng.uniform(-0.1 * size, 1.1 * size, 2)
        q = rng.uniform(-0.1 * size, 1.1 * size, 2)
        if shape == 0:
            cv2.rectangle(image, _pt(p), _pt(q), color, -1, cv2.LINE_AA, _SHIFT)
        elif shape == 1:
            radius = rng.uniform(0.02, 0.15) * size
            cv2.circle(image, _pt(p), int(radius * _ONE), color, -1, cv2.LINE_AA, _SHIFT)
        else:  # limb-like bars and thin lines
            width = int(rng.integers(1, max(2, int(0.06 * size))))
            _line(image, p, p + (q - p) * rng.uniform(0.1, 0.5), color, width)
    return image


def _occluders(rng, image, figure: _Figure, height_px) -> np.ndarray:
    """Draw 1–2 occluders over the figure; returns the (H, W) bool occlusion mask."""
    size = image.shape[0]
    mask = np.zeros(image.shape[:2], np.uint8)
    for _ in range(int(rng.integers(1, 3))):
        anchor = figure.joints[rng.integers(16)] + rng.normal(0, 0.05 * height_px, 2)
        half = rng.uniform(0.06, 0.16, 2) * height_px
        color = tuple(int(v) for v in _random_color(rng, (0, 1), (0.05, 1)))
        layer = np.zeros_like(mask)
        if rng.random() < 0.5:
            p, q = _pt(anchor - half), _pt(anchor + half)
            cv2.rectangle(image, p, q, color, -1, cv2.LINE_8, _SHIFT)
            cv2.rectangle(layer, p, q, 1, -1, cv2.LINE_8, _SHIFT)
        else:
            axes = (int(half[0] * _ONE), int(half[1] * _ONE))
            angle = rng.uniform(0, 180)
            cv2.ellipse(image, _pt(anchor), axes, angle, 0, 360, color, -1, cv2.LINE_8, _SHIFT)
            cv2.ellipse(layer, _pt(anchor), axes, angle, 0, 360, 1, -1, cv2.LINE_8, _SHIFT)
        mask |= layer
    del size
    return mask.astype(bool)


def render_sample(rng: np.random.Generator, config: SyntheticConfig = SyntheticConfig()):
    """Render one image and the main figure's annotation.

    Args:
        rng: NumPy generator (the only source of randomness).
        config: image parameters.

    Returns:
        ``(image, annotation)``: (S, S, 3) uint8 BGR image and a dict with ``center`` (2,),
        ``scale``, ``joints`` (16, 2), ``annotated`` (16,), ``visible`` (16,), ``head_box``
        (4,) and ``norm_size``.

    Example:
        >>> image, ann = render_sample(np.random.default_rng(0))
        >>> image.shape, ann["joints"].shape
        ((256, 256, 3), (16, 2))
    """
    size = config.image_size_px
    image = _background(rng, size)
    low, high = config.height_range()
    height_px = rng.uniform(low, high)
    center = np.array([(size - 1) / 2.0, (size - 1) / 2.0]) + rng.normal(0, 0.02 * size, 2)
    if rng.random() < config.truncation_probability:
        direction = _unit(rng.uniform(0, 2 * math.pi))
        # Push the figure so that 10–35 % of its height leaves the frame.
        center = center + direction * (size / 2.0 - height_px * (0.5 - rng.uniform(0.1, 0.35)))
    figure = _sample_figure(rng, height_px, center)

    for _ in range(int(rng.integers(0, config.max_distractors + 1))):
        side = rng.choice([-1.0, 1.0])
        other_height = height_px * rng.uniform(0.7, 1.15)
        other_center = center + np.array(
            [side * height_px * rng.uniform(0.45, 0.8), rng.normal(0, 0.1 * height_px)]
        )
        _draw_figure(image, _sample_figure(rng, other_height, other_center))
    _draw_figure(image, figure)

    joints = figure.joints
    inside = np.all((joints >= 0) & (joints <= size - 1), axis=1)
    visible = inside.copy()
    if rng.random() < config.occluder_probability:
        mask = _occluders(rng, image, figure, height_px)
        pixels = np.clip(np.round(joints).astype(int), 0, size - 1)
        visible &= ~mask[pixels[:, 1], pixels[:, 0]]
    noise = int(rng.integers(0, 13))  # uniform pixel noise of +-noise grey levels
    if noise > 1:
        jitter = rng.integers(-noise, noise + 1, image.shape[:2] + (1,), dtype=np.int16)
        image = np.clip(image.astype(np.int16) + jitter, 0, 255).astype(np.uint8)

    lo, hi = _figure_extent(joints, figure.head_center, figure.head_radius,
                            figure.widths["thigh"] / 2)
    box_center = (lo + hi) / 2.0
    scale = config.margin * float(np.max(hi - lo)) / 200.0
    head_box = np.concatenate([figure.head_center - figure.head_radius,
                               figure.head_center + figure.head_radius])
    norm_size = 0.6 * float(np.linalg.norm(head_box[2:] - head_box[:2]))
    annotation = {
        "center": box_center,
        "scale": scale,
        "joints": np.where(inside[:, None], joints, 0.0),
        "annotated": inside,
        "visible": visible,
        "head_box": head_box,
        "norm_size": norm_size,
    }
    return image, annotation


# --- dataset files ------------------------------------------------------------------------

def _valid_indices(num_images, seed, fraction) -> set:
    if num_images < 2 or fraction <= 0:
        return set()
    count = min(num_images - 1, max(1, int(round(num_images * fraction))))
    order = np.random.default_rng([seed, 0x5EED]).permutation(num_images)
    return {int(i) for i in order[:count]}


def generate(out_dir, num_images: int, seed: int = 0, config: SyntheticConfig | None = None,
             progress: bool = False, label=None) -> pd.DataFrame:
    """Render ``num_images`` images into ``out_dir/images`` and write ``annotations.jsonl``.

    Image ``i`` depends only on ``(seed, i)``, so results are identical across runs.

    Args:
        out_dir: output folder (created).
        num_images: number of images (one record each).
        seed: random seed.
        config: image parameters (default ``SyntheticConfig()``).
        progress: show a tqdm progress bar.
        label: folder named by the progress bar (default ``out_dir``).

    Returns:
        the records (absolute image paths), also written to ``out_dir/annotations.jsonl``
        (with image paths relative to it, so the folder can be moved).

    Example:
        >>> records = generate("/tmp/synth", num_images=20, seed=0)   # doctest: +SKIP
        >>> sorted(records.split.unique())                            # doctest: +SKIP
        ['train', 'valid']
    """
    if num_images < 1:
        raise ValueError(f"num_images: {num_images}; must be >= 1")
    config = config or SyntheticConfig()
    out_dir = Path(out_dir)
    image_dir = out_dir / "images"
    image_dir.mkdir(parents=True, exist_ok=True)
    valid = _valid_indices(num_images, seed, config.valid_fraction)
    indices = range(num_images)
    if progress:
        from tqdm.auto import tqdm

        label = out_dir if label is None else label
        indices = tqdm(indices, desc=f"synthetic images -> {label}", unit="img")
    rows = []
    params = [cv2.IMWRITE_JPEG_QUALITY, int(config.jpeg_quality)]
    for i in indices:
        image, annotation = render_sample(np.random.default_rng([seed, i]), config)
        path = image_dir / f"{i:06d}.jpg"
        if not cv2.imwrite(str(path), image, params):
            raise OSError(f"{path}: could not write image")
        rows.append({
            "image": os.path.abspath(path),
            **{k: annotation[k] for k in ("center", "scale", "joints", "annotated",
                                          "visible", "norm_size")},
            "split": "valid" if i in valid else "train",
            "image_index": i,
            "person_index": 0,
            "head_box": annotation["head_box"],
        })
    records = make_records(rows, source=str(out_dir / ANNOTATIONS_FILE))
    write_jsonl(records, out_dir / ANNOTATIONS_FILE, info=SYNTHETIC_INFO)
    return records


def load(path, split="train") -> pd.DataFrame:
    """Read one split of a generated dataset.

    Args:
        path: the dataset folder (holding ``annotations.jsonl``) or the ``.jsonl`` file.
        split: ``"train"``, ``"valid"`` or a list of them.

    Returns:
        records DataFrame with absolute image paths.

    Example:
        >>> valid = load("datasets/synthetic", split="valid")   # doctest: +SKIP
    """
    path = Path(path)
    if path.is_dir():
        path = path / ANNOTATIONS_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: no synthetic annotations; run hg_keras.datasets.synthetic.ensure"
            f"({str(path.parent)!r})"
        )
    return read_jsonl(path, split=split)


def _manifest(num_images, seed, config) -> dict:
    return {"generator_version": GENERATOR_VERSION, "num_images": int(num_images),
            "seed": int(seed), "config": asdict(config)}


def _cache_complete(root: Path, expected: dict) -> bool:
    manifest = root / MANIFEST_FILE
    if not manifest.is_file() or not (root / ANNOTATIONS_FILE).is_file():
        return False
    try:
        stored = json.loads(manifest.read_text())
    except ValueError:
        return False
    if stored != json.loads(json.dumps(expected)):
        return False
    image_dir = root / "images"
    return all((image_dir / f"{i:06d}.jpg").is_file() for i in range(expected["num_images"]))


def _publish(staging: Path, root: Path, expected: dict) -> None:
    """Move the finished dataset folder ``staging`` to ``root`` in one rename.

    A stale or incomplete ``root`` is moved aside first and deleted. When another process
    published the same dataset meanwhile, its copy is kept and ``staging`` is left to the
    caller to delete.
    """
    if root.exists():
        if _cache_complete(root, expected):
            return
        stale = Path(tempfile.mkdtemp(prefix=f".{root.name}.stale-", dir=root.parent))
        try:
            os.rename(root, stale / root.name)
        except FileNotFoundError:
            pass  # another process moved it first
        shutil.rmtree(stale, ignore_errors=True)
    try:
        os.rename(staging, root)
    except OSError:
        if not _cache_complete(root, expected):
            raise


def ensure(root="datasets/synthetic", num_images: int = 5000, seed: int = 0,
           config: SyntheticConfig | None = None, progress: bool = True) -> Path:
    """Generate the synthetic dataset once and reuse it afterwards.

    The folder holds a ``manifest.json`` with the generator version and parameters; when it
    is missing, differs, or images are missing, the dataset is generated anew. It is
    generated in a hidden folder beside ``root`` and renamed into place when complete, so
    ``root`` never holds a partial dataset, even while several processes (the workers of a
    multi-worker run on one host, say) ask for it at the same time.

    Args:
        root: dataset folder.
        num_images: number of images.
        seed: random seed.
        config: image parameters.
        progress: show a tqdm progress bar while generating.

    Returns:
        ``Path(root)``, ready for ``load``.

    Example:
        >>> root = ensure("datasets/synthetic", num_images=2000)   # doctest: +SKIP
    """
    config = config or SyntheticConfig()
    root = Path(root)
    expected = _manifest(num_images, seed, config)
    if _cache_complete(root, expected):
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{root.name}.partial-", dir=root.parent))
    try:
        generate(staging, num_images, seed, config, progress=progress, label=root)
        (staging / MANIFEST_FILE).write_text(json.dumps(expected, indent=1))
        _publish(staging, root, expected)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return root
