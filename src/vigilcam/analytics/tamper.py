"""Camera tamper detection: lens covered, defocused (refocused) or moved (redirected).

Owns the tamper decision. Serves TAICS TS 5100-2-1 5.1.2.1 (alert when the lens is covered,
refocused or redirected; the alert carries evidence and clears when the view recovers).
Signal loss is detected by the media layer and power loss by the app at start; neither is
here.

Invariants:
- Pure: ``update(gray, t)`` does no IO, keeps no clock and starts no thread; JPEG evidence is
  kept in memory in the returned events.
- A reference view is learned during ``warmup_s`` and then adapts with time constant
  ``learn_tau_s`` (slow enough that a tamper is never learned, fast enough to follow dusk and
  dawn); learning is frozen while any tamper condition holds or is raised.
- A condition must hold for ``hold_s`` before it raises and be gone for ``clear_s`` before it
  clears (hysteresis). One tamper is raised at a time and is raised once: exactly one
  "raised" and one "cleared" event per tamper.
- Priority when several conditions hold: covered > moved > defocused (a cover also
  decorrelates and blurs; a zoomed-in view also looks softer).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from vigilcam.analytics.frames import FrameError, GrayU8, check_gray, check_time, downscale
from vigilcam.analytics.latch import Edge, Latch
from vigilcam.analytics.tamper_features import (
    Comparison,
    Features,
    Grid,
    Reference,
    compare,
    measure,
    weighted_quantile,
)
from vigilcam.analytics.thumbs import jpeg, thumbnail

TamperKind = Literal["covered", "defocused", "moved"]
TamperPhase = Literal["raised", "cleared"]
KINDS: tuple[TamperKind, ...] = ("covered", "moved", "defocused")  # priority order


@dataclass(frozen=True)
class TamperConfig:
    """Tuning of the tamper detector (defaults tuned on the bikes/carphone benchmark split)."""

    analysis_width: int = 320
    coarse_width: int = 96
    grid_cols: int = 12
    warmup_s: float = 3.0
    learn_tau_s: float = 60.0
    hold_s: float = 1.0
    clear_s: float = 2.0
    # A cell is "covered" when its contrast falls below this fraction of the reference's.
    cover_contrast: float = 0.35
    # ...and the view is covered when this weighted fraction of cells is.
    cover_fraction: float = 0.6
    # A cell is "decorrelated" when its NCC with the reference falls below this.
    moved_ncc: float = 0.4
    # The view moved when this weighted fraction of still-textured cells decorrelated.
    moved_fraction: float = 0.6
    # Defocused when the weighted median sharpness ratio falls below this...
    defocus_ratio: float = 0.6
    # ...while the coarse view still matches (decorrelated fraction below this).
    defocus_max_decorrelated: float = 0.5
    thumb_width: int = 160
    jpeg_quality: int = 70

    def __post_init__(self) -> None:
        if not 32 <= self.analysis_width <= 1920:
            raise ValueError("analysis_width must be 32..1920")
        if not 16 <= self.coarse_width <= self.analysis_width:
            raise ValueError("coarse_width must be 16..analysis_width")
        if not 3 <= self.grid_cols <= 64:
            raise ValueError("grid_cols must be 3..64")
        for name in ("warmup_s", "learn_tau_s", "hold_s", "clear_s"):
            if not getattr(self, name) >= 0 or not math.isfinite(getattr(self, name)):
                raise ValueError(f"{name} must be a finite number >= 0")
        for name in ("cover_contrast", "cover_fraction", "moved_ncc", "moved_fraction",
                     "defocus_ratio", "defocus_max_decorrelated"):
            if not 0.0 < getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in (0, 1]")
        if not 16 <= self.thumb_width <= 640 or not 10 <= self.jpeg_quality <= 95:
            raise ValueError("thumb_width must be 16..640 and jpeg_quality 10..95")


@dataclass(frozen=True)
class TamperEvent:
    """A tamper raised or cleared, with its scores and before/after JPEG thumbnails."""

    kind: TamperKind
    phase: TamperPhase
    t: float
    since: float  # when the condition was first seen (raised) or the tamper was raised (cleared)
    scores: dict[str, float] = field(default_factory=dict)
    before_jpeg: bytes = b""
    after_jpeg: bytes = b""


@dataclass(frozen=True)
class TamperScores:
    """Per-frame summary of the comparison with the reference."""

    covered_fraction: float
    moved_fraction: float
    decorrelated_fraction: float
    stable_decorrelated: float
    ncc_median: float
    flow_median: float
    gain_sharpness: float
    sharpness_ratio: float
    brightness: float
    contrast: float
    entropy: float
    ref_brightness: float
    ref_entropy: float

    def as_dict(self) -> dict[str, float]:
        return {k: round(float(v), 4) for k, v in self.__dict__.items()}


def summarise(c: Comparison, f: Features, ref: Reference, cfg: TamperConfig) -> TamperScores:
    w = c.weight
    covered = c.contrast < cfg.cover_contrast
    decor = c.ncc < cfg.moved_ncc
    return TamperScores(
        covered_fraction=float(w[covered].sum()),
        moved_fraction=float(w[decor & ~covered].sum()),
        decorrelated_fraction=float(w[decor].sum()),
        stable_decorrelated=float(c.stable_weight[decor & ~covered].sum()),
        ncc_median=weighted_quantile(c.ncc, c.stable_weight, 0.5),
        flow_median=weighted_quantile(c.flow, c.stable_weight, 0.5),
        gain_sharpness=weighted_quantile(c.gain_sharp, w, 0.5),
        sharpness_ratio=weighted_quantile(c.sharp, w, 0.5),
        brightness=f.mean,
        contrast=f.std,
        entropy=f.entropy,
        ref_brightness=ref.mean,
        ref_entropy=ref.entropy,
    )


class TamperDetector:
    """Feed grey sub-stream frames with timestamps; get tamper raise/clear events back."""

    def __init__(self, config: TamperConfig | None = None) -> None:
        self.config = config or TamperConfig()
        self._latches = {k: Latch(self.config.hold_s, self.config.clear_s) for k in KINDS}
        self._grid: Grid | None = None
        self._shape: tuple[int, int] | None = None
        self._ref: Reference | None = None
        self._started: float | None = None
        self._last_t: float | None = None
        self._active: TamperKind | None = None
        self._raised_thumb: GrayU8 | None = None
        self._raised_at = 0.0
        self._clean_thumb: GrayU8 | None = None
        self.last_scores: TamperScores | None = None

    @property
    def active(self) -> TamperKind | None:
        """The tamper currently raised, if any."""
        return self._active

    @property
    def ready(self) -> bool:
        """True once the reference view has been learned."""
        return (
            self._ref is not None
            and self._started is not None
            and self._last_t is not None
            and self._last_t - self._started >= self.config.warmup_s
        )

    def rebaseline(self, t: float) -> list[TamperEvent]:
        """Forget the reference and learn the current view afresh (the owner accepted it).

        A raised tamper is cleared (its event carries ``rebaselined = 1``).
        """
        out: list[TamperEvent] = []
        if self._active is not None:
            out.append(TamperEvent(self._active, "cleared", float(t), float(t),
                                   {"rebaselined": 1.0}))
        for latch in self._latches.values():
            latch.reset()
        self._active = None
        self._ref = None
        self._grid = None
        self._shape = None
        self._started = None
        self._raised_thumb = None
        return out

    def update(self, gray: np.ndarray, t: float) -> list[TamperEvent]:
        """Analyse one frame taken at time ``t`` (seconds, non-decreasing)."""
        frame = check_gray(gray)
        tf = check_time(t, self._last_t)
        cfg = self.config
        small = downscale(frame, cfg.analysis_width)
        if self._shape is not None and small.shape != self._shape:
            raise FrameError(
                f"frame size changed from {self._shape[::-1]} to {small.shape[::-1]}; "
                "call rebaseline() after a sub-stream resolution change"
            )
        if self._grid is None:
            h, w = small.shape
            self._grid = Grid.for_shape(h, w, cfg.coarse_width, cfg.grid_cols)
            self._shape = (h, w)
        feats = measure(small, self._grid)
        dt = 0.0 if self._last_t is None else min(tf - self._last_t, 5.0)
        self._last_t = tf
        if self._ref is None or self._started is None:
            self._ref = Reference(feats)
            self._started = tf
            self._clean_thumb = thumbnail(small, cfg.thumb_width)
            return []
        if tf - self._started < cfg.warmup_s:
            self._ref.learn(feats, 1.0 / (self._ref.frames + 1))
            self._clean_thumb = thumbnail(small, cfg.thumb_width)
            return []
        comp = compare(feats, self._ref, self._grid)
        scores = summarise(comp, feats, self._ref, cfg)
        self.last_scores = scores
        conditions = self._conditions(scores)
        events = self._step_latches(conditions, scores, small, tf)
        if not any(conditions.values()) and self._active is None:
            rate = 1.0 - math.exp(-dt / cfg.learn_tau_s) if cfg.learn_tau_s > 0 else 1.0
            self._ref.learn(feats, rate)
            self._ref.learn_stability(comp.ncc, rate)
            self._clean_thumb = thumbnail(small, cfg.thumb_width)
        return events

    def _conditions(self, s: TamperScores) -> dict[TamperKind, bool]:
        cfg = self.config
        covered = s.covered_fraction >= cfg.cover_fraction
        moved = not covered and s.moved_fraction >= cfg.moved_fraction
        defocused = (
            not covered
            and not moved
            and s.sharpness_ratio <= cfg.defocus_ratio
            and s.decorrelated_fraction < cfg.defocus_max_decorrelated
        )
        return {"covered": covered, "moved": moved, "defocused": defocused}

    def _step_latches(
        self, cond: dict[TamperKind, bool], scores: TamperScores, small: GrayU8, t: float
    ) -> list[TamperEvent]:
        cfg = self.config
        events: list[TamperEvent] = []
        for kind in KINDS:
            latch = self._latches[kind]
            edge = latch.update(cond[kind], t)
            if edge is Edge.RAISED:
                if self._active is not None:
                    # One tamper at a time: a second kind waits until the first clears.
                    latch.reset()
                    continue
                self._active = kind
                after = thumbnail(small, cfg.thumb_width)
                self._raised_thumb = after
                self._raised_at = t
                before = self._clean_thumb if self._clean_thumb is not None else after
                start = latch.pending_since if latch.pending_since is not None else t
                events.append(TamperEvent(
                    kind, "raised", t, start, scores.as_dict(),
                    jpeg(before, cfg.jpeg_quality), jpeg(after, cfg.jpeg_quality),
                ))
            elif edge is Edge.CLEARED and self._active == kind:
                self._active = None
                before = self._raised_thumb if self._raised_thumb is not None else small
                events.append(TamperEvent(
                    kind, "cleared", t, self._raised_at, scores.as_dict(),
                    jpeg(before, cfg.jpeg_quality),
                    jpeg(thumbnail(small, cfg.thumb_width), cfg.jpeg_quality),
                ))
        return events
