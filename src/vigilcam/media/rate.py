"""Frame-rate decimation (pure): keep frames at most at a target rate, no bursts after a gap.

Owns how one captured frame rate becomes the main, sub and analytics rates (one encode per
stream, shared by every viewer: docs/architecture.md).
"""

from __future__ import annotations

__all__ = ["RateGate"]


class RateGate:
    """Accepts a frame when its time reaches the next due time (25 % early tolerance)."""

    def __init__(self, fps: float) -> None:
        if not 0 < fps <= 240:
            raise ValueError("frame rate must be within (0, 240]")
        self.interval = 1.0 / fps
        self._next: float | None = None
        self.slot_time = 0.0
        """The schedule time of the last accepted frame: a steady grid at ``fps`` that is
        within one interval of the capture time, used to stamp frames so that a decimated
        stream (10 fps taken from 15) has even frame durations."""

    def accept(self, t: float) -> bool:
        """True when a frame captured at monotonic time ``t`` should be kept."""
        if self._next is None or t >= self._next - 0.25 * self.interval:
            # After a long gap, restart the schedule from now instead of catching up.
            base = self._next if self._next is not None and t - self._next < self.interval else t
            self.slot_time = base
            self._next = base + self.interval
            return True
        return False

    def reset(self) -> None:
        self._next = None
