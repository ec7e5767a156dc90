"""TFLite models of the heatmap network: float32, float16 and full-integer int8.

The converter reads the SavedModel's ``heatmaps`` signature (crops in, every stack's
heatmaps out): decoding JPEG/PNG and the crop are left to the app, which usually has the
camera frame as pixels already. The BatchNorm layers are folded before export, so the
TFLite graphs hold only convolutions, ReLU, pooling, adds, the concatenations and reshapes
of the nearest upsampling (``NearestUpsampling2D``), and one add per residual for the BN
whose scale moved through a ReLU: every op runs in the XNNPACK delegate.

Quantization (``quantize``):

``none``
    float32 weights and activations (``<name>_float32.tflite``).
``fp16``
    float16 weights, float32 compute on CPUs (``<name>_float16.tflite``, half the size).
``int8``
    full-integer: int8 weights and activations, int8 input and output tensors
    (``<name>_int8.tflite``), calibrated on representative crops, which should come from
    the real input pipeline (``calibration_crops_from_records``) or from the photos the
    model will see (``calibration_crops_from_images``). ``TFLiteHeatmapModel`` quantizes the
    float input and dequantizes the outputs with the tensors' scale and zero point.

Example:
    >>> crops = calibration_crops_from_records(records, MPII_INFO, 256, num_samples=200)
    >>> data = convert_to_tflite("saved_models/hourglass/1", "int8", crops)
    >>> TFLiteHeatmapModel(data)(crops[:2])["stack_8"].shape
    (2, 64, 64, 16)
"""

from __future__ import annotations

import shutil
import warnings
import weakref
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import tensorflow as tf

from hg_keras.export.saved_model import (
    HEATMAPS,
    METADATA_FILE,
    write_version_atomically,
)

#: CLI name of each quantization -> label used in the file name.
QUANTIZATIONS = {"none": "float32", "fp16": "float16", "int8": "int8"}
TFLITE_DIR = "tflite"


def _check_quantize(quantize: str) -> str:
    if quantize not in QUANTIZATIONS:
        raise ValueError(
            f"--quantize {quantize!r}: unknown; choose one of {', '.join(QUANTIZATIONS)}"
        )
    return quantize


def convert_to_tflite(saved_model_dir, quantize: str = "none", representative_crops=None) -> bytes:
    """Convert the ``heatmaps`` signature of an exported SavedModel to a TFLite flatbuffer.

    Args:
        saved_model_dir: a version folder written by ``export_saved_model``.
        quantize: ``"none"``, ``"fp16"`` or ``"int8"``.
        representative_crops: int8 only: (N, S, S, 3) float32 crops in [0, 1] (a few hundred
            from the real input pipeline is plenty), or an iterable of (S, S, 3) crops.

    Returns:
        The ``.tflite`` file's bytes.

    Raises:
        ValueError: unknown ``quantize``, or ``int8`` without representative crops.

    Example:
        >>> Path("hourglass_float16.tflite").write_bytes(
        ...     convert_to_tflite("saved_models/hourglass/1", "fp16"))
    """
    _check_quantize(quantize)
    converter = tf.lite.TFLiteConverter.from_saved_model(
        str(saved_model_dir), signature_keys=[HEATMAPS]
    )
    if quantize == "fp16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif quantize == "int8":
        if representative_crops is None:
            raise ValueError(
                "--quantize int8 needs calibration crops (--calibration-dataset or "
                "--calibration-images)"
            )
        crops = [np.asarray(c, np.float32) for c in representative_crops]
        if not crops:
            raise ValueError("--quantize int8: the calibration set is empty")

        def representative_dataset():
            for crop in crops:
                yield [crop[None] if crop.ndim == 3 else crop]

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative_dataset
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    return converter.convert()


def _check_count(value, name: str, caller: str, allow_none: bool = True) -> None:
    """Refuse a count that is not a whole number >= 1 (or None where allowed), by name."""
    if value is None and allow_none:
        return
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        accepted = "an int >= 1 or None" if allow_none else "an int >= 1"
        raise ValueError(f"{caller}: {name} is {value!r}; it must be {accepted}")


