"""Camera tamper detection: lens covered, defocused (refocused) or moved (redirected).

Owns the tamper decision. Serves TAICS TS 5100-2-1 5.1.2.1 (alert when the lens is covered,
refocused or redirected; the alert carries evidence and clears when the view recovers).
Signal loss is detected by the media layer and power loss by the app at start; neither is
here.

Invariants:
- Pure: ``update(gray, t)`` does no IO, keeps no clock and starts no thread; JPEG evidence is
  kept in memory in the returned events.
- A reference view is learned during ``warmup_s`` (afresh whenever the learned view is
  blank) and then adapts with time constant ``learn_tau_s``: slow enough that a tamper is
  not learned, fast enough to follow dusk, dawn and a light switched on. Learning runs ten
  times slower while a condition builds up and stops while a tamper is raised.
- A condition must hold for ``hold_s`` (surviving dropouts up to ``gap_s``) before it raises.
  A raised tamper is then judged on relaxed thresholds (``keep_factor``,
  ``defocus_keep_ratio``) and clears once they have been quiet for ``clear_s``, or once the
  strict ones have been quiet for ``calm_clear_s``. One tamper is raised at a time and is
  raised once: exactly one "raised" and one "cleared" event per tamper.
- Priority when several conditions hold: covered > moved > defocused (a cover also
  decorrelates and blurs; a zoomed-in view also looks softer).
- "Before" evidence is a clean frame from ``BEFORE_MARGIN_S`` before the condition began.

How each tamper shows in the measures of ``tamper_features`` (per grid cell, against the
reference, with the sensor noise taken out): covered = texture gone and either the picture no
longer matches or its contrast is gone at every scale alike (a veil: a translucent cover);
moved = the cells that usually match and still have texture stop matching (a person close to
the lens takes the texture of the cells it hides), or ORB features agree on a turn
(``view_match``); defocused = the mid band's share of the cells' energy lost while the coarse
picture still matches and keeps its contrast.
"""

from __future__ import annotations

import math
from collections import deque
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
from vigilcam.analytics.view_match import NO_MATCH, Match, ViewMatcher

TamperKind = Literal["covered", "defocused", "moved"]
TamperPhase = Literal["raised", "cleared"]
KINDS: tuple[TamperKind, ...] = ("covered", "moved", "defocused")  # priority order
BEFORE_MARGIN_S = 2.0


