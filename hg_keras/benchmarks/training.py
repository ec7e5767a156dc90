"""Training-step speed: Keras ``train_on_batch`` (with and without XLA) vs the PyTorch port's step.

Both sides start from the same weights (``paired_models``), use RMSprop (lr 2.5e-4, the
paper's) and the MSE of every stack's heatmaps against the same target, and take a fixed
batch already in memory, so the input pipeline is not part of the step. Optionally the
same network with ``keras.layers.BatchNormalization`` instead of the model's
``FusedBatchNormalization`` runs beside them: the step before the fused kernel.

Example:
    >>> rows = benchmark_training(TrainingSettings(num_stacks=1, num_features=32,
    ...                                            input_size=64, batch_size=2, repeats=2))
    >>> [row["path"] for row in rows]
    ['Keras train_on_batch', 'Keras train_on_batch + XLA', 'PyTorch reference step']
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass

import numpy as np

from hg_keras.benchmarks.paired_models import calibration_images, paired_models
from hg_keras.benchmarks.timing import time_side_by_side

LEARNING_RATE = 2.5e-4

KERAS = "Keras train_on_batch"
KERAS_XLA = "Keras train_on_batch + XLA"
KERAS_PLAIN_BN = "Keras train_on_batch, keras.layers.BatchNormalization"
TORCH = "PyTorch reference step"


@dataclass(frozen=True)
class TrainingSettings:
    """What ``benchmark_training`` measures.

    Attributes:
        num_stacks: hourglasses (the issue's comparison uses 2).
        num_features: channels inside the hourglasses.
        num_joints: K.
        input_size: side of the square input.
        batch_size: images per step.
        repeats: timed steps per candidate (interleaved).
        warmup: untimed steps per candidate before (tracing, XLA compilation).
        seed: weights and data.
    """

    num_stacks: int = 2
    num_features: int = 256
    num_joints: int = 16
    input_size: int = 256
    batch_size: int = 8
    repeats: int = 5
    warmup: int = 2
    seed: int = 0


def keras_step(model, images, heatmaps, jit_compile: bool):
    """A compiled copy-free Keras training step on a fixed batch: returns a callable.

    The model is compiled with RMSprop and one MSE per output (``heatmap_losses``), the
    way ``hg_keras.training`` trains it; each call is one ``train_on_batch``.
    """
    import keras

    from hg_keras.model.losses import heatmap_losses

    model.compile(
        optimizer=keras.optimizers.RMSprop(LEARNING_RATE),
        loss=heatmap_losses(model),
        jit_compile=jit_compile,
    )
    names = model.output_names
    # Keras hands a one-output model a bare tensor, not a dict (as the input pipeline does).
    targets = heatmaps if len(names) == 1 else {name: heatmaps for name in names}

    def run():
        return model.train_on_batch(images, targets)

    return run


def with_keras_batch_norm(model):
    """A copy of ``model`` whose BatchNorm layers are plain ``keras.layers.BatchNormalization``.

    Same configuration and weights; only the fused training kernel of
    ``FusedBatchNormalization`` is gone.
    """
    import keras

    from hg_keras.model.batch_norm import FusedBatchNormalization

    def clone_layer(layer):
        if isinstance(layer, FusedBatchNormalization):
            return keras.layers.BatchNormalization.from_config(layer.get_config())
        return layer.__class__.from_config(layer.get_config())

    plain = keras.models.clone_model(model, clone_function=clone_layer)
    plain.set_weights(model.get_weights())
    return plain


def torch_step(net, images, heatmaps):
    """The port's step (``pytorch_reference.train_step``) on a fixed batch: returns a callable."""
    import torch

    from hg_keras.benchmarks.pytorch_reference import train_step

    net.train()
    optimizer = torch.optim.RMSprop(net.parameters(), lr=LEARNING_RATE)
    inputs = torch.from_numpy(np.ascontiguousarray(images))
    targets = torch.from_numpy(np.ascontiguousarray(heatmaps.transpose(0, 3, 1, 2)))

    def run():
        return train_step(net, optimizer, inputs, targets)

    return run


def training_batch(settings: TrainingSettings):
    """A fixed (images, heatmaps) batch: (B, S, S, 3) and (B, S/4, S/4, K) float32."""
    images = calibration_images(settings.batch_size, settings.input_size, settings.seed + 1)
    rng = np.random.default_rng(settings.seed)
    side = settings.input_size // 4
    heatmaps = rng.random((settings.batch_size, side, side, settings.num_joints), np.float32)
    return images, heatmaps


def benchmark_training(settings: TrainingSettings = TrainingSettings(), xla: bool = True,
                       torch_reference: bool = True, keras_batch_norm: bool = False) -> list[dict]:
    """Seconds per training step of each path, measured side by side.

    Args:
        settings: sizes and repetitions.
        xla: include the XLA-compiled Keras step.
        torch_reference: include the PyTorch step (needs ``torch``).
        keras_batch_norm: include the step of the same network with
            ``keras.layers.BatchNormalization`` (``with_keras_batch_norm``).

    Returns:
        One dict per path: ``path``, ``median_s``, ``min_s``, ``runs``, ``warmup_s``
        (first call: tracing/compilation), ``images_per_s``, ``ratio_to_reference``
        (median / PyTorch median; None without the reference), plus the settings.
    """
    images, heatmaps = training_batch(settings)
    candidates = {}
    models = {}
    for name, jit in [(KERAS, False), (KERAS_XLA, True)]:
        if jit and not xla:
            continue
        model, net = paired_models(
            settings.num_stacks, settings.num_features, settings.num_joints,
            settings.input_size, settings.seed,
        )
        models[name] = model
        candidates[name] = keras_step(model, images, heatmaps, jit)
        if keras_batch_norm and not jit:
            candidates[KERAS_PLAIN_BN] = keras_step(
                with_keras_batch_norm(model), images, heatmaps, jit_compile=False
            )
    if torch_reference:
        candidates[TORCH] = torch_step(net, images, heatmaps)
    timings = time_side_by_side(candidates, repeats=settings.repeats, warmup=settings.warmup)
    reference = timings.get(TORCH)
    rows = []
    for name, timing in timings.items():
        rows.append(
            {
                "path": name,
                **timing.row_fields(),
                "images_per_s": settings.batch_size / timing.median_s,
                "ratio_to_reference": timing.ratio_to(reference) if reference else None,
                "num_stacks": settings.num_stacks,
                "batch_size": settings.batch_size,
                "input_size": settings.input_size,
                "num_features": settings.num_features,
            }
        )
    return rows


def benchmark_training_in_child(settings: TrainingSettings, num_threads: int, onednn: bool,
                                xla: bool = False, torch_reference: bool = True) -> list[dict]:
    """``benchmark_training`` in a fresh process with TensorFlow's oneDNN on or off.

    The child measures the Keras step(s) and the PyTorch step side by side, so its ratios
    are as good as the parent's; its paths end in ``" [TF oneDNN on]"`` / ``" [TF oneDNN off]"``.

    Args:
        settings: sizes and repetitions.
        num_threads: TensorFlow and PyTorch threads in the child.
        onednn: ``TF_ENABLE_ONEDNN_OPTS`` of the child.
        xla: include the XLA step (XLA does not use oneDNN's convolutions).
        torch_reference: include the PyTorch step.

    Returns:
        The child's rows, paths suffixed with the oneDNN setting.
    """
    from hg_keras.benchmarks.children import onednn_environment, run_json_child

    args = ["--settings", json.dumps(asdict(settings)), "--threads", str(num_threads),
            "--xla", str(int(xla)), "--torch", str(int(torch_reference))]
    rows = run_json_child("hg_keras.benchmarks.training", args, onednn_environment(onednn))
    suffix = " [TF oneDNN on]" if onednn else " [TF oneDNN off]"
    return [{**row, "path": row["path"] + suffix, "onednn": onednn} for row in rows]


def _child(argv=None) -> None:
    parser = argparse.ArgumentParser(description="training benchmark (child process)")
    parser.add_argument("--settings", required=True, help="TrainingSettings as JSON")
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--xla", type=int, default=0)
    parser.add_argument("--torch", type=int, default=1)
    args = parser.parse_args(argv)

    from hg_keras.benchmarks.environment import fix_thread_counts

    fix_thread_counts(args.threads, torch=bool(args.torch))
    settings = TrainingSettings(**json.loads(args.settings))
    rows = benchmark_training(settings, xla=bool(args.xla), torch_reference=bool(args.torch))
    print(json.dumps(rows))


if __name__ == "__main__":
    _child()
