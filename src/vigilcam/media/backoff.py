"""Reconnect delay for a lost video source: the platform back-off with the source's numbers.

Owns how fast vigilcam retries a lost video source (IoT-1005-1 5.6.1.1: return to normal
operation after an interruption; TAICS 5.1.2.1 signal loss): from 0.5 s, doubling, capped at
30 s, each delay reduced by up to 30 % so many cameras do not hit one recovering upstream at
once. The policy itself lives in ``platform/backoff.py``.
"""

from __future__ import annotations

import random

from vigilcam.platform.backoff import Backoff

__all__ = ["SOURCE_JITTER", "source_backoff"]

SOURCE_JITTER = 0.3


def source_backoff(rng: random.Random | None = None) -> Backoff:
    """A fresh retry counter for one source."""
    return Backoff(0.5, 30.0, jitter=SOURCE_JITTER, rng=rng)