def invoke_in_chunks(runner, input_name: str, inputs, images_per_invoke: int | None = None):
    """Run a TFLite signature on a batch, at most ``images_per_invoke`` images per invoke.

    XNNPACK runs one layer over the whole batch before the next, so a large batch streams
    every activation through memory; invoking a few images at a time keeps them in cache.
    On 2 cores of an Intel Xeon (8 stacks, fp32, LiteRT, batch 8) one-image invokes took
    0.93x the time of one batch-8 invoke (docs/BENCHMARKS_XEON.md). The interpreter resizes
    its input whenever the chunk's batch differs from the last one, so a batch that is a
    multiple of ``images_per_invoke`` pays no resize after the first call.

    Args:
        runner: a signature runner (``interpreter.get_signature_runner(...)``).
        input_name: the signature's input name.
        inputs: (N, ...) array, already in the input tensor's dtype.
        images_per_invoke: images per invoke; None runs the whole batch in one invoke.

    Returns:
        dict output name -> (N, ...) array (the chunks' outputs concatenated in order).

    Raises:
        ValueError: ``images_per_invoke`` below 1.

    Example:
        >>> runner = interpreter.get_signature_runner("heatmaps")
        >>> outputs = invoke_in_chunks(runner, "images", crops, images_per_invoke=1)
    """
    _check_count(images_per_invoke, "images_per_invoke", "invoke_in_chunks")
    count = len(inputs)
    if images_per_invoke is None or count <= images_per_invoke:
        return runner(**{input_name: inputs})
    parts = [
        runner(**{input_name: inputs[start : start + images_per_invoke]})
        for start in range(0, count, images_per_invoke)
    ]
    return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}


def invoke_in_parallel(runners, input_name: str, inputs, images_per_invoke: int | None = None,
                       executor=None):
    """Run a batch split over several interpreters at once, one contiguous part each.

    Each runner (one per interpreter, each interpreter used by one thread at a time) takes
    a contiguous part of the batch (``np.array_split``) through ``invoke_in_chunks``; the
    interpreters release Python's GIL while they invoke, so the parts run concurrently.
    One-thread interpreters side by side keep every core busy on its own images, with no
    synchronisation between the threads of each layer: on 2 cores of an Intel Xeon (8 stacks,
    fp32, LiteRT, batch 8) two one-thread interpreters took 0.93-0.95x the time of one
    two-thread interpreter invoking one image at a time (docs/BENCHMARKS_XEON.md).

    Args:
        runners: signature runners, one per interpreter.
        input_name: the signature's input name.
        inputs: (N, ...) array, already in the input tensor's dtype.
        images_per_invoke: passed to ``invoke_in_chunks`` for each part.
        executor: a ``concurrent.futures`` executor with at least ``len(runners)`` workers;
            None starts threads for this call.

    Returns:
        dict output name -> (N, ...) array, in the order of ``inputs``.

    Example:
        >>> runners = [tf.lite.Interpreter(path, num_threads=1).get_signature_runner("heatmaps")
        ...            for _ in range(2)]
        >>> outputs = invoke_in_parallel(runners, "images", crops, images_per_invoke=1)
    """
    if not runners:
        raise ValueError("invoke_in_parallel: runners is empty; pass at least one runner")
    _check_count(images_per_invoke, "images_per_invoke", "invoke_in_parallel")
    parts = [part for part in np.array_split(inputs, len(runners)) if len(part)]
    if len(parts) == 1:
        return invoke_in_chunks(runners[0], input_name, parts[0], images_per_invoke)

    def run(runner, part):
        return invoke_in_chunks(runner, input_name, part, images_per_invoke)

    if executor is None:
        with ThreadPoolExecutor(max_workers=len(parts)) as pool:
            results = list(pool.map(run, runners, parts))
    else:
        results = list(executor.map(run, runners, parts))
    return {name: np.concatenate([result[name] for result in results]) for name in results[0]}


