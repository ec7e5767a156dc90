"""TFLite float32 / float16 / int8 models of the heatmaps signature against Keras."""

import json

import cv2
import numpy as np
import pytest
from conftest import HEATMAP_SIZE, INPUT_SIZE, disc_radius_for
from disc_model import draw_discs

from hg_keras.datasets.records import make_records
from hg_keras.export.inference import model_outputs
from hg_keras.export.tflite import (
    TFLiteHeatmapModel,
    calibration_crops_from_records,
    convert_to_tflite,
    export_tflite,
    invoke_in_parallel,
    keypoint_agreement,
    tflite_file_name,
)


def _disc_records(folder, count, seed):
    """Records of ``count`` disc photos of assorted sizes (one 'person' = the 4 discs)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for index in range(count):
        height, width = (int(v) for v in rng.integers(72, 160, 2))
        image, centers = draw_discs(rng, height, width, disc_radius_for(height, width))
        path = folder / f"discs_{index:03d}.jpg"
        cv2.imwrite(str(path), image[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 95])
        rows.append(dict(
            image=str(path), center=[(width - 1) / 2, (height - 1) / 2],
            scale=max(height, width) * 1.25 / 200, joints=centers,
            annotated=[True] * 4, visible=[True] * 4, norm_size=10.0, split="train",
            image_index=index, person_index=0,
        ))
    return make_records(rows, source="disc photos")


@pytest.fixture(scope="module")
def calibration_crops(disc_info, tmp_path_factory):
    """Crops of the real evaluation pipeline (make_dataset), as the export CLI draws them."""
    records = _disc_records(tmp_path_factory.mktemp("calibration"), 24, seed=11)
    return calibration_crops_from_records(records, disc_info, INPUT_SIZE, num_samples=24)


@pytest.fixture(scope="module")
def test_crops(disc_info, tmp_path_factory):
    records = _disc_records(tmp_path_factory.mktemp("agreement"), 32, seed=12)
    return calibration_crops_from_records(records, disc_info, INPUT_SIZE, num_samples=32)


@pytest.fixture(scope="module")
def keras_heatmaps(disc_model, test_crops):
    return np.asarray(model_outputs(disc_model, test_crops)[-1])


@pytest.fixture(scope="module")
def tflite_files(saved_model_dir, calibration_crops, tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("tflite_exports")
    return export_tflite(saved_model_dir, out_dir, "hourglass", 1,
                         ("none", "fp16", "int8"), calibration_crops)


def test_calibration_crops_come_from_the_input_pipeline(calibration_crops):
    assert calibration_crops.shape == (24, INPUT_SIZE, INPUT_SIZE, 3)
    assert calibration_crops.dtype == np.float32
    assert 0.0 <= calibration_crops.min() and calibration_crops.max() <= 1.0


def test_export_writes_one_versioned_folder_with_the_joint_names(tflite_files, saved_model_dir):
    folder = tflite_files["none"].parent
    assert folder.name == "1" and folder.parent.name == "hourglass"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [tflite_file_name("hourglass", q) for q in ("none", "fp16", "int8")] + ["joints.json"]
    )
    assert json.loads((folder / "joints.json").read_text())["joint_names"] == [
        "red", "green", "blue", "yellow"
    ]


def test_float32_heatmaps_match_keras_within_1e_4(tflite_files, test_crops, keras_heatmaps):
    model = TFLiteHeatmapModel(tflite_files["none"])
    assert model.output_names == ["stack_1"]
    heatmaps = model.last_stack(test_crops)
    assert heatmaps.shape == (32, HEATMAP_SIZE, HEATMAP_SIZE, 4)
    assert np.abs(heatmaps - keras_heatmaps).max() <= 1e-4


def test_a_batch_run_one_image_per_invoke_gives_the_batch_heatmaps(tflite_files, test_crops):
    whole = TFLiteHeatmapModel(tflite_files["none"])(test_crops[:5])
    for images_per_invoke in (1, 2):  # 2: chunks of 2, 2 and 1 (the input is resized)
        chunked = TFLiteHeatmapModel(tflite_files["none"], images_per_invoke=images_per_invoke)
        heatmaps = chunked(test_crops[:5])
        assert sorted(heatmaps) == sorted(whole)
        for name in whole:
            assert heatmaps[name].shape == whole[name].shape
            np.testing.assert_allclose(heatmaps[name], whole[name], atol=1e-5)
        # each call again: the interpreter's resized input does not leak into the next one
        np.testing.assert_allclose(chunked.last_stack(test_crops[:1])[0],
                                   whole["stack_1"][0], atol=1e-5)


def test_images_per_invoke_below_one_or_not_a_whole_number_is_refused(tflite_files):
    with pytest.raises(ValueError, match="TFLiteHeatmapModel: images_per_invoke is 0"):
        TFLiteHeatmapModel(tflite_files["none"], images_per_invoke=0)
    with pytest.raises(ValueError, match="images_per_invoke is 1.5; it must be an int"):
        TFLiteHeatmapModel(tflite_files["none"], images_per_invoke=1.5)


def test_a_batch_shared_by_parallel_interpreters_gives_the_batch_heatmaps_in_order(
    tflite_files, test_crops
):
    whole = TFLiteHeatmapModel(tflite_files["none"])(test_crops[:5])
    parallel = TFLiteHeatmapModel(tflite_files["none"], num_threads=1, images_per_invoke=1,
                                  num_interpreters=3)
    assert len(parallel.interpreters) == 3
    for _ in range(2):  # the thread pool is reused from call to call
        heatmaps = parallel(test_crops[:5])  # parts of 2, 2 and 1 images
        assert sorted(heatmaps) == sorted(whole)
        np.testing.assert_allclose(heatmaps["stack_1"], whole["stack_1"], atol=1e-5)
    # fewer images than interpreters: only as many parts as images
    np.testing.assert_allclose(parallel.last_stack(test_crops[3:5]), whole["stack_1"][3:5],
                               atol=1e-5)
    np.testing.assert_allclose(parallel.last_stack(test_crops[4]), whole["stack_1"][4:5],
                               atol=1e-5)


def test_invoke_in_parallel_without_an_executor_starts_its_own_threads(tflite_files,
                                                                       test_crops):
    models = [TFLiteHeatmapModel(tflite_files["none"], num_threads=1) for _ in range(2)]
    runners = [model.runner for model in models]
    images = np.asarray(test_crops[:4], np.float32)
    outputs = invoke_in_parallel(runners, "images", images)
    np.testing.assert_allclose(outputs["stack_1"], models[0].last_stack(images), atol=1e-5)
    with pytest.raises(ValueError, match="invoke_in_parallel: runners is empty"):
        invoke_in_parallel([], "images", images)


def test_num_interpreters_below_one_or_none_is_refused(tflite_files):
    for bad in (0, None, 2.0):
        with pytest.raises(ValueError, match=f"TFLiteHeatmapModel: num_interpreters is {bad}"):
            TFLiteHeatmapModel(tflite_files["none"], num_interpreters=bad)


def test_fp16_keypoints_agree_with_keras(tflite_files, test_crops, keras_heatmaps):
    heatmaps = TFLiteHeatmapModel(tflite_files["fp16"]).last_stack(test_crops)
    assert keypoint_agreement(keras_heatmaps, heatmaps, tolerance_px=1.0) >= 0.95
    assert keypoint_agreement(keras_heatmaps, heatmaps, tolerance_px=0.0) >= 0.9


def test_int8_keypoints_agree_with_keras(tflite_files, test_crops, keras_heatmaps):
    model = TFLiteHeatmapModel(tflite_files["int8"])
    assert model.input_dtype == np.int8
    heatmaps = model.last_stack(test_crops)
    assert keypoint_agreement(keras_heatmaps, heatmaps, tolerance_px=1.0) >= 0.95


def test_agreement_exposes_a_wrongly_scaled_int8_input(tflite_files, test_crops,
                                                        keras_heatmaps):
    # The classic mistake: feeding 0-255 pixels to a model calibrated on [0, 1] crops.
    heatmaps = TFLiteHeatmapModel(tflite_files["int8"]).last_stack(test_crops * 255.0)
    assert keypoint_agreement(keras_heatmaps, heatmaps, tolerance_px=1.0) < 0.5


def test_quantized_files_are_smaller(tflite_files):
    sizes = {q: path.stat().st_size for q, path in tflite_files.items()}
    assert sizes["fp16"] < 0.6 * sizes["none"]
    assert sizes["int8"] < 0.45 * sizes["none"]


def test_int8_without_calibration_is_refused(saved_model_dir):
    with pytest.raises(ValueError, match="int8 needs calibration crops"):
        convert_to_tflite(saved_model_dir, "int8")
    with pytest.raises(ValueError, match="unknown; choose one of none, fp16, int8"):
        convert_to_tflite(saved_model_dir, "int4")


def test_keypoint_agreement_counts_joints_within_the_tolerance():
    reference = np.zeros((1, 8, 8, 2), np.float32)
    reference[0, 2, 2, 0] = reference[0, 5, 5, 1] = 1.0
    other = np.zeros_like(reference)
    other[0, 2, 3, 0] = 1.0  # one pixel right: within 1 px
    other[0, 1, 1, 1] = 1.0  # four pixels away on each axis
    assert keypoint_agreement(reference, other, tolerance_px=1.0) == 0.5
    assert keypoint_agreement(reference, other, tolerance_px=0.0) == 0.0
