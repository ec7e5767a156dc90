"""Input-pipeline speed: ``hg_keras.data.make_dataset`` against a per-sample Python loader.

``ReferenceLoader`` does the same work as the training pipeline the way the PyTorch ports of
the paper do it: per sample in Python, ``cv2.imread`` of the whole image, OpenCV warps,
NumPy Gaussian targets joint by joint, then ``np.stack`` into a batch. Two styles:

* ``"port"``: the data path of the official PyTorch port (princeton-vl
  ``pytorch_stacked_hourglass``): copy the person box into a float64 canvas and
  ``cv2.resize`` it to the input size, then ``cv2.warpAffine`` that crop with the rotation /
  scale augmentation, flip by array reversal, paste a precomputed Gaussian patch per joint;
* ``"lean"``: the least work OpenCV allows: one ``cv2.warpAffine`` of the whole image with
  the pipeline's own crop matrix, full sub-pixel Gaussians like ``gaussian_heatmaps``.

``benchmark_pipeline`` writes real-size JPEGs with large people to a temporary folder and
measures the pipeline and both loaders, one after the other, in this process.

Example:
    >>> from hg_keras.benchmarks.pipeline_reference import benchmark_pipeline
    >>> result = benchmark_pipeline(quick=True)                        # doctest: +SKIP
    >>> print(f"{result['ratio_per_core']:.2f}x per core")               # doctest: +SKIP
"""

from __future__ import annotations

import math
import os
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from hg_keras.data.config import PipelineConfig
from hg_keras.datasets.records import MPII_INFO, make_records

BOX_PIXELS_PER_SCALE = 200.0


def reference_crop_matrix(center, scale, size, rotation_deg=0.0, flip=False):
    """NumPy (float64) crop matrix, the same formula as ``hg_keras.data.transforms.crop_matrix``."""
    theta = math.radians(rotation_deg)
    zoom = size / (BOX_PIXELS_PER_SCALE * scale)
    mirror = -1.0 if flip else 1.0
    cos, sin = math.cos(theta) * zoom, math.sin(theta) * zoom
    linear = np.array([[mirror * cos, mirror * sin], [-sin, cos]])
    offset = (size - 1) / 2.0 - linear @ np.asarray(center, np.float64)
    return np.array([[*linear[0], offset[0]], [*linear[1], offset[1]], [0.0, 0.0, 1.0]])


def reference_heatmaps(joints_xy, valid, size, sigma_px):
    """Gaussian targets drawn one joint at a time in NumPy: (size, size, K) float32."""
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    heatmaps = np.zeros((size, size, len(joints_xy)), np.float32)
    for k, ((x, y), ok) in enumerate(zip(joints_xy, valid)):
        if ok:
            heatmaps[..., k] = np.exp(
                -((xs - x) ** 2 + (ys - y) ** 2) / (2.0 * sigma_px**2)
            )
    return heatmaps


def port_gaussian_patch(sigma_px):
    """The port's precomputed (6 sigma + 3)-pixel Gaussian patch, peak at its centre."""
    size = int(6 * sigma_px + 3)
    xs = np.arange(0, size, 1, np.float64)
    centre = 3 * sigma_px + 1
    return np.exp(
        -((xs - centre) ** 2 + (xs[:, None] - centre) ** 2) / (2 * sigma_px**2)
    )


def port_heatmaps(joints_xy, valid, size, patch, sigma_px):
    """Paste the Gaussian patch at each joint's integer position, as the port does."""
    heatmaps = np.zeros((size, size, len(joints_xy)), np.float32)
    for k, ((x, y), ok) in enumerate(zip(joints_xy, valid)):
        x, y = int(x), int(y)
        if not ok or x < 0 or y < 0 or x >= size or y >= size:
            continue
        left, top = int(x - 3 * sigma_px - 1), int(y - 3 * sigma_px - 1)
        right, bottom = int(x + 3 * sigma_px + 2), int(y + 3 * sigma_px + 2)
        c, d = max(0, -left), min(right, size) - left
        a, b = max(0, -top), min(bottom, size) - top
        region = heatmaps[
            max(0, top) : min(bottom, size), max(0, left) : min(right, size), k
        ]
        np.maximum(region, patch[a:b, c:d], out=region)
    return heatmaps


