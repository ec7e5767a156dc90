"""Side-by-side timing: every candidate is run once per round, rounds repeated, medians kept.

Interleaving the candidates (A B C, A B C, ...) rather than timing them one after the other
(A A A, B B B, ...) exposes all of them to the same background load, so that their ratios
stay meaningful on a shared machine even when the absolute times are not.

Example:
    >>> timings = time_side_by_side({"a": lambda: sum(range(1000)), "b": lambda: None},
    ...                             repeats=5, warmup=1)
    >>> sorted(timings), timings["a"].runs
    (['a', 'b'], 5)
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Timing:
    """Wall-clock seconds of one candidate over the timed rounds.

    Attributes:
        median_s: median seconds per call (the number every ratio uses).
        min_s: fastest call.
        max_s: slowest call.
        runs: number of timed calls.
        warmup_s: seconds of the first warm-up call (tracing, compilation, allocation).
    """

    median_s: float
    min_s: float
    max_s: float
    runs: int
    warmup_s: float

    def row_fields(self) -> dict:
        """``median_s``, ``min_s``, ``runs`` and ``warmup_s``: the columns of every results row."""
        return {"median_s": self.median_s, "min_s": self.min_s, "runs": self.runs,
                "warmup_s": self.warmup_s}

    def ratio_to(self, other: Timing) -> float:
        """``self.median_s / other.median_s`` (below 1: this one is faster)."""
        return self.median_s / other.median_s


def _call_timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def time_side_by_side(
    candidates: dict[str, Callable[[], object]],
    repeats: int = 5,
    warmup: int = 1,
    min_total_s: float = 0.0,
    max_repeats: int | None = None,
) -> dict[str, Timing]:
    """Time every candidate in interleaved rounds and return the median of each.

    Each candidate must block until its result is ready (call ``.numpy()`` on TensorFlow
    results, read TFLite outputs, etc.).

    Args:
        candidates: name -> zero-argument callable doing one complete call.
        repeats: timed rounds (at least 1).
        warmup: untimed rounds before the timed ones (at least 1 is advisable: the first
            call traces, compiles and allocates).
        min_total_s: keep adding rounds, up to ``max_repeats``, until the fastest
            candidate has been timed for at least this many seconds in total (fast
            candidates then get enough samples for a stable median).
        max_repeats: upper bound of rounds when ``min_total_s`` asks for more
            (default ``4 * repeats``).

    Returns:
        dict name -> ``Timing``, in the order of ``candidates``.

    Raises:
        ValueError: ``repeats`` < 1 or ``candidates`` is empty.

    Example:
        >>> timings = time_side_by_side({"sleep": lambda: time.sleep(0.001)}, repeats=3)
        >>> timings["sleep"].median_s >= 0.001
        True
    """
    if repeats < 1:
        raise ValueError(f"repeats={repeats}: need at least one timed round")
    if not candidates:
        raise ValueError("candidates is empty: nothing to time")
    max_repeats = max(repeats, max_repeats if max_repeats is not None else 4 * repeats)
    first = {name: _call_timed(fn) if warmup else 0.0 for name, fn in candidates.items()}
    for _ in range(max(warmup - 1, 0)):
        for fn in candidates.values():
            fn()
    samples: dict[str, list[float]] = {name: [] for name in candidates}
    rounds = 0
    while rounds < repeats or (
        rounds < max_repeats and min(sum(s) for s in samples.values()) < min_total_s
    ):
        for name, fn in candidates.items():
            samples[name].append(_call_timed(fn))
        rounds += 1
    return {
        name: Timing(
            median_s=statistics.median(values),
            min_s=min(values),
            max_s=max(values),
            runs=len(values),
            warmup_s=first[name],
        )
        for name, values in samples.items()
    }
