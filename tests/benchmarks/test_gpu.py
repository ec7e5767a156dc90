"""GPU benchmark helpers: the projected schedule and the report (the run itself: scripts test)."""

import keras
import pytest

from hg_keras.benchmarks.gpu import (
    PAPER_TRAINING_DAYS,
    GpuSettings,
    keras_precision,
    projected_schedule,
    render_gpu_report,
    schedule_projections,
)


def test_projected_schedule_is_epochs_times_people_over_throughput():
    settings = GpuSettings(people_per_epoch=22_000, epochs=100)
    projection = projected_schedule(images_per_s=100.0, settings=settings)
    assert projection["epoch_minutes"] == pytest.approx(22_000 / 100.0 / 60)
    assert projection["hours"] == pytest.approx(22_000 * 100 / 100.0 / 3600)
    assert projection["days"] == pytest.approx(22_000 / 86400)
    assert projection["vs_paper"] == pytest.approx(22_000 / 86400 / PAPER_TRAINING_DAYS)


def test_tiny_settings_keep_overrides():
    settings = GpuSettings.tiny(epochs=3)
    assert (settings.stacks, settings.input_size, settings.train_batch, settings.epochs) == (
        (1, 2), 64, 2, 3)
    assert GpuSettings().stacks == (8, 2) and GpuSettings().train_batch == 16


def test_bf16_models_are_built_under_mixed_precision_and_the_policy_is_restored():
    before = keras.config.dtype_policy().name
    with keras_precision("bf16"):
        layer = keras.layers.Dense(2)
    assert layer.dtype_policy.name == "mixed_bfloat16"
    assert keras.config.dtype_policy().name == before


def row(kind, stacks, precision, path, median_s, batch, ratio):
    return {"kind": kind, "stacks": stacks, "precision": precision, "batch_size": batch,
            "path": path, "median_s": median_s, "min_s": median_s, "runs": 10,
            "warmup_s": 20.0, "images_per_s": batch / median_s, "ratio_to_reference": ratio}


def test_report_has_latency_throughput_and_projection_tables():
    settings = GpuSettings()
    results = {
        "settings": {"input_size": 256, "num_features": 256, "epochs": 100,
                     "people_per_epoch": 22_000, "train_batch": 16},
        "machine": {"date": "2026-01-02 03:04 UTC", "cpu_model": "Test CPU"},
        "devices": {"keras_backend": "jax", "keras_devices": ["gpu:NVIDIA H200"],
                    "torch_device": "cuda", "torch_gpu": "NVIDIA H200"},
        "libraries": {"jax": "0.10.2"},
        "rows": [
            row("forward", 8, "fp32", "Keras (jax)", 0.010, 1, 0.8),
            row("forward", 8, "fp32", "PyTorch reference", 0.0125, 1, 1.0),
            row("train", 8, "bf16", "Keras (jax)", 0.1, 16, 0.5),
            row("train", 8, "bf16", "PyTorch reference", 0.2, 16, 1.0),
        ],
        "projection": schedule_projections(
            [row("train", 8, "bf16", "Keras (jax)", 0.1, 16, 0.5),
             row("train", 2, "bf16", "Keras (jax)", 0.025, 16, 0.5)], settings),
        "skipped": ["forward 2 stacks fp32"],
        "tensorflow_imported": False,
        "seconds": 300.0,
    }
    text = render_gpu_report(results)
    assert "TensorFlow imported: no." in text
    assert "| 8 | fp32 | 1 | Keras (jax) | 10.00 | 0.80x | 20.0 s |" in text
    assert "| 8 | bf16 | 16 | Keras (jax) | 160.0 | 0.50x | 20.0 s |" in text
    assert "here 10.00 ms (Keras (jax), fp32)" in text
    assert "| 8 | bf16 | Keras (jax) | 160.0 | 2.3 min | 3.8 h | 0.05x |" in text
    assert "| 2 | bf16 | Keras (jax) | 640.0 | 0.6 min | 1.0 h | 0.01x |" in text
    assert "Skipped (time budget): forward 2 stacks fp32." in text
