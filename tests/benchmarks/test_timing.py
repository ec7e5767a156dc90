"""Side-by-side timing: interleaved rounds, medians of the timed calls only."""

import pytest

from hg_keras.benchmarks import timing
from hg_keras.benchmarks.timing import Timing, time_side_by_side


class FakeClock:
    """``time.perf_counter`` replacement advanced by the candidates themselves."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def candidate(self, durations):
        """A callable that takes the next duration of ``durations`` on each call."""
        remaining = list(durations)

        def run():
            self.now += remaining.pop(0)

        return run


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(timing.time, "perf_counter", fake)
    return fake


def test_candidates_run_in_interleaved_rounds_after_the_warmup_round():
    calls = []
    candidates = {name: (lambda n=name: calls.append(n)) for name in ("a", "b", "c")}
    time_side_by_side(candidates, repeats=2, warmup=1)
    assert calls == ["a", "b", "c"] * 3


def test_median_min_and_max_come_from_the_timed_calls_and_the_warmup_is_reported(clock):
    timings = time_side_by_side(
        {"a": clock.candidate([10.0, 3.0, 1.0, 2.0]), "b": clock.candidate([7.0, 4.0, 4.0, 5.0])},
        repeats=3,
        warmup=1,
    )
    assert timings["a"] == Timing(median_s=2.0, min_s=1.0, max_s=3.0, runs=3, warmup_s=10.0)
    assert timings["b"] == Timing(median_s=4.0, min_s=4.0, max_s=5.0, runs=3, warmup_s=7.0)
    assert timings["a"].ratio_to(timings["b"]) == 0.5
    assert timings["a"].row_fields() == {"median_s": 2.0, "min_s": 1.0, "runs": 3,
                                         "warmup_s": 10.0}


def test_extra_rounds_run_until_the_fastest_candidate_has_min_total_seconds(clock):
    timings = time_side_by_side(
        {"fast": clock.candidate([1.0] * 11), "slow": clock.candidate([5.0] * 11)},
        repeats=1,
        warmup=1,
        min_total_s=3.0,
        max_repeats=10,
    )
    assert timings["fast"].runs == 3
    assert timings["slow"].runs == 3


def test_extra_rounds_stop_at_max_repeats(clock):
    timings = time_side_by_side(
        {"a": clock.candidate([0.1] * 5)}, repeats=2, warmup=1, min_total_s=100.0,
        max_repeats=4,
    )
    assert timings["a"].runs == 4


def test_no_warmup_reports_zero_warmup_seconds(clock):
    timings = time_side_by_side({"a": clock.candidate([2.0])}, repeats=1, warmup=0)
    assert timings["a"] == Timing(2.0, 2.0, 2.0, 1, 0.0)


def test_zero_repeats_and_no_candidates_are_rejected():
    with pytest.raises(ValueError, match="repeats=0"):
        time_side_by_side({"a": lambda: None}, repeats=0)
    with pytest.raises(ValueError, match="nothing to time"):
        time_side_by_side({})
