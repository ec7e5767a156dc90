"""The training-curve figure of a run (loss and validation accuracy per epoch, cf. Fig. 8).

Learning-rate drops are marked on both panels; with an ``elapsed_min`` column
(``ElapsedTime``) the accuracy panel also shows wall-clock minutes along its top.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
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


def learning_rate_drops(history: pd.DataFrame) -> list[tuple[int, float]]:
    """(epoch number, factor) of each epoch that ran at a lower learning rate than the one before.

    Epoch numbers count from 1, as on the figure's axis.

    Example:
        >>> learning_rate_drops(pd.DataFrame({"epoch": [0, 1, 2],
        ...                                   "learning_rate": [1e-3, 1e-3, 2e-4]}))
        [(3, 0.2)]
    """
    if "learning_rate" not in history or len(history) < 2:
        return []
    rates = history["learning_rate"].to_numpy(dtype=np.float64)
    numbers = np.asarray(_epoch_numbers(history))
    return [
        (int(numbers[i]), float(np.round(rates[i] / rates[i - 1], 6)))
        for i in range(1, len(rates))
        if rates[i] < rates[i - 1]
    ]


def _mark_drops(axes, drops) -> None:
    for number, factor in drops:
        for ax in axes:
            ax.axvline(number - 0.5, color="gray", linestyle=":", linewidth=1.2)
        axes[-1].annotate(f"LR ×{factor:g}", (number - 0.5, 2), rotation=90, fontsize=8,
                          color="gray", ha="right", va="bottom")


def minutes_at_epochs(history: pd.DataFrame):
    """Epoch numbers (1 = end of the first epoch, 0 = the start) and the minutes at each.

    The points the training curve's minutes axis interpolates between; ``None`` when the
    history has no usable ``elapsed_min`` column.

    Example:
        >>> minutes_at_epochs(pd.DataFrame({"epoch": [0, 1], "elapsed_min": [2.0, 3.0]}))
        (array([0., 1., 2.]), array([0., 2., 3.]))
    """
    if "elapsed_min" not in history or len(history) < 2:
        return None
    minutes = history["elapsed_min"].to_numpy(dtype=np.float64)
    numbers = np.asarray(_epoch_numbers(history), dtype=np.float64)
    if not np.all(np.isfinite(minutes)) or np.any(np.diff(minutes) <= 0):
        return None
    if numbers[0] > 0 and minutes[0] > 0:
        # Training starts at epoch 0, minute 0: without that point np.interp would put the
        # minutes before the first epoch's end onto it.
        numbers, minutes = np.r_[0.0, numbers], np.r_[0.0, minutes]
    return numbers, minutes


def _minutes_axis(ax, history: pd.DataFrame) -> None:
    """A top axis in wall-clock minutes, interpolated from ``elapsed_min`` per epoch."""
    points = minutes_at_epochs(history)
    if points is None:
        return
    numbers, minutes = points
    top = ax.secondary_xaxis(
        "top",
        functions=(lambda e: np.interp(e, numbers, minutes),
                   lambda m: np.interp(m, minutes, numbers)),
    )
    top.set_xlabel("minutes of training (wall clock)")


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
    _mark_drops((loss_ax, acc_ax), learning_rate_drops(history))
    _minutes_axis(acc_ax, history)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