@dataclass(frozen=True)
class TamperConfig:
    """Tuning of the tamper detector (defaults tuned on the bikes/carphone benchmark split)."""

    analysis_width: int = 320
    coarse_width: int = 96
    grid_cols: int = 12
    warmup_s: float = 3.0
    learn_tau_s: float = 60.0
    hold_s: float = 1.0
    clear_s: float = 3.0
    gap_s: float = 0.45  # a condition survives this long a dropout while it builds up
    # A cell is "covered" when its contrast falls below this fraction of the reference's.
    cover_contrast: float = 0.4
    # ...and either no longer matches the reference, or (a veil: a translucent cover) has lost
    # its plain deviation too, to below this fraction (a blur or a zoom keeps it).
    cover_spread: float = 0.5
    # A veiled cell keeps at least this fraction of its deviation ratio in its detail ratio,
    # and its deviation ratio is below this fraction of the brightness ratio.
    veil_detail: float = 0.4
    veil_gain: float = 0.75
    # ...and the view is covered when this weighted fraction of cells is.
    cover_fraction: float = 0.5
    # A cell is "decorrelated" when its NCC with the reference falls below this.
    moved_ncc: float = 0.4
    # The view moved when this fraction of the stable, still-textured cells decorrelated...
    moved_fraction: float = 0.55
    # ...or when the typical stable cell hardly correlates any more...
    moved_median_ncc: float = 0.3
    # ...or when ORB features agree on a turn of at least this (mean displacement / width)
    moved_displacement: float = 0.07
    # ...with at least this many inliers, while few features stayed where they were.
    moved_inliers: int = 12
    # Check the features (and trust a turn they report) only when the median stable cell
    # correlates less than this.
    orb_gate_ncc: float = 0.8
    # Defocused when the weighted median share of the cells' energy in the mid band (now /
    # reference; blind to lighting, veils and noise) falls below this...
    defocus_ratio: float = 0.9
    # ...while the coarse view still matches (decorrelated fraction below this, median
    # stable-cell correlation above this).
    defocus_max_decorrelated: float = 0.5
    defocus_min_ncc: float = 0.5
    defocus_keep_ratio: float = 0.94
    # A blur keeps the coarse contrast (median plain deviation ratio at least this); a veil
    # takes it...
    defocus_min_spread: float = 0.5
    # ...and a blur takes the finer band before the coarser one: the band ratio must show it
    # (in the dark the gain correction of the mid band is unreliable; the band ratio is not).
    defocus_max_band: float = 0.9
    # A raised tamper stays raised until its scores are this much better than the raise
    # thresholds (fractions scaled by it, ratios divided by it).
    keep_factor: float = 0.8
    calm_clear_s: float = 8.0
    thumb_width: int = 160
    jpeg_quality: int = 70

    def __post_init__(self) -> None:
        if not 32 <= self.analysis_width <= 1920:
            raise ValueError("analysis_width must be 32..1920")
        if not 16 <= self.coarse_width <= self.analysis_width:
            raise ValueError("coarse_width must be 16..analysis_width")
        if not 3 <= self.grid_cols <= 64:
            raise ValueError("grid_cols must be 3..64")
        if not 3 <= self.moved_inliers <= 1000:
            raise ValueError("moved_inliers must be 3..1000")
        for name in ("warmup_s", "learn_tau_s", "hold_s", "clear_s", "gap_s", "calm_clear_s"):
            if not getattr(self, name) >= 0 or not math.isfinite(getattr(self, name)):
                raise ValueError(f"{name} must be a finite number >= 0")
        for name in ("cover_contrast", "cover_spread", "veil_detail", "veil_gain",
                     "cover_fraction",
                     "moved_ncc",
                     "moved_fraction",
                     "moved_median_ncc",
                     "moved_displacement", "orb_gate_ncc",
                     "defocus_ratio", "defocus_max_decorrelated", "defocus_min_ncc",
                     "defocus_keep_ratio", "defocus_min_spread",
                     "defocus_max_band",
                     "keep_factor"):
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
    decorrelated_fraction: float
    stable_decorrelated: float
    ncc_median: float
    orb_still: float
    orb_inliers: float
    orb_displacement: float
    sharpness: float
    band_ratio: float
    spread: float
    brightness: float
    contrast: float
    entropy: float
    noise: float
    ref_brightness: float
    ref_entropy: float

    def as_dict(self) -> dict[str, float]:
        return {k: round(float(v), 4) for k, v in self.__dict__.items()}


def summarise(
    c: Comparison, f: Features, ref: Reference, m: Match, cfg: TamperConfig
) -> TamperScores:
    w = c.weight
    decor = c.ncc < cfg.moved_ncc
    # Covered: the texture is gone, and so is the picture (it no longer matches) or its
    # contrast at every scale (a veil: a translucent layer scales all of it down alike, so the
    # picture still matches). A strong blur also removes texture but keeps the picture and
    # the coarse contrast; a zoomed-in view loses texture and correlation, but keeps contrast.
    # A veil scales every scale alike, so the fine detail (mid band) goes no faster than the
    # deviation; a blur takes it several times faster. A veil also adds its own light, so
    # the contrast falls further than the brightness; lights going down take both alike (a
    # black veil is the same as dimmed lights, and is caught once nearly opaque). In a nearly
    # flat cell, noise is all that is left of the detail: it is veiled whatever its detail.
    gain = (f.mean + 1.0) / (ref.mean + 1.0)
    veiled = (c.spread < cfg.cover_spread / 2) | (
        (c.spread < cfg.cover_spread) & (c.detail >= cfg.veil_detail * c.spread)
        & (c.spread < cfg.veil_gain * gain))
    lost = c.contrast < cfg.cover_contrast
    covered = lost & (((c.spread < 0.8) & decor) | veiled)
    # Cells whose texture is gone (a person close to the lens) say nothing about where the
    # camera looks: the "moved" median is taken over the others while there are enough.
    seen = c.stable_weight * ~lost
    seen_weight = seen if float(seen.sum()) >= 0.25 else c.stable_weight
    return TamperScores(
        covered_fraction=float(c.cover_weight[covered].sum()),
        decorrelated_fraction=float(w[decor].sum()),
        stable_decorrelated=float(c.stable_weight[decor & ~covered].sum()),
        ncc_median=weighted_quantile(c.ncc, seen_weight, 0.5),
        sharpness=weighted_quantile(c.sharp, w, 0.5),
        band_ratio=weighted_quantile(c.band, w, 0.5),
        spread=weighted_quantile(c.spread, w, 0.5),
        orb_still=float(m.still),
        orb_inliers=float(m.inliers),
        orb_displacement=m.displacement,
        brightness=f.mean,
        contrast=f.std,
        entropy=f.entropy,
        noise=f.noise,
        ref_brightness=ref.mean,
        ref_entropy=ref.entropy,
    )