class ReferenceLoader:
    """Training samples made per sample in Python with OpenCV and NumPy (PyTorch-port style).

    Args:
        records: records DataFrame (``hg_keras.datasets.records``).
        info: ``DatasetInfo`` (flip permutation).
        config: ``PipelineConfig`` (sizes, augmentation ranges).
        seed: NumPy random seed.
        style: ``"port"`` (the official PyTorch port's data path) or ``"lean"`` (one
            ``cv2.warpAffine`` of the whole image); see the module docstring.

    Example:
        >>> loader = ReferenceLoader(records, MPII_INFO, PipelineConfig(), seed=0)  # doctest: +SKIP
        >>> images, heatmaps = next(loader.batches(32))                             # doctest: +SKIP
    """

    def __init__(self, records, info, config=None, seed=0, style="port"):
        if style not in ("port", "lean"):
            raise ValueError(
                f"ReferenceLoader: style is {style!r}; use 'port' or 'lean'"
            )
        self.records = records.reset_index(drop=True)
        self.flip_permutation = np.asarray(info.flip_permutation)
        self.config = config if config is not None else PipelineConfig()
        self.rng = np.random.default_rng(seed)
        self.style = style
        self.patch = port_gaussian_patch(self.config.heatmap_sigma_px)

    def __len__(self):
        return len(self.records)

    def _augmentation(self):
        config = self.config
        rotation = self.rng.uniform(-config.rotation_deg, config.rotation_deg)
        if self.rng.random() >= config.rotation_prob:
            rotation = 0.0
        return (
            rotation,
            self.rng.uniform(*config.scale_range),
            self.rng.random() < config.flip_prob,
        )

    def sample(self, row):
        """(image (S, S, 3) float32 in [0, 1], heatmaps (S/4, S/4, K) float32) of one row."""
        record = self.records.iloc[row]
        image = cv2.imread(record.image, cv2.IMREAD_COLOR)
        if image is None:
            raise ValueError(f"{record.image}: cannot read or decode image file")
        if self.style == "port":
            return self._port_sample(image[:, :, ::-1], record)
        return self._lean_sample(cv2.cvtColor(image, cv2.COLOR_BGR2RGB), record)

    def _lean_sample(self, image, record):
        config = self.config
        size, out = config.input_size, config.output_size
        rotation, scale_factor, flip = self._augmentation()
        scale = record.scale * scale_factor
        to_crop = reference_crop_matrix(record.center, scale, size, rotation, flip)
        crop = cv2.warpAffine(
            image,
            to_crop[:2],
            (size, size),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=0,
        )
        crop = crop.astype(np.float32) / 255.0
        to_heatmap = reference_crop_matrix(record.center, scale, out, rotation, flip)
        joints = record.joints @ to_heatmap[:2, :2].T + to_heatmap[:2, 2]
        annotated = np.asarray(record.annotated, bool)
        if flip:
            joints = joints[self.flip_permutation]
            annotated = annotated[self.flip_permutation]
        inside = ((joints >= -0.5) & (joints < out - 0.5)).all(axis=1)
        heatmaps = reference_heatmaps(
            joints, annotated & inside, out, config.heatmap_sigma_px
        )
        return crop, heatmaps

    def _port_sample(self, image, record):
        config = self.config
        size, out = config.input_size, config.output_size
        # 1. The person box, copied into a float64 canvas and resized to the input size.
        box_px = BOX_PIXELS_PER_SCALE * record.scale
        left = int(record.center[0] - box_px / 2)
        top = int(record.center[1] - box_px / 2)
        side = max(int(box_px), 1)
        canvas = np.zeros((side, side, 3))
        height, width = image.shape[:2]
        x0, x1 = max(0, left), min(width, left + side)
        y0, y1 = max(0, top), min(height, top + side)
        if x1 > x0 and y1 > y0:
            canvas[y0 - top : y1 - top, x0 - left : x1 - left] = image[y0:y1, x0:x1]
        cropped = cv2.resize(canvas, (size, size))
        # 2. Rotation and scale augmentation: a second warp of the crop about its centre.
        rotation, scale_factor, flip = self._augmentation()
        crop_scale = size / BOX_PIXELS_PER_SCALE * scale_factor
        centre = ((size - 1) / 2.0, (size - 1) / 2.0)
        augment = reference_crop_matrix(centre, crop_scale, size, rotation)
        crop = (
            cv2.warpAffine(cropped, augment[:2], (size, size)).astype(np.float32)
            / 255.0
        )
        # Joints: image -> crop -> augmented heatmap grid, one point at a time.
        zoom = size / side  # canvas pixel u -> resized (u + 0.5) * zoom - 0.5
        to_cropped = np.array(
            [
                [zoom, 0.0, (0.5 - left) * zoom - 0.5],
                [0.0, zoom, (0.5 - top) * zoom - 0.5],
                [0.0, 0.0, 1.0],
            ]
        )
        to_heatmap = (
            reference_crop_matrix(centre, crop_scale, out, rotation) @ to_cropped
        )
        joints = np.array(
            [to_heatmap[:2, :2] @ p + to_heatmap[:2, 2] for p in record.joints]
        )
        annotated = np.asarray(record.annotated, bool)
        if flip:
            crop = crop[:, ::-1]
            joints = joints[self.flip_permutation]
            annotated = annotated[self.flip_permutation]
            joints[:, 0] = out - 1 - joints[:, 0]
        heatmaps = port_heatmaps(
            joints, annotated, out, self.patch, config.heatmap_sigma_px
        )
        return np.ascontiguousarray(crop), heatmaps

    def batches(self, batch_size):
        """Shuffled full batches, one pass: yields (images (B, S, S, 3), heatmaps (B, ...))."""
        order = self.rng.permutation(len(self))
        for start in range(0, len(order) - batch_size + 1, batch_size):
            samples = [self.sample(row) for row in order[start : start + batch_size]]
            yield np.stack([s[0] for s in samples]), np.stack([s[1] for s in samples])


