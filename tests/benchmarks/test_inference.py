"""Inference benchmark: every path computes the same network, rows hold consistent numbers."""

import tempfile

import numpy as np
import pytest

pytest.importorskip("torch", reason="the PyTorch reference needs torch")

from hg_keras.benchmarks import runners
from hg_keras.benchmarks.inference import (
    BATCHED_ONLY_PATHS,
    PATHS,
    TORCH,
    InferenceSettings,
    available_paths,
    benchmark_inference,
    export_model,
)
from hg_keras.benchmarks.paired_models import calibration_images, paired_models
from hg_keras.export.bn_folding import fold_batch_norm
from hg_keras.export.tflite import dequantize, quantize
from hg_keras.model import count_flops

pytestmark = pytest.mark.slow

SETTINGS = InferenceSettings(
    stacks=(1,), batch_sizes=(1,), input_size=64, num_features=16, num_joints=4,
    num_threads=1, repeats=1, warmup=1, calibration_count=2, accuracy_count=2,
)


@pytest.fixture(scope="module")
def result():
    return benchmark_inference(SETTINGS, log=None)


def test_every_available_path_has_one_row_per_stack_count_and_batch_size(result):
    paths, skipped = available_paths(PATHS)
    at_batch_1 = [p for p in paths if p not in BATCHED_ONLY_PATHS]  # same as another at 1
    assert [row["path"] for row in result["rows"]] == at_batch_1
    assert result["skipped"] == skipped
    assert {(row["stacks"], row["batch_size"]) for row in result["rows"]} == {(1, 1)}


def test_ratios_are_medians_over_the_reference_median(result):
    reference = next(row for row in result["rows"] if row["path"] == TORCH)
    assert reference["ratio_to_reference"] == 1.0
    for row in result["rows"]:
        assert row["ratio_to_reference"] == pytest.approx(row["median_s"] / reference["median_s"])
        assert row["min_s"] <= row["median_s"]


def test_gflops_per_second_count_the_convolutions_of_the_measured_model(result):
    model, _ = paired_models(1, num_features=16, num_joints=4, input_size=64)
    flops = count_flops(model)
    for row in result["rows"]:
        assert row["flops_per_image"] == flops
        assert row["gflops_per_s"] == pytest.approx(flops / row["median_s"] / 1e9)
        assert row["ms_per_image"] == pytest.approx(1000 * row["median_s"])


def test_quantized_models_are_smaller_and_their_error_is_reported(result):
    rows = {row["quantization"]: row for row in result["quantization"]}
    assert sorted(rows) == ["fp16", "int8"]
    assert rows["int8"]["size_mb"] < rows["fp16"]["size_mb"] < rows["fp16"]["fp32_size_mb"]
    for row in rows.values():
        assert 0.0 <= row["agreement_1px"] <= 1.0
        assert row["relative_rms"] >= 0.0
        assert row["num_images"] == 2
    assert set(result["export_s"][1]) == {"saved_model", "tflite_none", "tflite_fp16",
                                          "tflite_int8"}


def test_every_float_path_computes_the_reference_heatmaps():
    model, net = paired_models(1, num_features=16, num_joints=4, input_size=64)
    images = calibration_images(2, 64, seed=9)
    expected = runners.last_stack_nhwc(runners.torch_runner(net, images)())
    with tempfile.TemporaryDirectory() as workdir:
        exported = export_model(model, SETTINGS, workdir, ["none"])
        outputs = {
            "keras": runners.keras_runner(model, images)(),
            "keras folded": runners.keras_runner(fold_batch_norm(model), images)(),
            "keras xla": runners.keras_runner(model, images, jit_compile=True)(),
            "saved model": runners.saved_model_runner(exported.saved_model_dir, images)(),
            "tflite fp32": runners.tflite_runner(exported.tflite["none"], images, 1)(),
            "tflite fp32, one image per invoke": runners.tflite_runner(
                exported.tflite["none"], images, 1, images_per_invoke=1
            )(),
            "tflite fp32, two interpreters in parallel": runners.tflite_runner(
                exported.tflite["none"], images, 1, images_per_invoke=1, num_interpreters=2
            )(),
        }
    scale = np.abs(expected).max()
    for name, output in outputs.items():
        assert len(output) == 1, name
        np.testing.assert_allclose(runners.last_stack_nhwc(output), expected,
                                   atol=1e-4 * scale, err_msg=name)


def test_int8_tensors_are_quantized_and_dequantized_with_their_scale_and_zero_point():
    details = {"dtype": np.int8, "quantization": (0.5, -3)}
    quantized = quantize(np.array([0.0, 1.0, 100.0, -100.0], np.float32), details)
    np.testing.assert_array_equal(quantized, np.array([-3, -1, 127, -128], np.int8))
    np.testing.assert_array_equal(dequantize(quantized, details),
                                  np.array([0.0, 1.0, 65.0, -62.5], np.float32))


def test_unknown_path_is_rejected():
    with pytest.raises(ValueError, match="'ONNX' is unknown"):
        available_paths(["ONNX"])


def test_the_reference_runner_flushes_denormals_only_during_its_calls():
    _, net = paired_models(1, num_features=8, num_joints=2, input_size=64)
    runners.torch_runner(net, calibration_images(1, 64, seed=3))()
    tiny = np.array([1e-40], np.float32)  # a subnormal float32
    assert (tiny * np.float32(1.0))[0] > 0.0  # not flushed to zero
