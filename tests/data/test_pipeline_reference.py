"""The per-sample reference loader used to benchmark the pipeline does the same work."""

import numpy as np

from hg_keras.benchmarks.pipeline_reference import (
    ReferenceLoader,
    benchmark_pipeline,
    port_gaussian_patch,
    reference_crop_matrix,
)
from hg_keras.data import PipelineConfig, crop_matrix_np, make_dataset
from hg_keras.datasets.records import MPII_INFO


def test_reference_crop_matrix_is_the_pipeline_matrix():
    rng = np.random.default_rng(0)
    for _ in range(10):
        center, scale = rng.uniform(0, 500, 2), rng.uniform(0.5, 4)
        rotation, flip = rng.uniform(-30, 30), bool(rng.random() > 0.5)
        np.testing.assert_allclose(
            reference_crop_matrix(center, scale, 64, rotation, flip),
            crop_matrix_np(center, scale, (64, 64), rotation, flip),
            atol=1e-4,
        )


def test_lean_reference_sample_matches_the_pipeline_without_augmentation(
    person_records,
):
    records = person_records(2)
    fixed = {"rotation_deg": 0.0, "scale_range": (1.0, 1.0), "flip_prob": 0.0}
    config = PipelineConfig(input_size=64, **fixed)
    loader = ReferenceLoader(records, MPII_INFO, config, seed=0, style="lean")
    batch = next(
        iter(make_dataset(records, MPII_INFO, config, training=False, batch_size=2))
    )
    for row in range(2):
        image, heatmaps = loader.sample(row)
        assert image.shape == (64, 64, 3) and heatmaps.shape == (16, 16, 16)
        assert np.abs(image - batch["image"][row].numpy()).mean() < 0.01
        np.testing.assert_allclose(heatmaps, batch["heatmaps"][row].numpy(), atol=1e-5)


def test_port_reference_puts_the_gaussian_patch_on_the_joint(person_records):
    records = person_records(1)
    config = PipelineConfig(
        input_size=64, rotation_deg=0.0, scale_range=(1.0, 1.0), flip_prob=0.0
    )
    _, heatmaps = ReferenceLoader(records, MPII_INFO, config, style="port").sample(0)
    patch = port_gaussian_patch(1.0)
    assert patch.shape == (9, 9) and patch[4, 4] == 1.0
    to_heatmap = crop_matrix_np(records.center[0], records.scale[0], (16, 16))
    expected = records.joints[0] @ to_heatmap[:2, :2].T + to_heatmap[:2, 2]
    for k in (10, 15):  # the wrists
        y, x = np.unravel_index(np.argmax(heatmaps[..., k]), (16, 16))
        assert abs(x - expected[k, 0]) <= 1.0 and abs(y - expected[k, 1]) <= 1.0


def test_benchmark_reports_both_rates_and_their_ratio(tmp_path):
    result = benchmark_pipeline(
        num_samples=8,
        image_size=(120, 160),
        input_size=32,
        batch_size=4,
        rounds=1,
        workdir=tmp_path,
    )
    for key in ("pipeline", "reference", "lean_reference"):
        assert result[f"{key}_samples_per_s"] > 0
        assert result[f"{key}_samples_per_cpu_s"] > 0
    ratio = result["pipeline_samples_per_cpu_s"] / result["reference_samples_per_cpu_s"]
    assert result["ratio_per_core"] == ratio
    warp = result["crop_warp"]
    assert warp["speedup"] == warp["projective_transform_ms"] / warp["compiled_ms"]
    assert min(warp["compiled_ms"], warp["projective_transform_ms"], warp["cv2_ms"]) > 0
    assert list(tmp_path.iterdir()) == []  # the images are removed afterwards
