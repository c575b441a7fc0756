"""RateGate: decimates 30 -> 15 / 5 fps, no burst after a gap, passes a slower source."""

from __future__ import annotations

import pytest

from vigilcam.media.rate import RateGate


def kept(gate: RateGate, times: list[float]) -> list[float]:
    return [t for t in times if gate.accept(t)]


def test_decimation() -> None:
    src = [i / 30 for i in range(300)]  # 10 s at 30 fps
    assert len(kept(RateGate(15), src)) == 150
    assert len(kept(RateGate(5), src)) in (50, 51)
    assert len(kept(RateGate(30), src)) == 300
    assert len(kept(RateGate(60), src)) == 300  # never invents frames


def test_jitter_tolerated_and_no_burst_after_gap() -> None:
    import random

    rng = random.Random(1)
    src = [i / 30 + rng.uniform(-0.004, 0.004) for i in range(300)]
    assert 148 <= len(kept(RateGate(15), src)) <= 152
    g = RateGate(10)
    first = kept(g, [i / 30 for i in range(30)])
    assert len(first) == 10
    after_gap = kept(g, [5 + i / 30 for i in range(30)])  # 4 s later
    assert len(after_gap) == 10


def test_bad_rate() -> None:
    with pytest.raises(ValueError):
        RateGate(0)