class TFLiteHeatmapModel:
    """Run a converted heatmap model with float inputs and outputs, whatever its quantization.

    Args:
        model: path of a ``.tflite`` file or its bytes.
        num_threads: threads of each interpreter (None: TFLite's default).
        images_per_invoke: run a batch as invokes of at most this many images
            (``invoke_in_chunks``; 1 was the fastest in docs/BENCHMARKS_XEON.md); None runs
            each batch in one invoke.
        num_interpreters: interpreters that share each batch, run concurrently
            (``invoke_in_parallel``); a batch of one image uses only the first. For batches
            on a server CPU, one interpreter per core with ``num_threads=1`` was the fastest
            in docs/BENCHMARKS_XEON.md. Each holds its own copy of the activations.

    Raises:
        ValueError: ``images_per_invoke`` or ``num_interpreters`` is not a whole number
            >= 1.

    Example:
        >>> model = TFLiteHeatmapModel("saved_models/tflite/hourglass/1/hourglass_int8.tflite")
        >>> heatmaps = model(crops)          # dict stack_1 ... stack_S -> (N, 64, 64, K)
        >>> fast = TFLiteHeatmapModel("hourglass_float32.tflite", num_threads=2,
        ...                           images_per_invoke=1)
        >>> batched = TFLiteHeatmapModel("hourglass_float32.tflite", num_threads=1,
        ...                              images_per_invoke=1, num_interpreters=2)
    """

    def __init__(self, model, num_threads: int | None = None,
                 images_per_invoke: int | None = None, num_interpreters: int = 1):
        _check_count(images_per_invoke, "images_per_invoke", "TFLiteHeatmapModel")
        _check_count(num_interpreters, "num_interpreters", "TFLiteHeatmapModel",
                     allow_none=False)
        source = (
            {"model_content": bytes(model)}
            if isinstance(model, (bytes, bytearray))
            else {"model_path": str(model)}
        )
        interpreter_class = _interpreter_class()
        self.interpreters = [
            interpreter_class(num_threads=num_threads, **source) for _ in range(num_interpreters)
        ]
        self.runners = [
            interpreter.get_signature_runner(HEATMAPS) for interpreter in self.interpreters
        ]
        self.interpreter, self.runner = self.interpreters[0], self.runners[0]
        self.images_per_invoke = images_per_invoke
        self._executor = None
        if num_interpreters > 1:
            self._executor = ThreadPoolExecutor(
                max_workers=num_interpreters, thread_name_prefix="tflite_invoke"
            )
            weakref.finalize(self, self._executor.shutdown, wait=False)
        self._input = self.runner.get_input_details()["images"]
        self._outputs = self.runner.get_output_details()
        self.output_names = sorted(self._outputs, key=lambda n: (len(n), n))

    @property
    def input_dtype(self):
        """NumPy dtype of the input tensor (float32, or int8 for full-integer models)."""
        return self._input["dtype"]

    def __call__(self, crops) -> dict:
        """Heatmaps of (N, S, S, 3) float32 crops in [0, 1]: dict name -> (N, S/4, S/4, K)."""
        crops = np.asarray(crops, np.float32)
        if crops.ndim == 3:
            crops = crops[None]
        images = quantize(crops, self._input)
        outputs = invoke_in_parallel(self.runners, "images", images, self.images_per_invoke,
                                     self._executor)
        return {
            name: dequantize(outputs[name], self._outputs[name]) for name in self.output_names
        }

    def last_stack(self, crops) -> np.ndarray:
        """Heatmaps of the last stack only: (N, S/4, S/4, K) float32."""
        return self(crops)[self.output_names[-1]]


def _interpreter_class():
    """LiteRT's interpreter when installed (``ai-edge-litert``), else ``tf.lite.Interpreter``."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        warnings.filterwarnings("ignore", message=".*tf.lite.Interpreter is deprecated")
        return tf.lite.Interpreter
    return Interpreter


def quantize(values, details):
    """Float values as the TFLite tensor's dtype (identity for float tensors).

    Args:
        values: float32 array.
        details: the tensor's details from the interpreter (``dtype``, ``quantization``
            = (scale, zero point)).

    Example:
        >>> quantize(np.array([1.0], np.float32), {"dtype": np.int8, "quantization": (0.5, -3)})
        array([-1], dtype=int8)
    """
    if details["dtype"] == np.float32:
        return values
    scale, zero_point = details["quantization"]
    info = np.iinfo(details["dtype"])
    quantized = np.round(values / scale + zero_point)
    return np.clip(quantized, info.min, info.max).astype(details["dtype"])


def dequantize(values, details):
    """The TFLite tensor's values as float32 (identity for float tensors); see ``quantize``."""
    if details["dtype"] == np.float32:
        return np.asarray(values, np.float32)
    scale, zero_point = details["quantization"]
    return ((values.astype(np.float32) - zero_point) * scale).astype(np.float32)


def calibration_crops_from_records(records, info, input_size: int, num_samples: int = 200,
                                   seed: int = 0, batch_size: int = 16) -> np.ndarray:
    """Crops for int8 calibration, drawn from the evaluation input pipeline.

    Args:
        records: records DataFrame (``hg_keras.datasets.records`` schema) whose images exist.
        info: its ``DatasetInfo``.
        input_size: the model's input side.
        num_samples: people to draw (without replacement; all when fewer).
        seed: which people are drawn.
        batch_size: pipeline batch size.

    Returns:
        (n, input_size, input_size, 3) float32 crops in [0, 1].
    """
    from hg_keras.data import PipelineConfig, make_dataset

    if len(records) == 0:
        raise ValueError("calibration records are empty")
    chosen = records.sample(n=min(num_samples, len(records)), random_state=seed)
    dataset = make_dataset(
        chosen.reset_index(drop=True),
        info,
        PipelineConfig(input_size=input_size),
        training=False,
        batch_size=batch_size,
    )
    return np.concatenate([batch["image"].numpy() for batch in dataset])