def projective_transform_warp(region, region_to_output, size):
    """The crop warp before the compiled kernel: ``ImageProjectiveTransformV3`` on uint8.

    Same arguments and result as ``hg_keras.data.images.warp_region``; kept as the reference
    that the compiled warp is timed and tested against.
    """
    import tensorflow as tf

    from hg_keras.data.transforms import warp_image

    warped = warp_image(region, region_to_output, size, dtype=tf.uint8)
    return tf.cast(warped, tf.float32) * (1.0 / 255.0)


def benchmark_crop_warp(region_hw=(400, 380), input_size=256, repeats=50, seed=0):
    """Milliseconds of one augmented crop's warp: compiled kernel, the op it replaced, cv2.

    One uint8 region (a decoded person region's typical size) is warped into an
    ``input_size`` crop, rotated 20 degrees, by ``warp_region`` (XLA), by
    ``projective_transform_warp`` (``ImageProjectiveTransformV3``, the warp before it) and by
    ``cv2.warpAffine`` (what the reference loader uses), timed side by side.

    Returns:
        dict with ``compiled_ms``, ``projective_transform_ms``, ``cv2_ms`` (medians), the
        ``speedup`` of the compiled warp over the op, and the settings.
    """
    import tensorflow as tf

    from hg_keras.benchmarks.timing import time_side_by_side
    from hg_keras.data.images import warp_region

    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (*region_hw, 3)).astype(np.uint8)
    centre = (region_hw[1] / 2.0, region_hw[0] / 2.0)
    matrix = reference_crop_matrix(centre, max(region_hw) / 1.3 / BOX_PIXELS_PER_SCALE,
                                   input_size, rotation_deg=20.0)
    region, to_crop = tf.constant(pixels), tf.constant(matrix, tf.float32)
    size = (input_size, input_size)
    compiled = tf.function(lambda: warp_region(region, to_crop, size))
    projective = tf.function(lambda: projective_transform_warp(region, to_crop, size))
    timings = time_side_by_side(
        {
            "compiled": lambda: compiled().numpy(),
            "projective_transform": lambda: projective().numpy(),
            "cv2": lambda: cv2.warpAffine(pixels, matrix[:2], size, flags=cv2.INTER_LINEAR),
        },
        repeats=repeats,
        warmup=3,
    )
    result = {f"{name}_ms": 1e3 * t.median_s for name, t in timings.items()}
    result["speedup"] = result["projective_transform_ms"] / result["compiled_ms"]
    result.update(region_hw=tuple(region_hw), input_size=input_size, repeats=repeats)
    return result


