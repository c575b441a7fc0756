"""Retry back-off: the one policy for every retry loop on the device (pure, no clock, no sleep).

Owns how a retry delay grows, where it stops and how it is spread. Its users keep their own
numbers and say at the call which clause they serve: a lost video source (``media/backoff.py``,
IoT-1005-1 5.6.1.1), alert delivery (``alerts/outbox.py``, IoT-1005-1 5.8.1.1) and the syslog
link (``platform/syslog_forward.py``, TAICS TS 5100-2-1 5.2.8.1).

Invariants:
- The delay before retry ``n`` (0-based) is ``initial * factor**n`` capped at ``maximum``, times
  a factor drawn uniformly from ``spread`` (``(1, 1)``: no jitter). Jitter spreads the retries of
  many clients hitting one recovering peer; the cap keeps a recovered peer found quickly.
- The exponent is bounded, so days of retrying never overflow a float.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = ["Backoff", "BackoffPolicy"]

_MAX_EXPONENT = 64


@dataclass(frozen=True)
class BackoffPolicy:
    """Delays ``initial * factor**n`` capped at ``maximum``, scaled by a draw from ``spread``."""

    initial: float
    maximum: float
    factor: float = 2.0
    spread: tuple[float, float] = (1.0, 1.0)

    def __post_init__(self) -> None:
        if not 0 < self.initial <= self.maximum:
            raise ValueError("back-off needs 0 < initial <= maximum")
        if self.factor < 1:
            raise ValueError("back-off factor must be >= 1")
        low, high = self.spread
        if not 0 <= low <= high:
            raise ValueError("back-off spread needs 0 <= low <= high")

    def ceiling(self, attempt: int) -> float:
        """The un-jittered delay before retry number ``attempt`` (0-based)."""
        exponent = min(max(0, attempt), _MAX_EXPONENT)
        return min(self.maximum, self.initial * self.factor**exponent)

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """The delay before retry number ``attempt`` (0-based), drawn with ``rng`` if jittered."""
        ceiling = self.ceiling(attempt)
        low, high = self.spread
        if low == high:
            return ceiling * low
        draw = (rng or random).random()
        return ceiling * (high - (high - low) * draw)


class Backoff:
    """A retry counter over a :class:`BackoffPolicy`: ``next_delay`` advances, ``reset`` restarts.

    ``jitter`` is a fraction in [0, 1]: a delay ``d`` becomes uniform in ``[d*(1-jitter), d]``.
    """

    def __init__(self, initial: float = 0.5, maximum: float = 30.0, factor: float = 2.0,
                 jitter: float = 0.0, rng: random.Random | None = None) -> None:
        if not 0 <= jitter <= 1:
            raise ValueError("back-off jitter must be within [0, 1]")
        self.policy = BackoffPolicy(initial, maximum, factor, (1.0 - jitter, 1.0))
        self._rng = rng if rng is not None else random.Random()
        self.attempt = 0

    def ceiling(self, attempt: int) -> float:
        """The un-jittered delay before retry number ``attempt`` (0-based)."""
        return self.policy.ceiling(attempt)

    def next_delay(self) -> float:
        """The delay before the next retry; advances the attempt counter."""
        delay = self.policy.delay(self.attempt, self._rng)
        self.attempt += 1
        return delay

    def reset(self) -> None:
        """The peer works again: the next failure starts from ``initial``."""
        self.attempt = 0
