"""The persistence latch: hold to raise, raise once, hold to clear, tolerate one dropout."""

from __future__ import annotations

from vigilcam.analytics.latch import Edge, Latch


def run(latch: Latch, samples: list[tuple[float, bool]]) -> list[tuple[float, Edge]]:
    return [(t, e) for t, c in samples if (e := latch.update(c, t)) is not Edge.NONE]


def test_raises_after_hold_once_and_clears_after_hold() -> None:
    latch = Latch(1.0, 2.0)
    samples = [(i * 0.2, 1.0 <= i * 0.2 < 6.0) for i in range(60)]
    assert run(latch, samples) == [(2.0, Edge.RAISED), (8.0, Edge.CLEARED)]


def test_short_condition_never_raises() -> None:
    latch = Latch(1.0, 2.0)
    samples = [(i * 0.2, i % 5 < 4) for i in range(50)]  # 0.8 s on, 0.2 s off
    assert run(latch, samples) == []


def test_gap_tolerance_keeps_the_run() -> None:
    samples = [(i * 0.2, i % 5 < 4) for i in range(50)]
    assert run(Latch(1.0, 2.0, gap=0.3), samples)[0] == (1.0, Edge.RAISED)


def test_flicker_while_raised_does_not_clear_or_reraise() -> None:
    latch = Latch(0.4, 1.0)
    samples = [(i * 0.2, i < 3 or i % 2 == 0) for i in range(40)]
    assert run(latch, samples) == [(0.4, Edge.RAISED)]