def write_benchmark_images(
    folder, num_images, image_size=(720, 1280), seed=0, noise_std=6.0
):
    """Write photo-like JPEGs with one large person box each; returns a records DataFrame.

    The person box side is 50-90% of the image height (MPII scale ~1.8-3.2 at 720 px),
    joints are spread inside the box, images have smooth shading, shapes and sensor noise so
    they compress like photographs (~215 KB at 1280x720 with the default ``noise_std`` of 6
    grey levels per channel; about 60 KB with 2). More noise means more entropy-coded data,
    which every JPEG decoder must read in full whatever the crop.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    height, width = image_size
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    rows = []
    for n in range(num_images):
        phase = rng.uniform(0, 2 * np.pi, 3)
        image = np.stack(
            [
                110 + 70 * np.sin(xs / rng.uniform(40, 160) + p) * np.cos(ys / 90.0)
                for p in phase
            ],
            axis=-1,
        )
        for _ in range(25):
            color = rng.uniform(0, 255, 3).tolist()
            x, y = int(rng.uniform(0, width)), int(rng.uniform(0, height))
            cv2.ellipse(
                image,
                (x, y),
                (int(rng.uniform(10, 120)), int(rng.uniform(10, 120))),
                rng.uniform(0, 180),
                0,
                360,
                color,
                -1,
                cv2.LINE_AA,
            )
        image += rng.normal(0, noise_std, image.shape)
        path = folder / f"image_{n:05d}.jpg"
        cv2.imwrite(
            str(path),
            np.clip(image, 0, 255).astype(np.uint8),
            [cv2.IMWRITE_JPEG_QUALITY, 90],
        )
        box_px = rng.uniform(0.5, 0.9) * height
        center = np.array(
            [rng.uniform(0.3, 0.7) * width, rng.uniform(0.4, 0.6) * height]
        )
        joints = center + rng.uniform(-0.4, 0.4, (MPII_INFO.num_joints, 2)) * box_px
        annotated = rng.random(MPII_INFO.num_joints) > 0.1
        rows.append(
            {
                "image": str(path),
                "center": center,
                "scale": box_px / BOX_PIXELS_PER_SCALE,
                "joints": joints,
                "annotated": annotated,
                "visible": annotated,
                "norm_size": 0.1 * box_px,
                "split": "train",
                "image_index": n,
                "person_index": 0,
            }
        )
    return make_records(rows)


def _reference_rate(records, config, batch_size, seed, style):
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)  # one core, like one PyTorch DataLoader worker
    try:
        loader = ReferenceLoader(records, MPII_INFO, config, seed, style)
        next(loader.batches(batch_size))  # warm-up (file cache, allocations)
        start, start_cpu = time.perf_counter(), time.process_time()
        count = sum(len(images) for images, _ in loader.batches(batch_size))
        wall, cpu = time.perf_counter() - start, time.process_time() - start_cpu
        return count / wall, count / cpu
    finally:
        cv2.setNumThreads(threads)


def _make_pipeline(records, config, batch_size, seed, num_threads):
    import tensorflow as tf

    from hg_keras.data import make_dataset

    dataset = make_dataset(
        records, MPII_INFO, config, training=True, batch_size=batch_size, seed=seed
    )
    options = tf.data.Options()
    if num_threads is not None:
        options.threading.private_threadpool_size = num_threads
        options.threading.max_intra_op_parallelism = 1
    dataset = dataset.with_options(options)
    for _ in dataset.take(1):  # warm-up: graph instantiation, file cache
        pass
    return dataset


def _pipeline_rate(dataset):
    iterator = iter(dataset)
    next(iterator)  # iterator start-up is not per-sample work
    start, start_cpu = time.perf_counter(), time.process_time()
    count = 0
    for images, _ in iterator:
        count += int(images.shape[0])
    wall, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    return count / wall, count / cpu


def benchmark_pipeline(
    num_samples=512,
    image_size=(720, 1280),
    input_size=256,
    batch_size=32,
    num_threads=1,
    rounds=2,
    quick=False,
    workdir=None,
    seed=0,
    noise_std=6.0,
):
    """Samples per second of the training pipeline and of the per-sample reference loaders.

    The pipeline (on ``num_threads`` threads) and the ``"port"`` and ``"lean"`` reference
    loaders (one thread each) run one after the other in this process, ``rounds`` times in
    turn, on the same ``num_samples`` JPEGs of ``image_size`` with one large person each,
    with the paper's augmentation; each rate is the best of its rounds and excludes start-up
    (the first batch). Rates are given per wall-clock second and per CPU second of this
    process (the per-core rate, robust to other load on the machine).

    Args:
        num_samples: images written and loaded per measurement.
        image_size: (height, width) of the written JPEGs.
        input_size: network input side (heatmaps are a quarter).
        batch_size: batch size of all loaders.
        num_threads: threads of the tf.data pipeline (None: all cores); the references use
            one.
        rounds: measurements of each loader, taken in turn.
        quick: small setting for smoke runs: 48 samples of 360x640, batch 16, one round.
        workdir: folder for the images (a temporary folder, removed afterwards, when None).
        seed: seed of the images, the shuffles and the augmentations.
        noise_std: sensor noise of the written images (see ``write_benchmark_images``).

    Returns:
        dict with ``pipeline_samples_per_s`` / ``_per_cpu_s``, ``reference_samples_per_s``
        / ``_per_cpu_s`` (port style), ``lean_reference_samples_per_s`` / ``_per_cpu_s``,
        ``ratio`` (pipeline / port reference, wall clock), ``ratio_per_core`` (per CPU
        second), ``ratio_per_core_lean`` (against the lean loader), ``crop_warp``
        (``benchmark_crop_warp``: the crop's warp alone, before and after), plus the settings.

    Example:
        >>> result = benchmark_pipeline(quick=True)                     # doctest: +SKIP
        >>> result["ratio_per_core"] > 1                                 # doctest: +SKIP
        True
    """
    if quick:
        num_samples, image_size, batch_size, rounds = (
            min(num_samples, 48),
            (360, 640),
            16,
            1,
        )
    batch_size = min(batch_size, num_samples)
    config = PipelineConfig(input_size=input_size)
    rates = {"pipeline": [], "port": [], "lean": []}
    with tempfile.TemporaryDirectory(dir=workdir) as folder:
        records = write_benchmark_images(
            folder, num_samples, image_size, seed, noise_std
        )
        dataset = _make_pipeline(records, config, batch_size, seed, num_threads)
        for _ in range(rounds):
            rates["pipeline"].append(_pipeline_rate(dataset))
            for style in ("port", "lean"):
                rates[style].append(
                    _reference_rate(records, config, batch_size, seed, style)
                )
    best = {name: np.max(np.array(values), axis=0) for name, values in rates.items()}
    warp = benchmark_crop_warp(input_size=input_size, repeats=5 if quick else 50)
    threads = num_threads if num_threads is not None else (os.cpu_count() or 1)
    return {
        "pipeline_samples_per_s": float(best["pipeline"][0]),
        "pipeline_samples_per_cpu_s": float(best["pipeline"][1]),
        "reference_samples_per_s": float(best["port"][0]),
        "reference_samples_per_cpu_s": float(best["port"][1]),
        "lean_reference_samples_per_s": float(best["lean"][0]),
        "lean_reference_samples_per_cpu_s": float(best["lean"][1]),
        "ratio": float(best["pipeline"][0] / best["port"][0]),
        "ratio_per_core": float(best["pipeline"][1] / best["port"][1]),
        "ratio_per_core_lean": float(best["pipeline"][1] / best["lean"][1]),
        "num_threads": threads,
        "cpu_count": os.cpu_count(),
        "num_samples": num_samples,
        "image_size": tuple(image_size),
        "input_size": input_size,
        "batch_size": batch_size,
        "rounds": rounds,
        "noise_std": noise_std,
        "crop_warp": warp,
    }
