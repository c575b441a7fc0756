"""Reconnect delay policy: exponential back-off with jitter (pure, no clock, no sleep).

Owns how fast vigilcam retries a lost video source (IoT-1005-1 5.6.1.1: return to normal
operation after an interruption; TAICS 5.1.2.1 signal loss). Jitter spreads the retries of many
cameras hitting one recovering upstream; the cap keeps a recovered source found quickly.
"""

from __future__ import annotations

import random

__all__ = ["Backoff"]


class Backoff:
    """Delays ``initial * factor**n`` capped at ``maximum``, each reduced by up to ``jitter``.

    ``jitter`` is a fraction in [0, 1]: a delay ``d`` becomes uniform in ``[d*(1-jitter), d]``.
    """

    def __init__(
        self,
        initial: float = 0.5,
        maximum: float = 30.0,
        factor: float = 2.0,
        jitter: float = 0.3,
        rng: random.Random | None = None,
    ) -> None:
        if not 0 < initial <= maximum:
            raise ValueError("back-off needs 0 < initial <= maximum")
        if factor < 1:
            raise ValueError("back-off factor must be >= 1")
        if not 0 <= jitter <= 1:
            raise ValueError("back-off jitter must be within [0, 1]")
        self.initial = initial
        self.maximum = maximum
        self.factor = factor
        self.jitter = jitter
        self._rng = rng if rng is not None else random.Random()
        self.attempt = 0

    def ceiling(self, attempt: int) -> float:
        """The un-jittered delay before retry number ``attempt`` (0-based)."""
        # Bounded exponent: avoids float overflow after days of retrying.
        return min(self.maximum, self.initial * self.factor ** min(attempt, 64))

    def next_delay(self) -> float:
        """The delay before the next retry; advances the attempt counter."""
        ceiling = self.ceiling(self.attempt)
        self.attempt += 1
        return ceiling * (1.0 - self.jitter * self._rng.random())

    def reset(self) -> None:
        """The source works again: the next loss starts from ``initial``."""
        self.attempt = 0
