"""The cheap reference for the tamper benchmark: plain frame-difference and brightness rules.

Owns the baseline that ``benchmarks/tamper.py`` measures in the same run as vigilcam's
detector (TAICS TS 5100-2-1 5.1.2.1 evidence). It is what a camera firmware typically does:
covered = the picture is dark or flat; moved = the mean absolute difference from a running
average is large; defocused = the Laplacian variance fell well below its running average. It
gets the same persistence latch, reference learning and one-tamper-at-a-time rule as the real
detector, so the comparison is about the image measures, not the bookkeeping.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from vigilcam.analytics.frames import check_gray, downscale
from vigilcam.analytics.latch import Edge, Latch

KINDS = ("covered", "moved", "defocused")


class BaselineDetector:
    def __init__(
        self,
        dark: float = 35.0,
        flat: float = 12.0,
        diff: float = 35.0,
        lap_ratio: float = 0.4,
        tau: float = 60.0,
        warmup: float = 3.0,
    ) -> None:
        self.dark, self.flat, self.diff, self.lap_ratio = dark, flat, diff, lap_ratio
        self.tau, self.warmup = tau, warmup
        self._latches = {k: Latch(1.0, 2.0, 0.45) for k in KINDS}
        self._ref: np.ndarray | None = None
        self._lap = 0.0
        self._t0 = 0.0
        self._last = 0.0
        self.active: str | None = None

    def update(self, gray: np.ndarray, t: float) -> list[tuple[str, str, float]]:
        small = downscale(check_gray(gray), 320)
        img = small.astype(np.float32)
        lap = float(cv2.Laplacian(small, cv2.CV_32F).var())
        if self._ref is None:
            self._ref, self._lap, self._t0, self._last = img, lap, t, t
            return []
        dt = t - self._last
        self._last = t
        if t - self._t0 < self.warmup:
            cv2.accumulateWeighted(img, self._ref, 0.3)
            self._lap += 0.3 * (lap - self._lap)
            return []
        mean, std = cv2.meanStdDev(small)
        covered = mean[0, 0] < self.dark or std[0, 0] < self.flat
        moved = not covered and float(cv2.absdiff(img, self._ref).mean()) > self.diff
        defocused = not covered and not moved and lap < self.lap_ratio * self._lap
        cond = {"covered": covered, "moved": moved, "defocused": defocused}
        out: list[tuple[str, str, float]] = []
        for k in KINDS:
            edge = self._latches[k].update(cond[k], t)
            if edge is Edge.RAISED:
                if self.active is None:
                    self.active = k
                    out.append((k, "raised", t))
                else:
                    self._latches[k].reset()
            elif edge is Edge.CLEARED and self.active == k:
                self.active = None
                out.append((k, "cleared", t))
        if not any(cond.values()) and self.active is None:
            rate = 1.0 - math.exp(-dt / self.tau)
            cv2.accumulateWeighted(img, self._ref, rate)
            self._lap += rate * (lap - self._lap)
        return out
