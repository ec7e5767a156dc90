"""GPU comparison without TensorFlow: backend-agnostic Keras (JAX) against the PyTorch port.

Forward latency at batch 1 and training images/s at batch 16, for 2 and 8 stacks, in fp32
and bf16 mixed precision, measured side by side (``time_side_by_side``), plus the projected
wall-clock of the paper's training schedule. The Keras model runs on whatever backend
``KERAS_BACKEND`` names (``jax`` on GPUs; ``torch`` works too and is what the CPU smoke test
uses); the reference is ``hg_keras.benchmarks.pytorch_reference.PoseNet`` on the same
device kind, with the same weights (``paired_models``).

Nothing here imports TensorFlow, directly or through ``hg_keras.data`` / ``hg_keras.export``.
``KERAS_BACKEND`` must be set before anything of ``hg_keras`` is imported (the package
imports Keras, which picks its backend once); ``scripts/benchmark_gpu.py`` does that.

Example:
    >>> settings = GpuSettings.tiny()
    >>> results = run_gpu_benchmark(settings)                    # doctest: +SKIP
    >>> print(render_gpu_report(results))                        # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import sys
import time
from dataclasses import asdict, dataclass

import numpy as np

from hg_keras.benchmarks.paired_models import calibration_images, paired_models
from hg_keras.benchmarks.timing import time_side_by_side

PRECISIONS = ("fp32", "bf16")
LEARNING_RATE = 2.5e-4

#: The paper's numbers (§3.4): ~3 days of training on one 12 GB TitanX, 75 ms per forward
#: pass of the 8-stack network.
PAPER_TRAINING_DAYS = 3.0
PAPER_FORWARD_MS = 75.0


@dataclass(frozen=True)
class GpuSettings:
    """What ``run_gpu_benchmark`` measures.

    Attributes:
        stacks: numbers of stacks (2 and 8).
        input_size: side of the square input.
        num_features: channels inside the hourglasses.
        num_joints: K.
        forward_batch: batch of the latency measurement (1).
        train_batch: batch of the training measurement (16).
        precisions: subset of ``("fp32", "bf16")``; bf16 is Keras' ``mixed_bfloat16``
            policy and ``torch.autocast(dtype=torch.bfloat16)``.
        forward_repeats / train_repeats: timed interleaved rounds.
        forward_warmup / train_warmup: untimed rounds first (compilation, autotuning).
        people_per_epoch: training samples per epoch of the projected schedule.
        epochs: epochs of the projected schedule.
        budget_s: no new measurement starts after this many seconds (the rest is reported
            as skipped), so that a run fits a time slot.
        seed: weights and data.
    """

    stacks: tuple[int, ...] = (8, 2)
    input_size: int = 256
    num_features: int = 256
    num_joints: int = 16
    forward_batch: int = 1
    train_batch: int = 16
    precisions: tuple[str, ...] = PRECISIONS
    forward_repeats: int = 20
    forward_warmup: int = 3
    train_repeats: int = 10
    train_warmup: int = 2
    people_per_epoch: int = 22_000
    epochs: int = 100
    budget_s: float = 540.0
    seed: int = 0

    @classmethod
    def tiny(cls, **overrides) -> GpuSettings:
        """Tiny sizes for a CPU smoke test (1 and 2 stacks, 64x64, 16 features, batch 2)."""
        values = {"stacks": (1, 2), "input_size": 64, "num_features": 16, "train_batch": 2,
                      "forward_repeats": 2, "forward_warmup": 1, "train_repeats": 2,
                      "train_warmup": 1}
        values.update(overrides)
        return cls(**values)


def keras_backend() -> str:
    """The Keras backend in use (``KERAS_BACKEND``)."""
    import keras

    return keras.backend.backend()


def torch_device() -> str:
    """``"cuda"`` when PyTorch sees a GPU, else ``"cpu"``."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def device_info() -> dict:
    """Accelerators as each library sees them: Keras backend devices and PyTorch's device."""
    info = {"keras_backend": keras_backend(), "torch_device": torch_device()}
    import torch

    if torch.cuda.is_available():
        info["torch_gpu"] = torch.cuda.get_device_name(0)
    backend = info["keras_backend"]
    if backend == "jax":
        import jax

        info["keras_devices"] = [f"{d.platform}:{d.device_kind}" for d in jax.devices()]
    elif backend == "torch":
        from keras.src.backend.torch.core import get_device

        info["keras_devices"] = [str(get_device())]
    else:
        info["keras_devices"] = [backend]
    return info