def calibration_crops_from_images(paths, input_size: int, num_samples: int = 200) -> np.ndarray:
    """Whole-image crops of photos for int8 calibration, cropped as ``serving_default`` does.

    Args:
        paths: image files.
        input_size: the model's input side.
        num_samples: at most this many images are used (the first ones).

    Returns:
        (n, input_size, input_size, 3) float32 crops in [0, 1].
    """
    from hg_keras.export.cropping import crop_person
    from hg_keras.export.predictor import read_image

    crops = []
    for path in list(paths)[:num_samples]:
        crop, _, _ = crop_person(read_image(path), [-1.0] * 4, input_size, input_size // 4)
        crops.append(crop.numpy())
    if not crops:
        raise ValueError("--calibration-images: no images found")
    return np.stack(crops)


def tflite_file_name(name: str, quantize: str) -> str:
    """``<name>_<float32|float16|int8>.tflite``."""
    return f"{name}_{QUANTIZATIONS[_check_quantize(quantize)]}.tflite"


def export_tflite(saved_model_dir, out_dir="saved_models", name: str = "hourglass",
                  version: int | None = None, quantizations=("none",),
                  representative_crops=None) -> dict:
    """Write TFLite models of an exported SavedModel to ``out_dir/tflite/name/version/``.

    The folder also receives the SavedModel's ``joints.json`` (joint names, flip
    permutation, input size) and appears atomically, like SavedModel versions.

    Args:
        saved_model_dir: a version folder written by ``export_saved_model``.
        out_dir: root of all exports.
        name: model name.
        version: int >= 1 or None for the next free version of ``out_dir/tflite/name``.
        quantizations: any of ``"none"``, ``"fp16"``, ``"int8"``.
        representative_crops: calibration crops, needed for ``"int8"``.

    Returns:
        dict quantization -> path of the written ``.tflite`` file.

    Example:
        >>> export_tflite("saved_models/hourglass/1", quantizations=("none", "fp16"))
        {'none': PosixPath('saved_models/tflite/hourglass/1/hourglass_float32.tflite'), ...}
    """
    quantizations = [_check_quantize(q) for q in quantizations]
    saved_model_dir = Path(saved_model_dir)
    contents = {
        q: convert_to_tflite(saved_model_dir, q, representative_crops) for q in quantizations
    }

    def write(folder: Path):
        for quantize, data in contents.items():
            (folder / tflite_file_name(name, quantize)).write_bytes(data)
        metadata = saved_model_dir / "assets" / METADATA_FILE
        if metadata.is_file():
            shutil.copyfile(metadata, folder / METADATA_FILE)

    folder = write_version_atomically(Path(out_dir) / TFLITE_DIR / name, version, write)
    return {q: folder / tflite_file_name(name, q) for q in quantizations}


def keypoint_agreement(reference_heatmaps, heatmaps, tolerance_px: float = 1.0) -> float:
    """Share of joints whose decoded peaks lie within ``tolerance_px`` heatmap pixels.

    Args:
        reference_heatmaps: (N, H, W, K) heatmaps of the reference (e.g. the Keras model).
        heatmaps: (N, H, W, K) heatmaps to compare (e.g. a quantized TFLite model).
        tolerance_px: distance in heatmap pixels.

    Returns:
        Fraction in [0, 1] over all N x K joints.

    Example:
        >>> keypoint_agreement(keras_heatmaps, TFLiteHeatmapModel(path).last_stack(crops))
        1.0
    """
    from hg_keras.evaluation.decode import heatmap_peaks_np

    reference, _ = heatmap_peaks_np(reference_heatmaps)
    other, _ = heatmap_peaks_np(heatmaps)
    distance = np.linalg.norm(reference.astype(np.float64) - other, axis=-1)
    return float(np.mean(distance <= tolerance_px))


def tflite_parity(saved_model_dir, tflite_path, crops) -> dict:
    """Compare a TFLite file with its SavedModel's ``heatmaps`` signature on ``crops``.

    Args:
        saved_model_dir: the SavedModel version folder the file was converted from.
        tflite_path: ``.tflite`` file.
        crops: (N, S, S, 3) float32 crops in [0, 1] (real data makes the numbers meaningful).

    Returns:
        dict with ``size_bytes``, ``max_abs_diff`` (last stack's heatmaps),
        ``agreement_1px`` (``keypoint_agreement`` within 1 heatmap px) and ``num_crops``.
    """
    crops = np.asarray(crops, np.float32)
    loaded = tf.saved_model.load(str(saved_model_dir))
    outputs = loaded.signatures[HEATMAPS](images=tf.constant(crops))
    last = max(outputs, key=lambda n: (len(n), n))
    reference = outputs[last].numpy()
    heatmaps = TFLiteHeatmapModel(tflite_path).last_stack(crops)
    return {
        "size_bytes": Path(tflite_path).stat().st_size,
        "max_abs_diff": float(np.abs(heatmaps - reference).max()),
        "agreement_1px": keypoint_agreement(reference, heatmaps, 1.0),
        "num_crops": len(crops),
    }
