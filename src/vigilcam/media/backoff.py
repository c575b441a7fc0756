"""Reconnect delay for a lost video source: the platform back-off with the source's numbers.

Owns how fast vigilcam retries a lost video source (IoT-1005-1 5.6.1.1: return to normal
operation after an interruption; TAICS 5.1.2.1 signal loss): from 0.5 s, doubling, capped at
30 s, each delay reduced by up to 30 % so many cameras do not hit one recovering upstream at
once. The policy itself lives in ``platform/backoff.py``.
"""

from __future__ import annotations

import random

from vigilcam.platform.backoff import Backoff as _Backoff

__all__ = ["Backoff"]


class Backoff(_Backoff):
    """The source's retry counter: the platform back-off with jitter on by default."""

    def __init__(
        self,
        initial: float = 0.5,
        maximum: float = 30.0,
        factor: float = 2.0,
        jitter: float = 0.3,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(initial, maximum, factor, jitter, rng)
