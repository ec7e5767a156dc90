"""Input-pipeline speed: ``hg_keras.data.make_dataset`` against a per-sample Python loader.

``ReferenceLoader`` does the same work as the training pipeline the way the PyTorch ports of
the paper do it: per sample in Python, ``cv2.imread`` of the whole image, ``cv2.warpAffine``
with the same crop matrix, NumPy Gaussian targets joint by joint, then ``np.stack`` into a
batch. ``benchmark_pipeline`` writes real-size JPEGs with large people to a temporary folder
and measures both, one after the other, on the same number of threads.

Example:
    >>> from hg_keras.benchmarks.pipeline_reference import benchmark_pipeline
    >>> result = benchmark_pipeline(quick=True)                        # doctest: +SKIP
    >>> result["ratio"]                                                 # doctest: +SKIP
    3.1
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
            heatmaps[..., k] = np.exp(-((xs - x) ** 2 + (ys - y) ** 2) / (2.0 * sigma_px**2))
    return heatmaps


class ReferenceLoader:
    """Training samples made per sample in Python with OpenCV and NumPy (PyTorch-port style).

    Args:
        records: records DataFrame (``hg_keras.datasets.records``).
        info: ``DatasetInfo`` (flip permutation).
        config: ``PipelineConfig`` (sizes, augmentation ranges).
        seed: NumPy random seed.

    Example:
        >>> loader = ReferenceLoader(records, MPII_INFO, PipelineConfig(), seed=0)  # doctest: +SKIP
        >>> images, heatmaps = next(loader.batches(32))                             # doctest: +SKIP
    """

    def __init__(self, records, info, config=None, seed=0):
        self.records = records.reset_index(drop=True)
        self.flip_permutation = np.asarray(info.flip_permutation)
        self.config = config if config is not None else PipelineConfig()
        self.rng = np.random.default_rng(seed)

    def __len__(self):
        return len(self.records)

    def sample(self, row):
        """(image (S, S, 3) float32 in [0, 1], heatmaps (S/4, S/4, K) float32) of one row."""
        config, record = self.config, self.records.iloc[row]
        image = cv2.imread(record.image, cv2.IMREAD_COLOR)
        if image is None:
            raise ValueError(f"{record.image}: cannot read or decode image file")
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        rotation = self.rng.uniform(-config.rotation_deg, config.rotation_deg)
        if self.rng.random() >= config.rotation_prob:
            rotation = 0.0
        scale = record.scale * self.rng.uniform(*config.scale_range)
        flip = self.rng.random() < config.flip_prob
        size, out = config.input_size, config.output_size
        to_crop = reference_crop_matrix(record.center, scale, size, rotation, flip)
        crop = cv2.warpAffine(
            image, to_crop[:2], (size, size), flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT, borderValue=0,
        )
        crop = crop.astype(np.float32) / 255.0
        to_heatmap = reference_crop_matrix(record.center, scale, out, rotation, flip)
        joints = record.joints @ to_heatmap[:2, :2].T + to_heatmap[:2, 2]
        annotated = np.asarray(record.annotated, bool)
        if flip:
            joints, annotated = joints[self.flip_permutation], annotated[self.flip_permutation]
        inside = ((joints >= -0.5) & (joints < out - 0.5)).all(axis=1)
        heatmaps = reference_heatmaps(joints, annotated & inside, out, config.heatmap_sigma_px)
        return crop, heatmaps

    def batches(self, batch_size):
        """Shuffled full batches, one pass: yields (images (B, S, S, 3), heatmaps (B, ...))."""
        order = self.rng.permutation(len(self))
        for start in range(0, len(order) - batch_size + 1, batch_size):
            samples = [self.sample(row) for row in order[start : start + batch_size]]
            yield np.stack([s[0] for s in samples]), np.stack([s[1] for s in samples])


def write_benchmark_images(folder, num_images, image_size=(720, 1280), seed=0):
    """Write photo-like JPEGs with one large person box each; returns a records DataFrame.

    The person box side is 50-90% of the image height (MPII scale ~1.8-3.2 at 720 px),
    joints are spread inside the box, images have smooth shading, shapes and sensor noise so
    they compress like photographs (~100-250 KB at 1280x720).
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
            [110 + 70 * np.sin(xs / rng.uniform(40, 160) + p) * np.cos(ys / 90.0) for p in phase],
            axis=-1,
        )
        for _ in range(25):
            color = rng.uniform(0, 255, 3).tolist()
            x, y = int(rng.uniform(0, width)), int(rng.uniform(0, height))
            cv2.ellipse(image, (x, y), (int(rng.uniform(10, 120)), int(rng.uniform(10, 120))),
                        rng.uniform(0, 180), 0, 360, color, -1, cv2.LINE_AA)
        image += rng.normal(0, 6, image.shape)
        path = folder / f"image_{n:05d}.jpg"
        cv2.imwrite(str(path), np.clip(image, 0, 255).astype(np.uint8),
                    [cv2.IMWRITE_JPEG_QUALITY, 90])
        box_px = rng.uniform(0.5, 0.9) * height
        center = np.array([rng.uniform(0.3, 0.7) * width, rng.uniform(0.4, 0.6) * height])
        joints = center + rng.uniform(-0.4, 0.4, (MPII_INFO.num_joints, 2)) * box_px
        annotated = rng.random(MPII_INFO.num_joints) > 0.1
        rows.append(
            {
                "image": str(path), "center": center, "scale": box_px / BOX_PIXELS_PER_SCALE,
                "joints": joints, "annotated": annotated, "visible": annotated,
                "norm_size": 0.1 * box_px, "split": "train", "image_index": n, "person_index": 0,
            }
        )
    return make_records(rows)


