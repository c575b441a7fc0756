"""Back-off policy: grows exponentially, capped, jittered within bounds, resets."""

from __future__ import annotations

import random

import pytest

from vigilcam.platform.backoff import Backoff


def test_exponential_growth_cap_and_reset_without_jitter() -> None:
    b = Backoff(initial=0.5, maximum=8.0, factor=2.0, jitter=0.0)
    assert [b.next_delay() for _ in range(7)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    b.reset()
    assert b.next_delay() == 0.5


def test_jitter_stays_within_bounds_and_varies() -> None:
    b = Backoff(initial=1.0, maximum=30.0, factor=2.0, jitter=0.5, rng=random.Random(7))
    delays = []
    for attempt in range(12):
        d = b.next_delay()
        ceiling = min(30.0, 2.0**attempt)
        assert ceiling * 0.5 <= d <= ceiling
        delays.append(d)
    capped = delays[6:]
    assert len(set(capped)) == len(capped)  # jitter spreads retries


def test_huge_attempt_counts_do_not_overflow() -> None:
    b = Backoff(initial=0.1, maximum=5.0, jitter=0.0)
    b.attempt = 10_000
    assert b.next_delay() == 5.0


@pytest.mark.parametrize(
    "kwargs", [{"initial": 0}, {"initial": 5, "maximum": 1}, {"factor": 0.5}, {"jitter": 2}]
)
def test_bad_parameters_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Backoff(**kwargs)  # type: ignore[arg-type]