class TamperDetector:
    """Feed grey sub-stream frames with timestamps; get tamper raise/clear events back."""

    def __init__(self, config: TamperConfig | None = None) -> None:
        self.config = config or TamperConfig()
        self._latches = {
            k: Latch(self.config.hold_s, self.config.clear_s, self.config.gap_s) for k in KINDS
        }
        self._grid: Grid | None = None
        self._matcher = ViewMatcher()
        self._shape: tuple[int, int] | None = None
        self._ref: Reference | None = None
        self._started: float | None = None
        self._last_t: float | None = None
        self._active: TamperKind | None = None
        self._raised_thumb: GrayU8 | None = None
        self._raised_at = 0.0
        self._calm_since: float | None = None
        # Recent clean views; "before" evidence is taken a little before the onset, since the
        # first frames of a tamper (a hand approaching) do not trip any condition yet.
        self._clean_thumbs: deque[tuple[float, GrayU8]] = deque(maxlen=32)
        self.last_scores: TamperScores | None = None
        self.orb_runs = 0

    @property
    def active(self) -> TamperKind | None:
        """The tamper currently raised, if any."""
        return self._active

    @property
    def ready(self) -> bool:
        """True once a reference view with some detail in it has been learned."""
        return (
            self._ref is not None
            and not self._ref.featureless
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
        self._matcher.reset()
        self._grid = None
        self._shape = None
        self._started = None
        self._raised_thumb = None
        self._clean_thumbs.clear()
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
            self._grid = Grid.for_shape(h, w, cfg.coarse_width, cfg.grid_cols,
                                        cfg.analysis_width)
            self._shape = (h, w)
        feats = measure(small, self._grid)
        dt = 0.0 if self._last_t is None else min(tf - self._last_t, 5.0)
        self._last_t = tf
        if self._ref is None or self._started is None or self._ref.featureless:
            # First frame, or the learned view is blank (a camera starting in the dark or
            # behind a closed shutter): nothing to compare with, so start learning afresh.
            self._ref = Reference(feats)
            self._started = tf
            self._clean_thumbs.append((tf, thumbnail(small, cfg.thumb_width)))
            return []
        if tf - self._started < cfg.warmup_s:
            self._ref.learn(feats, 1.0 / (self._ref.frames + 1))
            self._clean_thumbs.append((tf, thumbnail(small, cfg.thumb_width)))
            return []
        comp = compare(feats, self._ref, self._grid)
        cheap = summarise(comp, feats, self._ref, NO_MATCH, cfg)
        # Features are only worth their cost when the cells already doubt the view ("turned"
        # needs the same sign, so skipping them elsewhere changes no decision).
        if cheap.ncc_median < cfg.orb_gate_ncc and cheap.covered_fraction < cfg.cover_fraction:
            scores = summarise(comp, feats, self._ref, self._matcher.match(small), cfg)
            self.orb_runs += 1
        else:
            scores = cheap
        self.last_scores = scores
        conditions = self._conditions(scores)
        calm = False
        if self._active is not None:
            # The raised tamper is judged on the relaxed thresholds; but once even the strict
            # ones have been quiet for calm_clear_s, it clears regardless (a reference frozen
            # through a long tamper may sit just across a relaxed threshold afterwards).
            if conditions[self._active]:
                self._calm_since = None
            elif self._calm_since is None:
                self._calm_since = tf
            calm = tf - (self._calm_since if self._calm_since is not None else tf) >= (
                cfg.calm_clear_s
            )
            conditions[self._active] = (
                self._conditions(scores, keep=True)[self._active] and not calm
            )
        events = self._step_latches(conditions, scores, small, tf, force_clear=calm)
        if self._active is None:
            # Learn at full speed while all is well; while a condition builds up learn ten
            # times slower rather than not at all, so a reference that drifted out of date
            # (a scene that changed for good) cannot lock the detector in a loop of alarms.
            clean = not any(conditions.values())
            tau = cfg.learn_tau_s * (1.0 if clean else 10.0)
            rate = 1.0 - math.exp(-dt / tau) if tau > 0 else 1.0
            self._ref.learn(feats, rate)
            self._ref.learn_stability(comp.ncc, rate)
            if clean:
                self._matcher.offer_clean(small, tf)
                self._clean_thumbs.append((tf, thumbnail(small, cfg.thumb_width)))
            else:
                self._matcher.interrupt(tf)
        else:
            self._matcher.interrupt(tf)
        return events

    def _before(self, t: float, default: GrayU8) -> GrayU8:
        """The newest clean thumbnail taken at or before ``t`` (else the oldest one kept)."""
        best: GrayU8 | None = None
        for ts, thumb in self._clean_thumbs:
            if ts <= t or best is None:
                best = thumb
        return best if best is not None else default

    def _conditions(self, s: TamperScores, keep: bool = False) -> dict[TamperKind, bool]:
        """Which tampers the scores show. ``keep`` uses the relaxed thresholds that keep a
        raised tamper raised (hysteresis on the value, on top of the latch's on time)."""
        cfg = self.config
        k = cfg.keep_factor if keep else 1.0
        covered = s.covered_fraction >= cfg.cover_fraction * k
        # Features that agree on a turn only count when the cells also stopped matching:
        # a person close to the camera moving their head also carries features along.
        turned = (
            s.orb_inliers >= cfg.moved_inliers * k
            and s.orb_displacement >= cfg.moved_displacement * k
            and s.orb_still * 3 < s.orb_inliers
            and s.ncc_median < cfg.orb_gate_ncc
        )
        moved = not covered and (
            s.stable_decorrelated >= cfg.moved_fraction * k
            or s.ncc_median <= cfg.moved_median_ncc / k
            or turned
        )
        # A blurred view still matches the reference at the coarse scale; a moved one not.
        defocused = (
            not covered
            and not moved
            and s.sharpness <= (cfg.defocus_keep_ratio if keep else cfg.defocus_ratio)
            and s.band_ratio < cfg.defocus_max_band / k
            and s.spread >= cfg.defocus_min_spread * k
            and s.decorrelated_fraction < cfg.defocus_max_decorrelated
            and s.ncc_median >= cfg.defocus_min_ncc
        )
        return {"covered": covered, "moved": moved, "defocused": defocused}

    def _step_latches(
        self, cond: dict[TamperKind, bool], scores: TamperScores, small: GrayU8, t: float,
        force_clear: bool = False,
    ) -> list[TamperEvent]:
        cfg = self.config
        events: list[TamperEvent] = []
        for kind in KINDS:
            latch = self._latches[kind]
            edge = latch.update(cond[kind], t)
            if force_clear and kind == self._active and latch.active:
                latch.reset()
                edge = Edge.CLEARED
            if edge is Edge.RAISED:
                if self._active is not None:
                    # One tamper at a time: a second kind waits until the first clears.
                    latch.reset()
                    continue
                self._active = kind
                after = thumbnail(small, cfg.thumb_width)
                self._raised_thumb = after
                self._raised_at = t
                self._calm_since = None
                start = latch.pending_since if latch.pending_since is not None else t
                before = self._before(start - BEFORE_MARGIN_S, after)
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