def _reference_rate(records, config, batch_size, seed):
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)  # one core, like one PyTorch DataLoader worker
    try:
        loader = ReferenceLoader(records, MPII_INFO, config, seed)
        next(loader.batches(batch_size))  # warm-up (file cache, allocations)
        start, start_cpu = time.perf_counter(), time.process_time()
        count = sum(len(images) for images, _ in loader.batches(batch_size))
        return count / (time.perf_counter() - start), count / (time.process_time() - start_cpu)
    finally:
        cv2.setNumThreads(threads)


def _pipeline_rate(records, config, batch_size, seed, num_threads):
    import tensorflow as tf

    from hg_keras.data import make_dataset

    dataset = make_dataset(records, MPII_INFO, config, training=True, batch_size=batch_size,
                           seed=seed)
    options = tf.data.Options()
    if num_threads is not None:
        options.threading.private_threadpool_size = num_threads
        options.threading.max_intra_op_parallelism = 1
    dataset = dataset.with_options(options)
    for _ in dataset.take(1):  # warm-up: graph instantiation, file cache
        pass
    iterator = iter(dataset)
    first = next(iterator)  # iterator start-up is not per-sample work
    start, start_cpu = time.perf_counter(), time.process_time()
    count = 0
    for images, _ in iterator:
        count += int(images.shape[0])
    del first
    return count / (time.perf_counter() - start), count / (time.process_time() - start_cpu)


def benchmark_pipeline(
    num_samples=512,
    image_size=(720, 1280),
    input_size=256,
    batch_size=32,
    num_threads=1,
    quick=False,
    workdir=None,
    seed=0,
):
    """Samples per second of the training pipeline and of the per-sample reference loader.

    Both run one after the other in this process on ``num_threads`` threads (``None``: the
    pipeline uses every core, the reference still one), on the same ``num_samples`` JPEGs
    of ``image_size`` with one large person each, with the paper's augmentation. The rates
    exclude start-up (first batch).

    Args:
        num_samples: images written and loaded per measurement.
        image_size: (height, width) of the written JPEGs.
        input_size: network input side (heatmaps are a quarter).
        batch_size: batch size of both loaders.
        num_threads: threads of the tf.data pipeline (the reference uses one).
        quick: small setting for smoke runs: 64 samples of 360x640, batch 16.
        workdir: folder for the images (a temporary folder, removed afterwards, when None).
        seed: seed of the images, the shuffles and the augmentations.

    Returns:
        dict with ``pipeline_samples_per_s``, ``reference_samples_per_s``, ``ratio``
        (pipeline / reference), ``pipeline_samples_per_s_per_thread``, ``ratio_per_core``
        (per-thread pipeline rate / single-threaded reference rate), plus the settings used.

    Example:
        >>> result = benchmark_pipeline(quick=True)                     # doctest: +SKIP
        >>> sorted(result)[:3]                                           # doctest: +SKIP
        ['batch_size', 'cpu_count', 'image_size']
    """
    if quick:
        num_samples, image_size, batch_size = min(num_samples, 64), (360, 640), 16
    batch_size = min(batch_size, num_samples)
    config = PipelineConfig(input_size=input_size)
    with tempfile.TemporaryDirectory(dir=workdir) as folder:
        records = write_benchmark_images(folder, num_samples, image_size, seed)
        reference, reference_cpu = _reference_rate(records, config, batch_size, seed)
        pipeline, pipeline_cpu = _pipeline_rate(records, config, batch_size, seed, num_threads)
    threads = num_threads if num_threads is not None else (os.cpu_count() or 1)
    return {
        "pipeline_samples_per_s": pipeline,
        "reference_samples_per_s": reference,
        "ratio": pipeline / reference,
        "pipeline_samples_per_cpu_s": pipeline_cpu,
        "reference_samples_per_cpu_s": reference_cpu,
        "ratio_per_core": pipeline_cpu / reference_cpu,
        "num_threads": threads,
        "cpu_count": os.cpu_count(),
        "num_samples": num_samples,
        "image_size": tuple(image_size),
        "input_size": input_size,
        "batch_size": batch_size,
    }