@contextlib.contextmanager
def keras_precision(precision: str):
    """Build Keras models under ``mixed_bfloat16`` (bf16) or ``float32`` (fp32) inside."""
    import keras

    policy = {"fp32": "float32", "bf16": "mixed_bfloat16"}[precision]
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def _torch_autocast(precision: str, device: str):
    import torch

    if precision == "bf16":
        return torch.autocast(device_type=device, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _synchronize(device: str):
    import torch

    if device == "cuda":
        torch.cuda.synchronize()


def keras_forward(model, images):
    """Callable: ``model.predict_on_batch`` (jitted on JAX), host arrays in and out."""

    def run():
        return model.predict_on_batch(images)

    return run


def torch_forward(net, images, precision: str, device: str):
    """Callable: the reference forward pass, host array in, host array out."""
    import torch

    def run():
        with torch.inference_mode(), _torch_autocast(precision, device):
            inputs = torch.from_numpy(images).to(device)
            return net(inputs).float().cpu().numpy()

    return run


def keras_train(model, images, heatmaps):
    """Callable: one ``train_on_batch`` (RMSprop, MSE on every stack), host arrays in."""
    import keras

    from hg_keras.model.losses import heatmap_losses

    model.compile(optimizer=keras.optimizers.RMSprop(LEARNING_RATE),
                  loss=heatmap_losses(model))
    names = model.output_names
    targets = heatmaps if len(names) == 1 else {name: heatmaps for name in names}

    def run():
        return model.train_on_batch(images, targets)

    return run


def torch_train(net, images, heatmaps, precision: str, device: str):
    """Callable: the port's training step (``pytorch_reference.train_step``) under autocast."""
    import torch

    from hg_keras.benchmarks.pytorch_reference import heatmap_loss

    net.train()
    optimizer = torch.optim.RMSprop(net.parameters(), lr=LEARNING_RATE)
    host_images = torch.from_numpy(images)
    host_targets = torch.from_numpy(np.ascontiguousarray(heatmaps.transpose(0, 3, 1, 2)))

    def run():
        inputs, targets = host_images.to(device), host_targets.to(device)
        optimizer.zero_grad()
        with _torch_autocast(precision, device):
            loss = heatmap_loss(net(inputs), targets).mean()
        loss.backward()
        optimizer.step()
        return float(loss.detach())

    return run


def _pair(settings: GpuSettings, num_stacks: int, precision: str, device: str):
    with keras_precision(precision):
        model, net = paired_models(num_stacks, settings.num_features, settings.num_joints,
                                   settings.input_size, settings.seed)
    return model, net.to(device)


def _measure(kind, settings, num_stacks, precision, device) -> list[dict]:
    import torch

    model, net = _pair(settings, num_stacks, precision, device)
    if kind == "forward":
        batch = settings.forward_batch
        images = calibration_images(batch, settings.input_size, settings.seed + 1)
        net.eval()
        candidates = {
            "Keras": keras_forward(model, images),
            "PyTorch reference": torch_forward(net, images, precision, device),
        }
        repeats, warmup = settings.forward_repeats, settings.forward_warmup
    else:
        batch = settings.train_batch
        images = calibration_images(batch, settings.input_size, settings.seed + 1)
        side = settings.input_size // 4
        heatmaps = np.random.default_rng(settings.seed).random(
            (batch, side, side, settings.num_joints), np.float32)
        candidates = {
            "Keras": keras_train(model, images, heatmaps),
            "PyTorch reference": torch_train(net, images, heatmaps, precision, device),
        }
        repeats, warmup = settings.train_repeats, settings.train_warmup
    timings = time_side_by_side(candidates, repeats=repeats, warmup=warmup)
    _synchronize(device)
    reference = timings["PyTorch reference"]
    rows = [
        {
            "kind": kind,
            "stacks": num_stacks,
            "precision": precision,
            "batch_size": batch,
            "path": f"{name} ({keras_backend()})" if name == "Keras" else name,
            **timing.row_fields(),
            "images_per_s": batch / timing.median_s,
            "ratio_to_reference": timing.ratio_to(reference),
        }
        for name, timing in timings.items()
    ]
    del model, net, candidates
    if device == "cuda":
        torch.cuda.empty_cache()
    return rows


def projected_schedule(images_per_s: float, settings: GpuSettings) -> dict:
    """Wall-clock of ``epochs`` x ``people_per_epoch`` training samples at ``images_per_s``."""
    seconds = settings.epochs * settings.people_per_epoch / images_per_s
    return {
        "images_per_s": images_per_s,
        "epoch_minutes": settings.people_per_epoch / images_per_s / 60,
        "hours": seconds / 3600,
        "days": seconds / 86400,
        "vs_paper": seconds / 86400 / PAPER_TRAINING_DAYS,
    }


def schedule_projections(rows: list[dict], settings: GpuSettings) -> list[dict]:
    """``projected_schedule`` of every training row (each stack count, precision and path)."""
    return [
        {"path": row["path"], "precision": row["precision"], "stacks": row["stacks"],
         **projected_schedule(row["images_per_s"], settings)}
        for row in rows if row["kind"] == "train"
    ]


def run_gpu_benchmark(settings: GpuSettings = GpuSettings(), log=print) -> dict:
    """Measure every (stacks, precision) forward and training comparison within the budget.

    Order: for each number of stacks (8 first), forward fp32, forward bf16, training fp32,
    training bf16; a measurement that would start after ``budget_s`` is skipped.

    Returns:
        dict with ``settings``, ``devices``, ``libraries``, ``rows`` (``kind``, ``stacks``,
        ``precision``, ``batch_size``, ``path``, ``median_s``, ``images_per_s``,
        ``ratio_to_reference``, ...), ``skipped`` (list of "kind stacks precision"),
        ``projection`` (per training row, ``schedule_projections``),
        ``tensorflow_imported`` (whether anything pulled TensorFlow in) and ``seconds``.
    """
    import torch

    from hg_keras.benchmarks.environment import library_versions, machine_info

    log = log or (lambda *_: None)
    started = time.perf_counter()
    device = torch_device()
    if device == "cuda":
        torch.backends.cudnn.benchmark = True  # the reference at its best
    results = {
        "settings": asdict(settings),
        "machine": machine_info(),
        "devices": device_info(),
        "libraries": library_versions(),
        "rows": [],
        "skipped": [],
    }
    for num_stacks in settings.stacks:
        for kind in ("forward", "train"):
            for precision in settings.precisions:
                label = f"{kind} {num_stacks} stacks {precision}"
                if time.perf_counter() - started > settings.budget_s:
                    results["skipped"].append(label)
                    log(f"gpu benchmark: skipped {label} (budget of {settings.budget_s:.0f} s)")
                    continue
                log(f"gpu benchmark: {label}")
                results["rows"] += _measure(kind, settings, num_stacks, precision, device)
    results["projection"] = schedule_projections(results["rows"], settings)
    results["tensorflow_imported"] = "tensorflow" in sys.modules
    results["seconds"] = time.perf_counter() - started
    return results


def render_gpu_report(results: dict) -> str:
    """Markdown of a ``run_gpu_benchmark`` result (tables and the projected schedule)."""
    from hg_keras.benchmarks.report import table

    settings = results["settings"]
    devices = results["devices"]
    machine = results["machine"]
    libraries = ", ".join(f"{k} {v}" for k, v in results["libraries"].items())
    lines = [
        "# GPU benchmark",
        "",
        (f"Written by `scripts/benchmark_gpu.py` on {machine['date']} in "
        f"{results['seconds'] / 60:.1f} min. Keras backend: {devices['keras_backend']} on "
        f"{', '.join(devices['keras_devices'])}; PyTorch reference on "
        f"{devices.get('torch_gpu', devices['torch_device'])}. CPU: {machine['cpu_model']}. "
        f"Libraries: {libraries}. TensorFlow imported: "
        f"{'yes' if results.get('tensorflow_imported') else 'no'}."),
        "",
        (f"Input {settings['input_size']}x{settings['input_size']}, {settings['num_features']} "
        "features, same weights on both sides. fp32 uses each library's default (TF32 "
        "tensor cores for convolutions on Ampere and newer in both); bf16 is Keras' "
        "`mixed_bfloat16` policy and `torch.autocast(dtype=torch.bfloat16)`. Forward: host "
        "array in, every stack's heatmaps back in host memory. Training: RMSprop on the MSE "
        "of every stack, batch from host memory each step. Medians of interleaved rounds; "
        "*vs PyTorch* below 1x means Keras is faster."),
    ]
    for kind, title, unit in (("forward", "Forward latency", "ms"),
                              ("train", "Training throughput", "images/s")):
        body = []
        for row in results["rows"]:
            if row["kind"] != kind:
                continue
            value = (f"{1000 * row['median_s']:.2f}" if kind == "forward"
                     else f"{row['images_per_s']:.1f}")
            body.append([row["stacks"], row["precision"], row["batch_size"], row["path"], value,
                         f"{row['ratio_to_reference']:.2f}x", f"{row['warmup_s']:.1f} s"])
        if body:
            lines += ["", f"## {title}", "",
                      table(["stacks", "precision", "batch", "path", unit, "vs PyTorch",
                             "first call"], body)]
    forward_8 = [r for r in results["rows"] if r["kind"] == "forward" and r["stacks"] == 8]
    if forward_8:
        best = min(forward_8, key=lambda r: r["median_s"])
        lines += ["", (f"Paper: {PAPER_FORWARD_MS:.0f} ms per forward pass of the 8-stack "
                      f"network on a TitanX; here {1000 * best['median_s']:.2f} ms "
                      f"({best['path']}, {best['precision']}).")]
    if results["projection"]:
        body = [[p["stacks"], p["precision"], p["path"], f"{p['images_per_s']:.1f}",
                 f"{p['epoch_minutes']:.1f} min", f"{p['hours']:.1f} h",
                 f"{p['vs_paper']:.2f}x"]
                for p in results["projection"]]
        lines += [
            "",
            "## Projected training schedule",
            "",
            (f"Assumption: {settings['epochs']} epochs of {settings['people_per_epoch']:,} "
            "people (about MPII's training people without the validation split), at the "
            f"training throughput above (batch {settings['train_batch']}), input pipeline and "
            f"validation not included. Paper: about {PAPER_TRAINING_DAYS:.0f} days on one "
            "12 GB TitanX."),
            "",
            table(["stacks", "precision", "path", "images/s", "per epoch", "wall-clock",
                   "vs paper's 3 days"], body),
        ]
    if results["skipped"]:
        lines += ["", "Skipped (time budget): " + ", ".join(results["skipped"]) + "."]
    return "\n".join(lines) + "\n"
