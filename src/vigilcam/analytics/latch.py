"""Persistence latch: a condition must hold for a while before it raises, and be gone for a
while before it clears; it raises once per occurrence.

Owns the hysteresis rule shared by the tamper and motion detectors. Serves TAICS TS 5100-2-1
5.1.2.1 (alerts that are neither missed nor repeated: one raise, one clear per tamper).
"""

from __future__ import annotations

from enum import Enum


class Edge(Enum):
    """What a latch update produced."""

    NONE = "none"
    RAISED = "raised"
    CLEARED = "cleared"


class Latch:
    """Debounce a boolean condition sampled at (possibly irregular) times.

    The latch raises when the condition has been true continuously for ``raise_after`` seconds
    and clears when it has been false continuously for ``clear_after`` seconds. While raised it
    never raises again, so one tamper gives one alert however long it lasts.
    """

    def __init__(self, raise_after: float, clear_after: float, gap: float = 0.0) -> None:
        if raise_after < 0 or clear_after < 0 or gap < 0:
            raise ValueError("latch hold times must be >= 0")
        self.raise_after = raise_after
        self.clear_after = clear_after
        # A run of True samples survives a False stretch no longer than ``gap`` seconds, so one
        # noisy frame does not restart the count.
        self.gap = gap
        self.active = False
        self._true_since: float | None = None
        self._false_since: float | None = None

    @property
    def pending_since(self) -> float | None:
        """When the current run of ``True`` samples began (None once it was broken)."""
        return self._true_since

    def update(self, condition: bool, t: float) -> Edge:
        if condition:
            self._false_since = None
            if self._true_since is None:
                self._true_since = t
            if not self.active and t - self._true_since >= self.raise_after:
                self.active = True
                return Edge.RAISED
        else:
            if self._false_since is None:
                self._false_since = t
            if t - self._false_since >= self.gap:
                self._true_since = None
            if self.active and t - self._false_since >= self.clear_after:
                self.active = False
                return Edge.CLEARED
        return Edge.NONE

    def reset(self) -> None:
        self.active = False
        self._true_since = None
        self._false_since = None
