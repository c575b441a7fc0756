"""Motion detection in configurable zones on the low-resolution sub-stream.

Owns the motion decision: when motion starts and ends, and in which zones. Feeds event
recordings (recording service) and optional alerts. Serves docs/detection.md 'Motion zones
and sensitivity'; the same
hysteresis as tamper detection (``latch.Latch``) keeps events from flickering.

Method: a running-average background of a lightly blurred frame; pixels that differ from it
by more than a sensitivity-dependent threshold are foreground; a zone is active when enough of
its pixels are foreground. A change over most of the frame at once is taken as a lighting
change (lights switched, IR cut-over), not motion, and the background is re-learned.
Pure: no IO, no clock, no thread.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np
import numpy.typing as npt

from vigilcam.analytics.frames import FrameError, check_gray, check_time, downscale
from vigilcam.analytics.latch import Edge, Latch
from vigilcam.analytics.zones import Zone

MotionPhase = Literal["started", "ended"]
WHOLE_FRAME = Zone.rect("all", 0.0, 0.0, 1.0, 1.0)


@dataclass(frozen=True)
class MotionEvent:
    """Motion started or ended; ``zones`` names the zones that saw motion during the event."""

    phase: MotionPhase
    t: float
    zones: tuple[str, ...]
    score: float  # largest fraction of a zone's pixels in motion during the event


class MotionDetector:
    """Feed grey frames with timestamps; get motion started/ended events back."""

    def __init__(
        self,
        zones: Sequence[Zone] = (),
        sensitivity: float = 0.5,
        *,
        analysis_width: int = 320,
        start_s: float = 0.2,
        end_s: float = 3.0,
        background_tau_s: float = 8.0,
        warmup_s: float = 1.0,
        lighting_fraction: float = 0.6,
    ) -> None:
        if isinstance(sensitivity, bool) or not isinstance(sensitivity, int | float) or not (
            0.0 <= sensitivity <= 1.0
        ):
            raise ValueError(f"sensitivity must be a number in 0..1, got {sensitivity!r}")
        names = [z.name for z in zones]
        if len(set(names)) != len(names):
            raise ValueError(f"zone names must be unique, got {names}")
        if not 32 <= analysis_width <= 1920:
            raise ValueError("analysis_width must be 32..1920")
        self.zones: tuple[Zone, ...] = tuple(zones) or (WHOLE_FRAME,)
        self.sensitivity = float(sensitivity)
        # Sensitivity 0 wants a strong change over 3 % of a zone; 1 a faint one over 0.2 %.
        self.pixel_threshold = 45.0 - 33.0 * self.sensitivity
        self.min_fraction = 0.002 + 0.028 * (1.0 - self.sensitivity)
        self.analysis_width = analysis_width
        self.background_tau_s = background_tau_s
        self.warmup_s = warmup_s
        self.lighting_fraction = lighting_fraction
        self._latch = Latch(start_s, end_s)
        self._bg: npt.NDArray[np.float32] | None = None
        self._masks: list[npt.NDArray[np.bool_]] = []
        self._shape: tuple[int, int] | None = None
        self._start: float | None = None
        self._last_t: float | None = None
        self._seen: set[str] = set()
        self._score = 0.0
        self.last_fractions: dict[str, float] = {}

    @property
    def active(self) -> bool:
        return self._latch.active

    def update(self, gray: np.ndarray, t: float) -> MotionEvent | None:
        """Analyse one frame taken at ``t`` seconds; returns an event on start/end."""
        frame = check_gray(gray)
        tf = check_time(t, self._last_t)
        small = downscale(frame, self.analysis_width)
        img = cv2.GaussianBlur(small, (5, 5), 0).astype(np.float32)
        dt = 0.0 if self._last_t is None else min(tf - self._last_t, 5.0)
        self._last_t = tf
        if self._shape is not None and img.shape != self._shape:
            raise FrameError(
                f"frame size changed from {self._shape[::-1]} to {img.shape[::-1]}"
            )
        if self._bg is None or self._start is None:
            h, w = img.shape
            self._shape = (h, w)
            self._masks = [z.mask(h, w) for z in self.zones]
            self._bg = img
            self._start = tf
            return None
        rate = 1.0 - math.exp(-dt / self.background_tau_s) if self.background_tau_s > 0 else 1.0
        if tf - self._start < self.warmup_s:
            cv2.accumulateWeighted(img, self._bg, max(rate, 0.3))
            return None
        raw = (cv2.absdiff(img, self._bg) > self.pixel_threshold).astype(np.uint8)
        fg = np.asarray(cv2.morphologyEx(raw, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)))
        if float(fg.mean()) >= self.lighting_fraction:
            # Most of the frame changed at once: lighting, not an object. Re-learn.
            self._bg = img
            return self._step(False, tf)
        fgb = fg.astype(bool)
        fractions = {
            z.name: float(fgb[m].mean()) if m.any() else 0.0
            for z, m in zip(self.zones, self._masks, strict=True)
        }
        self.last_fractions = fractions
        hits = [name for name, v in fractions.items() if v >= self.min_fraction]
        # Learn the background only where nothing moves, so a slow walker is not absorbed.
        cv2.accumulateWeighted(img, self._bg, rate, mask=(1 - fg))
        if hits:
            self._seen.update(hits)
            self._score = max(self._score, max(fractions[h] for h in hits))
        return self._step(bool(hits), tf)

    def _step(self, moving: bool, t: float) -> MotionEvent | None:
        edge = self._latch.update(moving, t)
        if edge is Edge.RAISED:
            return MotionEvent("started", t, tuple(sorted(self._seen)), round(self._score, 4))
        if edge is Edge.CLEARED:
            ev = MotionEvent("ended", t, tuple(sorted(self._seen)), round(self._score, 4))
            self._seen.clear()
            self._score = 0.0
            return ev
        if not self._latch.active and not moving:
            self._seen.clear()
            self._score = 0.0
        return None
