"""The training-curve figure of a run (loss and validation accuracy per epoch, cf. Fig. 8)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402


def validated_epochs(history: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``history`` whose validation metrics were measured at that epoch.

    ``PCKValidation`` repeats the last values between validations and marks the epochs
    that validated with ``val_evaluated == 1``; a history without that column (e.g. from
    ``keras.callbacks.CSVLogger`` with another validation) is returned whole.

    Example:
        >>> history = pd.DataFrame({"epoch": [0, 1, 2], "val_pckh": [3.0, 3.0, 7.0],
        ...                         "val_evaluated": [1.0, 0.0, 1.0]})
        >>> list(validated_epochs(history)["epoch"])
        [0, 2]
    """
    if "val_evaluated" not in history:
        return history
    return history[history["val_evaluated"] > 0]


def _epoch_numbers(history: pd.DataFrame):
    return history["epoch"] + 1 if "epoch" in history else range(1, len(history) + 1)


def plot_training_curve(history: pd.DataFrame, path, monitor: str = "val_pckh") -> Path:
    """Plot training loss per epoch and the validation metric(s) where measured to a PNG.

    Args:
        history: ``history.csv`` of a run (columns ``epoch``, ``loss``, ``val_*``).
        path: output PNG path.
        monitor: the main validation metric column.

    Returns:
        The PNG path.

    Example:
        >>> plot_training_curve(pd.read_csv("runs/x/history.csv"), "runs/x/curve.png")
    """
    path = Path(path)
    epochs = _epoch_numbers(history)
    validated = validated_epochs(history)
    validated_numbers = _epoch_numbers(validated)
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(10, 4))
    if "loss" in history:
        loss_ax.plot(epochs, history["loss"], marker="o", label="training loss (sum over stacks)")
    loss_ax.set_xlabel("epoch")
    loss_ax.set_ylabel("MSE")
    loss_ax.set_yscale("log")
    loss_ax.grid(alpha=0.3)
    loss_ax.legend()
    short = monitor.replace("val_", "")
    metric_name = {"pckh": "PCKh", "pck": "PCK"}.get(short, short.upper())
    for column in [c for c in history.columns if c.startswith(monitor)]:
        label = column.replace(monitor, metric_name).replace(
            "_limbs", " (wrists, elbows, knees, ankles)"
        )
        acc_ax.plot(validated_numbers, validated[column], marker="o",
                    label=label.replace("_", " "))
    acc_ax.set_xlabel("epoch")
    acc_ax.set_ylabel("validation accuracy (%)")
    acc_ax.set_ylim(0, 100)
    acc_ax.grid(alpha=0.3)
    acc_ax.legend(loc="upper left")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
