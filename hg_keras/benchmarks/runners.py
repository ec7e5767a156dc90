"""One zero-argument callable per inference path: images in, every stack's heatmaps out.

Each ``*_runner`` function prepares everything that is not per-call work (tracing,
compilation, interpreter allocation, input conversion) and returns a callable that runs one
complete forward pass on a fixed batch and blocks until the heatmaps are in host memory, as
``hg_keras.benchmarks.timing.time_side_by_side`` needs.

Example:
    >>> run = keras_runner(model, images)          # tf.function, BN as trained
    >>> heatmaps = run()                            # list of (N, H/4, W/4, K) numpy arrays
"""

from __future__ import annotations

import warnings

import numpy as np

#: Interpreters a TFLite model can run on: ``"tensorflow"`` (``tf.lite.Interpreter``, kept
#: in TF 2.21 but deprecated) and ``"litert"`` (``ai_edge_litert``, its successor).
TFLITE_INTERPRETERS = ("tensorflow", "litert")


def keras_runner(model, images, jit_compile: bool = False):
    """``model(images, training=False)`` inside one ``tf.function`` (XLA when ``jit_compile``).

    Args:
        model: Keras model (TensorFlow backend).
        images: (N, S, S, 3) float32.
        jit_compile: compile the whole forward pass with XLA.

    Returns:
        Callable returning a list of numpy heatmaps, one per stack.
    """
    import tensorflow as tf

    inputs = tf.constant(np.asarray(images, np.float32))
    forward = tf.function(lambda x: model(x, training=False), jit_compile=jit_compile)

    def run():
        outputs = forward(inputs)
        outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        return [o.numpy() for o in outputs]

    return run


def saved_model_runner(saved_model_dir, images, signature: str = "heatmaps"):
    """The exported SavedModel's ``heatmaps`` signature, loaded with ``tf.saved_model.load``.

    Args:
        saved_model_dir: a version folder written by ``hg_keras.export.export_saved_model``.
        images: (N, S, S, 3) float32.
        signature: signature key.

    Returns:
        Callable returning the signature's outputs as numpy arrays, in stack order.
    """
    import tensorflow as tf

    loaded = tf.saved_model.load(str(saved_model_dir))
    function = loaded.signatures[signature]
    inputs = tf.constant(np.asarray(images, np.float32))
    input_name = next(iter(function.structured_input_signature[1]))

    def run():
        outputs = function(**{input_name: inputs})
        names = sorted(outputs, key=lambda n: (len(n), n))
        return [outputs[name].numpy() for name in names]

    run.loaded = loaded  # keep the object (and its variables) alive with the callable
    return run


def tflite_interpreter(model_content: bytes, num_threads: int | None,
                       interpreter: str = "tensorflow"):
    """A TFLite interpreter (XNNPACK delegate applied by default) for ``model_content``.

    Args:
        model_content: ``.tflite`` bytes.
        num_threads: threads of the interpreter and its XNNPACK delegate; None leaves
            TFLite's default.
        interpreter: ``"tensorflow"`` or ``"litert"`` (needs ``pip install ai-edge-litert``).

    Raises:
        ImportError: ``"litert"`` without ``ai-edge-litert`` installed.
        ValueError: unknown ``interpreter``.
    """
    if interpreter == "tensorflow":
        import tensorflow as tf

        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*tf.lite.Interpreter is deprecated")
            return tf.lite.Interpreter(model_content=model_content, num_threads=num_threads)
    if interpreter == "litert":
        from ai_edge_litert.interpreter import Interpreter

        return Interpreter(model_content=model_content, num_threads=num_threads)
    raise ValueError(f"interpreter={interpreter!r}: choose one of {TFLITE_INTERPRETERS}")


def tflite_runner(model_content: bytes, images, num_threads: int | None,
                  interpreter: str = "tensorflow", signature: str = "heatmaps",
                  images_per_invoke: int | None = None, num_interpreters: int = 1):
    """Run a converted heatmap model through its signature; float in, float out.

    For full-integer models the input is quantized once, outside the timed call, and the
    int8 outputs are dequantized inside it (as an app would need float heatmaps).

    Args:
        model_content: ``.tflite`` bytes from ``hg_keras.export.convert_to_tflite``.
        images: (N, S, S, 3) float32 in [0, 1].
        num_threads: interpreter threads (None: TFLite's default).
        interpreter: ``"tensorflow"`` or ``"litert"``.
        signature: signature key.
        images_per_invoke: invoke at most this many images at a time
            (``hg_keras.export.invoke_in_chunks``); None: the whole batch in one invoke.
        num_interpreters: interpreters of ``num_threads`` threads each that share the batch,
            invoked concurrently (``hg_keras.export.invoke_in_parallel``).

    Returns:
        Callable returning a list of float32 numpy heatmaps in stack order.
    """
    from concurrent.futures import ThreadPoolExecutor

    from hg_keras.export.tflite import dequantize, invoke_in_parallel, quantize

    engines = [
        tflite_interpreter(model_content, num_threads, interpreter)
        for _ in range(num_interpreters)
    ]
    signature_runners = [engine.get_signature_runner(signature) for engine in engines]
    runner = signature_runners[0]
    input_name, input_details = next(iter(runner.get_input_details().items()))
    output_details = runner.get_output_details()
    names = sorted(output_details, key=lambda n: (len(n), n))
    inputs = quantize(np.asarray(images, np.float32), input_details)
    pool = ThreadPoolExecutor(num_interpreters) if num_interpreters > 1 else None

    def run():
        outputs = invoke_in_parallel(signature_runners, input_name, inputs, images_per_invoke,
                                     pool)
        return [dequantize(outputs[name], output_details[name]) for name in names]

    run.interpreters = engines
    return run


def torch_runner(net, images, flush_denormal: bool = True):
    """The PyTorch reference ``PoseNet`` in eval mode under ``torch.inference_mode``.

    Args:
        net: ``hg_keras.benchmarks.pytorch_reference.PoseNet``.
        images: (N, S, S, 3) float32 (the port takes NHWC and permutes it itself).
        flush_denormal: flush denormal floats to zero during each call, as TensorFlow does
            by default, so that neither side pays for denormals the other ignores. The
            process-wide flag is switched back off after the call, so other code in the
            process (e.g. property-based tests that need subnormal floats) is not affected.

    Returns:
        Callable returning the (N, nstack, K, H/4, W/4) numpy output.
    """
    import torch

    inputs = torch.from_numpy(np.ascontiguousarray(images, np.float32))
    net.eval()

    def run():
        torch.set_flush_denormal(flush_denormal)
        try:
            with torch.inference_mode():
                return net(inputs).numpy()
        finally:
            torch.set_flush_denormal(False)

    return run


def last_stack_nhwc(outputs) -> np.ndarray:
    """The last stack's heatmaps as (N, H, W, K), from any runner's output."""
    if isinstance(outputs, np.ndarray) and outputs.ndim == 5:  # PoseNet: (N, S, K, H, W)
        return outputs[:, -1].transpose(0, 2, 3, 1)
    return np.asarray(outputs[-1])
