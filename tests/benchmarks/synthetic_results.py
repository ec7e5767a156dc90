"""Hand-made benchmark results with round numbers, for the targets and report tests."""

from hg_keras.benchmarks import inference, training
from hg_keras.benchmarks.suite import SECTIONS

#: Median seconds per batch at 8 stacks, batch 1 and batch 8, per inference path.
MEDIANS_8_STACKS = {
    inference.KERAS: (1.0, 6.0),
    inference.KERAS_XLA: (0.95, 6.0),
    inference.KERAS_FOLDED: (0.9, 5.0),
    inference.KERAS_XLA_FOLDED: (0.9, 5.0),
    inference.SAVED_MODEL: (0.9, 5.0),
    inference.TFLITE_FP32_DEFAULT_THREADS: (1.2, 8.0),
    inference.TFLITE_FP32: (0.6, 4.0),
    inference.TFLITE_FP16: (0.6, 4.0),
    inference.TFLITE_INT8: (0.5, 2.5),
    inference.LITERT_FP32: (0.64, 4.0),
    inference.LITERT_FP32_PER_IMAGE: (None, 3.6),  # run at batch sizes above one only
    inference.LITERT_FP32_PARALLEL: (None, 3.4),
    inference.LITERT_INT8: (0.5, 2.5),
    inference.TORCH: (1.0, 5.0),
}
FLOPS_8_STACKS = 54_880_370_688


def inference_rows():
    rows = []
    for path, medians in MEDIANS_8_STACKS.items():
        for batch, median in zip((1, 8), medians):
            if median is None:
                continue
            reference = MEDIANS_8_STACKS[inference.TORCH][(1, 8).index(batch)]
            rows.append({
                "stacks": 8, "batch_size": batch, "path": path, "median_s": median,
                "min_s": median * 0.9, "runs": 5, "warmup_s": 2.0,
                "ms_per_image": 1000 * median / batch, "flops_per_image": FLOPS_8_STACKS,
                "gflops_per_s": FLOPS_8_STACKS * batch / median / 1e9,
                "ratio_to_reference": median / reference,
            })
    return rows


def results(pipeline_ratio_per_core=2.5, training_ratio=0.75, cores=2, load=(0.5, 0.4, 0.3)):
    """A complete ``run_benchmarks``-shaped result of a full run at 8 stacks."""
    return {
        "config": {"quick": False, "num_threads": cores, "sections": list(SECTIONS),
                   "repeats": None},
        "machine": {
            "date": "2026-01-02 03:04 UTC", "cpu_model": "Test CPU", "cpu_flags": ["avx2"],
            "cpu_count": cores, "available_cores": cores, "load_average": load,
            "platform": "Linux", "python": "3.11.7",
            "libraries": {"tensorflow": "2.21.0", "torch": "not installed"},
        },
        "process": {"environment": {"OMP_WAIT_POLICY": "PASSIVE"},
                    "threads": {"tensorflow": f"intra_op={cores}, inter_op=1"}},
        "onednn": False,
        "load_average_end": load,
        "seconds": 600.0,
        "section_seconds": {"inference": 600.0},
        "inference": {
            "rows": inference_rows(),
            "quantization": [{
                "stacks": 8, "quantization": "int8", "size_mb": 26.0, "fp32_size_mb": 102.0,
                "num_images": 8, "relative_rms": 0.25, "max_abs_diff": 1.5,
                "agreement_1px": 0.5,
            }],
            "export_s": {8: {"saved_model": 40.0}},
            "skipped": {inference.LITERT_FP32: "ai-edge-litert is not installed"},
            "settings": {"input_size": 256, "num_features": 256, "num_joints": 16,
                         "repeats": 5, "warmup": 1},
        },
        "training": {
            "rows": [
                {"path": training.KERAS, "median_s": 4.0 * training_ratio, "min_s": 2.9,
                 "runs": 5, "warmup_s": 30.0, "images_per_s": 8 / (4.0 * training_ratio),
                 "ratio_to_reference": training_ratio, "num_stacks": 2, "batch_size": 8,
                 "input_size": 256, "num_features": 256},
                {"path": training.TORCH, "median_s": 4.0, "min_s": 3.9, "runs": 5,
                 "warmup_s": 1.0, "images_per_s": 2.0, "ratio_to_reference": 1.0,
                 "num_stacks": 2, "batch_size": 8, "input_size": 256, "num_features": 256},
            ],
            "settings": {"num_stacks": 2, "batch_size": 8, "input_size": 256,
                         "num_features": 256, "repeats": 5, "warmup": 2},
        },
        "pipeline": {
            "pipeline_samples_per_s": 50.0, "reference_samples_per_s": 20.0, "ratio": 2.5,
            "pipeline_samples_per_cpu_s": 25.0 * pipeline_ratio_per_core / 2.5,
            "reference_samples_per_cpu_s": 10.0, "ratio_per_core": pipeline_ratio_per_core,
            "num_threads": cores, "cpu_count": cores, "num_samples": 512,
            "image_size": (720, 1280), "input_size": 256, "batch_size": 32,
            "crop_warp": {"compiled_ms": 0.4, "projective_transform_ms": 2.0, "cv2_ms": 0.5,
                          "speedup": 5.0, "region_hw": (400, 380), "input_size": 256,
                          "repeats": 50},
        },
    }
