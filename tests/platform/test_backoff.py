"""The one back-off policy: growth, cap, spread bounds, and the numbers each user keeps."""

from __future__ import annotations

import random

import pytest

from vigilcam.alerts.outbox import backoff_delay
from vigilcam.media.backoff import source_backoff
from vigilcam.platform.backoff import Backoff, BackoffPolicy


def test_policy_without_spread_is_deterministic_and_capped() -> None:
    policy = BackoffPolicy(0.5, 3.0)
    assert [policy.delay(n) for n in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert policy.delay(10**9) == 3.0  # bounded exponent, no overflow
    assert policy.delay(-1) == 0.5


def test_spread_draws_stay_within_bounds_on_both_sides() -> None:
    policy = BackoffPolicy(1.0, 300.0, spread=(0.8, 1.2))
    rng = random.Random(3)
    draws = [policy.delay(4, rng) for _ in range(500)]
    assert all(12.8 <= d <= 19.2 for d in draws)
    assert min(draws) < 13.5 and max(draws) > 18.5  # both sides of the ceiling are reached


@pytest.mark.parametrize("kwargs", [
    {"initial": 0, "maximum": 1}, {"initial": 2, "maximum": 1},
    {"initial": 1, "maximum": 2, "factor": 0.9},
    {"initial": 1, "maximum": 2, "spread": (1.2, 0.8)},
    {"initial": 1, "maximum": 2, "spread": (-0.1, 1.0)},
])
def test_bad_policies_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        BackoffPolicy(**kwargs)  # type: ignore[arg-type]


def test_each_user_keeps_its_numbers() -> None:
    """Source: 0.5 s .. 30 s, -30 %; alerts: 1 s .. 300 s, +-20 %; syslog: 0.5 s .. 30 s, exact."""
    source = source_backoff(rng=random.Random(5))
    assert source.policy == BackoffPolicy(0.5, 30.0, 2.0, (0.7, 1.0))
    first = source.next_delay()
    assert 0.35 <= first <= 0.5
    syslog = Backoff()
    assert [syslog.next_delay() for _ in range(8)] == [0.5, 1, 2, 4, 8, 16, 30, 30]
    rng = random.Random(9)
    alert = [backoff_delay(n, rng=rng) for n in (1, 2, 20)]
    assert 0.8 <= alert[0] <= 1.2 and 1.6 <= alert[1] <= 2.4 and 240 <= alert[2] <= 360
