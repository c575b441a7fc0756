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
- Weather and light are not tampers: a cover is raised only if it came on within
  ``onset_s`` (fog rolls in over tens of seconds; the lights going down in fog take the
  contrast with the light, a cover the contrast alone); a defocus only once the picture has
  settled (a diffuser being pulled on looks like a growing blur first); a defocus or a move
  only while the brightness is steady and the view is not flooded with light (headlights,
  the switch to IR mode); cells a light shines into do not vote for "moved"; fine detail
  that appears (snow) is learned slower than detail that goes.
- A focus ring is turned in a moment: a defocus is raised only if the sharpness fell within
  ``onset_s`` (a sharpness wandering near the threshold on a small, noisy sub-stream is not
  a blur) and the light has been steady for ``defocus_light_s`` (a headlight's glow passing).
  A view blinded by light (clipped white, or headlights shining into part of it while the
  exposure pulls the rest down like a veil, their glow softening what they light) is not
  raised as covered or defocused until it has lasted ``blind_s``: headlights pass, a cover
  and a turned focus ring stay. That hold is a budget of ``blind_s`` refilled over
  ``BLIND_REFILL_S`` and spent only on a view that looks covered or blurred, so a light
  flickered at the camera cannot keep postponing them. A faint blur keeps its coarse
  contrast about as well as its fine detail; the end of a long snowfall does not.
- The reference is frozen while a tamper is raised. When it clears, the levels of the view
  it cleared on are averaged afresh over ``warmup_s`` (as after a day/night switch) from a
  clean frame that shows no sign of a cover: the light and the weather went on meanwhile.
- A slow turn does not drag the reference along: while the features find the view shifted
  (more than a camera swaying on its mount), the reference learns ten times slower and the
  features' key frame is not renewed (nor while the cells doubt the view, nor by a frame the
  features find shifted against it); once a turn clears, the key frame is taken afresh from
  the view the camera came back to.
- A camera swaying on its mount is not turned. In the first ``learn_tau_s`` after a start
  (the view learned from one end of the sway) or a day/night switch (the shapes still
  those of the other mode), the cells alone do not raise a turn while the features find
  the view where it was within a sway (``drift_displacement``).
- The camera's own switch between day and IR (night) mode is not a tamper. A camera in IR
  mode sends a grey picture (no colour at all: its IR-cut filter is out and the ISP drops
  the chroma); ``update`` takes the frame's colour level where the source has one. When the
  picture turns grey, or colourful again, while it still shows the reference's view (the
  cells correlate, the picture is neither blurred nor flattened past what IR does), the
  reference keeps its shapes and learns the new levels over ``warmup_s``, as at start.
  Where the cells stop matching only because the smooth light changed shape (fog lit by the
  IR lamp's bright centre, then by flat daylight) while the view's structure still
  correlates over the picture, the reference takes the new smooth light under its own
  structure (``Reference.relight``); a turn timed with the switch does not match. A
  cover that takes the colour with it (white tape) no longer shows the view, so it is
  judged as before; so is a switch while a tamper is raised, and one within
  ``switch_interval_s`` of the last (a picture made to flicker).

How each tamper shows in the measures of ``tamper_features`` (per grid cell, against the
reference, with the sensor noise taken out): covered = texture gone and either the picture no
longer matches, or its contrast is gone at every scale alike (a veil: a translucent cover),
or its deviation is gone and its fine detail further still (a diffuser: veiled and blurred;
a focus ring alone keeps the deviation);
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

from vigilcam.analytics.frames import (
    FrameError,
    GrayU8,
    check_colour,
    check_gray,
    check_time,
    downscale,
)
from vigilcam.analytics.latch import Edge, Latch
from vigilcam.analytics.tamper_features import (
    Comparison,
    Features,
    Grid,
    Reference,
    compare,
    light_ratio,
    measure,
    structure_correlation,
    weighted_quantile,
)
from vigilcam.analytics.thumbs import jpeg, thumbnail
from vigilcam.analytics.view_match import NO_MATCH, Match, ViewMatcher

TamperKind = Literal["covered", "defocused", "moved"]
TamperPhase = Literal["raised", "cleared"]
KINDS: tuple[TamperKind, ...] = ("covered", "moved", "defocused")  # priority order
BEFORE_MARGIN_S = 2.0
GLARE_BRIGHTER = 1.2  # a glare cell is this much brighter than it was...
GLARE_DARKER = 0.9  # ...while the view's median cell is at most this (the exposure answered)
BLIND_REFILL_S = 60.0  # lights hold tampers back for ``blind_s`` in all, refilled over this
RELEVEL_AFTER_CLEAR_S = 10.0  # a tamper cleared: its view's levels relearned within this
USUAL_TAU_S = 10.0  # how fast "how well the cells usually match" follows the clean view


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
    # A diffused cell (veiled and blurred: a diffuser over the lens) has lost its deviation
    # to below ``diffuse_spread``, its detail like a blur, and its band ratio is below
    # ``diffuse_band``. A diffuser's veil (40 % opaque and more) scales down what its blur
    # leaves: behind each of the benchmark's diffusers the median cell kept at most 0.38 of
    # its deviation; after each of its blurs, 0.5 or more (docs/performance.md). In a view
    # ``diffuse_lit_gain`` times brighter than the learned one (a light veil's own light; a
    # focus ring adds none) the line is ``cover_spread``: a bright cover at night, partial
    # or translucent, leaves half its cells at 0.4-0.5.
    diffuse_spread: float = 0.4
    diffuse_lit_gain: float = 1.25
    diffuse_band: float = 0.7
    # ...and the view is covered when this weighted fraction of cells is.
    cover_fraction: float = 0.5
    # A cell is "lit" (a light shines into it) when its brightness against the reference is
    # this many times the view's median ratio; lit cells, and cells this many times brighter
    # than they were (headlights filling most of a dark view), do not vote for "moved".
    lit_lift: float = 1.6
    # A cell is "decorrelated" when its NCC with the reference falls below this.
    moved_ncc: float = 0.4
    # The view moved when this fraction of the stable, still-textured cells decorrelated...
    moved_fraction: float = 0.55
    # ...or when the typical stable cell hardly correlates any more (judged only while at
    # least ``moved_min_textured`` of their weight keeps its texture: in dense fog at dusk
    # the cells left are noise, and their correlation says nothing)...
    moved_median_ncc: float = 0.3
    moved_min_textured: float = 0.5
    # ...or when ORB features agree on a turn of at least this (mean displacement / width)
    moved_displacement: float = 0.07
    # ...with at least this many inliers, while few features stayed where they were.
    moved_inliers: int = 12
    # A view the features find shifted by this much (less than a turn, more than a camera
    # swaying on its mount) is drifting: the reference learns ten times slower, so a slow
    # turn does not drag it along.
    drift_displacement: float = 0.06
    # Check the features (and trust a turn they report) only when the median stable cell
    # correlates less than this.
    orb_gate_ncc: float = 0.8
    # A raised turn is kept while the median stable cell correlates this much less than it
    # usually does (learned while all is well), over the last second.
    moved_doubt: float = 0.12
    # A view whose median stable cell matched as well as usual and, at once, this much less
    # (over the last second), in settled light with no light shining in, for ``moved_drop_s``,
    # has changed: a zoom in IR noise leaves the cells at 0.4-0.5 from a usual 0.97, over
    # both lines above; headlights sweeping the view take 1-2 s and change the light.
    moved_drop: float = 0.4
    moved_drop_s: float = 2.0
    # Defocused when the weighted median share of the cells' energy in the mid band (now /
    # reference; blind to lighting, veils and noise) falls below this...
    defocus_ratio: float = 0.9
    # ...while the coarse view still matches (decorrelated fraction below this, median
    # stable-cell correlation above this).
    defocus_max_decorrelated: float = 0.5
    defocus_min_ncc: float = 0.5
    defocus_keep_ratio: float = 0.94
    # A blur keeps the coarse contrast (median plain deviation ratio at least this; the
    # strongest night blur of the benchmark wanders at 0.45-0.55); a veil takes it...
    defocus_min_spread: float = 0.45
    # ...and a blur takes the finer band before the coarser one: the band ratio must show it
    # (in the dark the gain correction of the mid band is unreliable; the band ratio is not).
    defocus_max_band: float = 0.9
    # In the light the view was learned in (within ``defocus_learned_light`` of its
    # brightness) the band ratio is trusted up to ``defocus_learned_band``: faint disk blurs
    # on a small view sit at 0.87-0.93. Away from it the band ratio itself wanders: a
    # lighting step in a dark view reads 0.94 (docs/performance.md).
    defocus_learned_band: float = 0.95
    defocus_learned_light: float = 0.1
    # A faint blur (sharpness above ``defocus_faint``) keeps the coarse contrast all but as
    # much as the fine detail: the view's clarity, taken at today's light, is at least
    # ``defocus_clarity`` times its sharpness. At the end of a long snowfall the flakes'
    # share of the mid band leaves, and their coarse energy, learned at full speed, leaves
    # the clarity at half: not a focus ring.
    defocus_faint: float = 0.8
    defocus_clarity: float = 0.8
    # A defocus is raised only once the picture has settled: its coarse contrast no longer
    # falling faster than this ratio over ``settle_s`` (a diffuser pulled over the lens looks
    # like a growing blur until its veil has taken the contrast: it is a cover)...
    defocus_steady: float = 0.9
    settle_s: float = 0.6
    # A focus ring is turned in a moment: a defocus is raised only if the sharpness fell to
    # at most this fraction of its highest value (a median of three frames) within the
    # last ``onset_s`` seconds. On a small, noisy sub-stream the sharpness of a plain view
    # wanders near the threshold for minutes (the end of a snowfall, a reference catching up
    # after the light changed); a defocus drops it at once.
    defocus_fall: float = 0.9
    # ...and only once the light has been steady (``light_steady``) for this long: a
    # headlight's broad smooth glow takes the mid band's share of the energy while it passes.
    defocus_light_s: float = 2.0
    # ...and a defocus or a move only while the brightness is steady, within this ratio over
    # ``settle_s`` (headlights sweeping the view and the exposure answering them are not).
    light_steady: float = 0.8
    # Nor while the view is flooded with light: this many times brighter than the reference
    # (headlights filling the view at night; the camera's own switch to IR mode at dusk).
    flood_ratio: float = 2.0
    # A cover comes on in a moment; fog rolls in over tens of seconds. A cover is raised only
    # if within the last ``onset_s`` seconds the view's clarity (median coarse contrast
    # against the reference) was at least ``onset_clear``, or ``onset_drop`` times what it is
    # now (a reference still catching up after a night-mode switch may sit below 1) and,
    # each taken at the light of its moment, ``onset_drop_at_light`` times: lights going
    # down in a view already half fogged halve its clarity with the light (1.05-1.1 at the
    # light), a cover takes the contrast and adds its own light (1.4-2.9 for a dark one 70-88 %
    # opaque; a black veil is dimmed lights).
    onset_clear: float = 0.75
    onset_drop: float = 2.0
    onset_drop_at_light: float = 1.25
    onset_s: float = 6.0
    # A view blinded by light (at least a fifth of it clipped flat white: its noise estimate
    # gone, brighter than ``blind_level``) is headlights or the sun in the lens; a cover or a
    # defocus is raised on it only once it has lasted ``blind_s`` (headlights pass in a few
    # seconds). Lights hold tampers back for ``blind_s`` in all, refilled over a minute
    # (``BLIND_REFILL_S``), however often they come back.
    blind_level: float = 150.0
    blind_noise: float = 0.3
    blind_s: float = 4.0
    # So is a view with a light shining into ``glare_fraction`` of its cells (``lit_lift``
    # times the view's median brightness ratio, brighter than they were, not covered)
    # while the view went darker: headlights, and the exposure answering them pulls the rest
    # down as a veil would. A cover lets no light in (the cells it leaves free keep their
    # light); a light one brightens the whole view.
    glare_fraction: float = 0.05
    # A defocus is held back so by a light shining into ``glow_fraction`` of the cells,
    # whether or not the view went darker: a headlight's broad glow takes the fine detail of
    # what it lights (a fifth of the view and more); a focus ring lights nothing. (A busy
    # street by day has a few cells lit by what passes.)
    glow_fraction: float = 0.15
    # A raised tamper stays raised until its scores are this much better than the raise
    # thresholds (fractions scaled by it, ratios divided by it).
    keep_factor: float = 0.8
    # Fine detail that appears (snow, rain) is learned this many times slower than detail
    # that goes, so its end does not look like a blur (on a small sub-stream the flakes
    # carry more of the mid band than the scene does: minutes of snow learned at a tenth of
    # the speed still made its end look like a defocus).
    detail_up: float = 0.02
    calm_clear_s: float = 8.0
    # The picture is grey (IR mode) when its colour level (``frames.grey_and_colour``) is
    # below ``mono_chroma``, colourful above ``colour_chroma`` (between: as it was). IR mode
    # sends no colour at all (0.0 through the decoder); a dim scene by day keeps some, and
    # its sensor noise, down to a quarter of a grey level in dense fog at dusk.
    mono_chroma: float = 0.05
    colour_chroma: float = 0.15
    # A switch between them is the camera's own (its levels learned afresh) while the median
    # stable cell correlates at least ``switch_ncc``, the mid band's share keeps
    # ``switch_band`` (no blur) and the coarse contrast keeps ``switch_spread`` (IR flattens
    # the picture by up to half; a cover takes it all). Where the cells do not correlate
    # because the smooth light changed shape (fog lit by the IR lamp's centre, then by flat
    # daylight), the structure must correlate at least ``switch_structure`` over the
    # picture (the same view in dense fog 0.4-0.5; turned by a tenth of the width 0.1).
    switch_ncc: float = 0.5
    switch_structure: float = 0.3
    switch_band: float = 0.85
    switch_spread: float = 0.3
    # At most one switch in this long is learned: a camera's own day/night switch waits for
    # the light to settle, and a picture made to flicker between grey and colour (a light
    # played on the camera's sensor) must not keep the detector forgetting a slow turn.
    switch_interval_s: float = 10.0
    thumb_width: int = 160
    jpeg_quality: int = 70

    def __post_init__(self) -> None:
        if not 32 <= self.analysis_width <= 1920:
            raise ValueError("analysis_width must be 32..1920")
        if not 16 <= self.coarse_width <= self.analysis_width:
            raise ValueError("coarse_width must be 16..analysis_width")
        if not 3 <= self.grid_cols <= 64:
            raise ValueError("grid_cols must be 3..64")
        if not (1.0 < self.lit_lift <= 100.0 and 1.0 < self.flood_ratio <= 100.0
                and 1.0 < self.diffuse_lit_gain <= 100.0):
            raise ValueError("lit_lift, flood_ratio and diffuse_lit_gain must be in (1, 100]")
        if not 3 <= self.moved_inliers <= 1000:
            raise ValueError("moved_inliers must be 3..1000")
        for name in ("warmup_s", "learn_tau_s", "hold_s", "clear_s", "gap_s", "calm_clear_s",
                     "settle_s", "onset_s", "onset_drop", "onset_drop_at_light",
                     "defocus_light_s", "blind_s", "moved_drop_s",
                     "blind_noise", "blind_level", "mono_chroma", "switch_interval_s"):
            if not getattr(self, name) >= 0 or not math.isfinite(getattr(self, name)):
                raise ValueError(f"{name} must be a finite number >= 0")
        if not self.blind_s + self.hold_s < self.onset_s:
            # A blur held back by a light for blind_s must still be raised (hold_s) within
            # the onset_s in which its fall of sharpness is seen.
            raise ValueError("blind_s + hold_s must be less than onset_s")
        for name in ("cover_contrast", "cover_spread", "veil_detail", "veil_gain",
                     "diffuse_spread", "diffuse_band", "cover_fraction",
                     "moved_ncc",
                     "moved_fraction",
                     "moved_median_ncc", "moved_min_textured",
                     "moved_displacement", "drift_displacement", "orb_gate_ncc", "moved_doubt",
                     "moved_drop",
                     "defocus_ratio", "defocus_max_decorrelated", "defocus_min_ncc",
                     "defocus_keep_ratio", "defocus_min_spread",
                     "defocus_max_band", "defocus_learned_band", "defocus_learned_light",
                     "defocus_faint", "defocus_clarity",
                     "defocus_steady", "defocus_fall", "light_steady",
                     "onset_clear", "switch_ncc", "switch_structure", "switch_band",
                     "switch_spread",
                     "keep_factor", "detail_up", "glare_fraction", "glow_fraction"):
            if not 0.0 < getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in (0, 1]")
        if not self.colour_chroma >= self.mono_chroma or not math.isfinite(self.colour_chroma):
            raise ValueError("colour_chroma must be a finite number >= mono_chroma")
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
    textured: float  # share of the stable cells' weight that keeps its texture, unlit
    lit: float  # share of the cells a light shines into (brighter than they were and than
    # the rest of the view)
    glare: float  # ``lit`` while the view went darker (the exposure answering the light)
    orb_still: float
    orb_inliers: float
    orb_displacement: float
    sharpness: float
    band_ratio: float
    spread: float
    clarity: float
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
    # A diffuser (a milky bag, tape, a film of spray haze) both veils and blurs: the cell's
    # plain deviation is gone as with a veil, but its fine detail went much further, and the
    # band ratio shows the blur. A focus ring alone keeps more of the deviation (the defocus
    # rule; a strong one takes about half, a diffuser's veil takes more on top) and adds no
    # light; dimmed lights keep the detail and the band ratio.
    diffuse_line = cfg.cover_spread if gain >= cfg.diffuse_lit_gain else cfg.diffuse_spread
    diffused = ((c.spread < diffuse_line) & (c.detail < cfg.veil_detail * c.spread)
                & (c.band < cfg.diffuse_band))
    lost = c.contrast < cfg.cover_contrast
    covered = lost & (((c.spread < 0.8) & decor) | veiled | diffused)
    # Cells whose texture is gone (a person close to the lens) say nothing about where the
    # camera looks, nor do cells a light shines into (headlights: far brighter against the
    # reference than the rest of the view), nor cells far brighter than they were (headlights
    # filling most of a dark view; the learned view catching up after the lights came on):
    # the "moved" votes are taken over the others while there are enough.
    median_light = float(np.median(c.light))
    shone = c.light > cfg.lit_lift * median_light
    lit = shone | (c.light > cfg.lit_lift)
    seen = c.stable_weight * ~lost * ~lit
    textured = float(seen.sum())
    lit_share = float(np.mean(shone & (c.light > GLARE_BRIGHTER) & ~covered))
    seen_weight = seen if textured >= cfg.moved_min_textured / 2 else c.stable_weight
    return TamperScores(
        covered_fraction=float(c.cover_weight[covered].sum()),
        decorrelated_fraction=float(w[decor].sum()),
        stable_decorrelated=float(c.stable_weight[decor & ~covered & ~lit].sum()),
        ncc_median=weighted_quantile(c.ncc, seen_weight, 0.5),
        sharpness=weighted_quantile(c.sharp, w, 0.5),
        band_ratio=weighted_quantile(c.band, w, 0.5),
        spread=weighted_quantile(c.spread, w, 0.5),
        clarity=weighted_quantile(c.contrast, c.cover_weight, 0.5),
        textured=textured,
        lit=lit_share,
        glare=lit_share if median_light < GLARE_DARKER else 0.0,
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
        # Recent coarse contrast (median spread) and brightness, to tell a settled picture from
        # a changing one.
        self._spreads: deque[tuple[float, float, float]] = deque(maxlen=64)
        # Recent clarity, and clarity at that moment's light, to tell a sudden cover from fog
        # rolling in.
        self._clarity: deque[tuple[float, float, float]] = deque(maxlen=128)
        # Recent sharpness, to tell a focus ring turned from a sharpness that wanders.
        self._sharpness: deque[tuple[float, float]] = deque(maxlen=128)
        self._blind_budget = self.config.blind_s  # how long lights may still hold back
        self._grey: bool | None = None  # the picture has no colour (IR mode); None: unknown
        self._relevelled_at = -math.inf  # when a day/night switch was last learned
        # The reference's levels are averaged afresh from here (a switch, a tamper cleared),
        # and after a tamper cleared, from a clean frame until when.
        self._levels_from = -math.inf
        self._relevel_by: float | None = None
        self._usual_ncc = 1.0  # how well the stable cells usually match (median)
        self._dropped_since: float | None = None  # since when they match far worse at once
        # ...and how well they matched over the last second (a passing van is one frame).
        self._recent_ncc: deque[float] = deque(maxlen=5)
        self.last_scores: TamperScores | None = None
        self.orb_runs = 0
        self.mode_switches = 0

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
        self._active = None
        self._ref = None
        self._grid = None
        self._shape = None
        self._started = None
        self._raised_thumb = None
        self._clean_thumbs.clear()
        self._grey = None
        self._relevelled_at = self._levels_from = -math.inf
        self._relevel_by = None
        self._usual_ncc = 1.0
        self._forget_recent()
        return out

    def _forget_recent(self) -> None:
        """Forget what was building up and the recent history judged against the old view."""
        for latch in self._latches.values():
            latch.reset()
        self._matcher.reset()
        self._spreads.clear()
        self._clarity.clear()
        self._sharpness.clear()
        self._recent_ncc.clear()
        self._dropped_since = None

    def update(self, gray: np.ndarray, t: float, colour: float | None = None
               ) -> list[TamperEvent]:
        """Analyse one frame taken at time ``t`` (seconds, non-decreasing). ``colour`` is the
        frame's colour level (``frames.grey_and_colour``) where the source has one, else
        None."""
        frame = check_gray(gray)
        tf = check_time(t, self._last_t)
        switched = self._mode_switched(check_colour(colour))
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
        relearn = None
        if (switched and self._active is None
                and tf - self._relevelled_at >= cfg.switch_interval_s):
            relearn = (self._ref.relevel if self._same_view(cheap)
                       else self._ref.relight if self._same_structure(cheap, feats)
                       else None)
        if relearn is not None:
            # The camera switched between day and IR mode: the same view in another light.
            # Its levels are learned afresh over ``warmup_s`` while detection goes on (its
            # shapes, the cells' stability and the clean thumbnails stay; where only the
            # structure still matched, the smooth light takes the new shape). The view was
            # clear now: a cover that follows is sudden.
            relearn(feats, self._grid)
            self._relevelled_at = self._levels_from = tf
            self._forget_recent()
            self._clarity.append((tf, 1.0, 1.0))
            self.mode_switches += 1
            return []
        # Features are only worth their cost when the cells already doubt the view ("turned"
        # needs the same sign, so skipping them elsewhere changes no decision).
        if cheap.ncc_median < cfg.orb_gate_ncc and cheap.covered_fraction < cfg.cover_fraction:
            scores = summarise(comp, feats, self._ref, self._matcher.match(small), cfg)
            self.orb_runs += 1
        else:
            scores = cheap
        self.last_scores = scores
        self._recent_ncc.append(scores.ncc_median)
        steady, lit_steady, lit_settled = self._steady(scores.spread, scores.brightness, tf)
        blinded, glowing = self._blinded(scores, dt)
        sudden = self._sudden(scores, tf) and not blinded
        fell = self._fell(scores.sharpness, tf)
        fell_away = self._fell_away(scores, tf, lit_settled and not glowing)
        conditions = self._conditions(scores,
                                      steady=steady and fell and lit_settled and not glowing,
                                      sudden=sudden, lit_steady=lit_steady,
                                      cells_doubtful=self._cells_doubtful(scores, tf),
                                      fell_away=fell_away)
        calm = False
        if self._active is not None:
            # The raised tamper is judged on the relaxed thresholds; but once even the strict
            # ones have been quiet for calm_clear_s, it clears regardless (a reference frozen
            # through a long tamper may sit just across a relaxed threshold afterwards).
            # (Strict but without the onset tests: a long cover is not "fog" once raised.)
            if self._conditions(scores, fell_away=fell_away)[self._active]:
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
            # Likewise while the features agree that the view has shifted a little (less than
            # a turn): a camera turned slowly must not drag the reference along.
            clean = not any(conditions.values())
            drifting = (scores.orb_inliers >= cfg.moved_inliers
                        and scores.orb_displacement >= cfg.drift_displacement
                        and scores.orb_still * 3 < scores.orb_inliers)
            tau = cfg.learn_tau_s * (1.0 if clean and not drifting else 10.0)
            rate = 1.0 - math.exp(-dt / tau) if tau > 0 else 1.0
            if self._relevel_by is not None and tf > self._relevel_by:
                self._relevel_by = None
            if (clean and self._relevel_by is not None
                    and scores.covered_fraction < cfg.cover_fraction / 2):
                self._levels_from = tf  # the first clean frame after a tamper cleared
                self._relevel_by = None
                self._ref.frames = 1
            if clean and tf < self._levels_from + cfg.warmup_s:
                # Just after a switch to IR mode or back, or a tamper cleared: the levels are
                # averaged in as at start (fine detail that appears still slower), the coarse
                # picture at its usual pace.
                self._ref.learn(feats, 1.0 / (self._ref.frames + 1), cfg.detail_up,
                                coarse_rate=rate)
            else:
                self._ref.learn(feats, rate, cfg.detail_up)
            self._ref.learn_stability(comp.ncc, rate)
            if clean:
                self._clean_thumbs.append((tf, thumbnail(small, cfg.thumb_width)))
            if clean and self._dropped_since is None:
                self._usual_ncc += (1.0 - math.exp(-dt / USUAL_TAU_S)) * (
                    scores.ncc_median - self._usual_ncc)
            if clean and not drifting and scores.ncc_median >= cfg.orb_gate_ncc:
                # Only a view the cells fully trust may become the features' key frame (on
                # a small, noisy view the features are often too few to tell a slow turn).
                self._matcher.offer_clean(small, tf)
            else:
                self._matcher.interrupt(tf)
        else:
            self._matcher.interrupt(tf)
        if any(e.phase == "cleared" for e in events):
            # The reference was frozen while the tamper was raised; the light and the
            # weather went on (fog that rolled in under a snowfall and thinned again cleared
            # a false defocus, and the stale levels raised it again at each sway of the
            # view). The levels of the view it cleared on are averaged afresh over
            # ``warmup_s`` from its first clean frame, as after a switch: one within
            # ``RELEVEL_AFTER_CLEAR_S`` that shows no sign of a cover (a partial cover first
            # raised as a defocus clears as one, and is still there).
            self._relevel_by = tf + RELEVEL_AFTER_CLEAR_S
        if any(e.kind == "moved" and e.phase == "cleared" for e in events):
            # The key frame may show the view part-way through the turn (taken before the
            # turn was doubted): the next one is the view the camera came back to.
            self._matcher.reset()
        return events

    def _mode_switched(self, colour: float | None) -> bool:
        """Track whether the picture is grey (IR mode) or colourful; True when it switched."""
        cfg = self.config
        if colour is None:
            return False
        grey = (True if colour < cfg.mono_chroma else False if colour > cfg.colour_chroma
                else self._grey)
        switched = self._grey is not None and grey is not None and grey != self._grey
        if grey is not None:
            self._grey = grey
        return switched

    def _same_view(self, s: TamperScores) -> bool:
        """The picture still shows the reference's view: every scale still there, unblurred."""
        cfg = self.config
        return (s.ncc_median >= cfg.switch_ncc and s.band_ratio >= cfg.switch_band
                and s.spread >= cfg.switch_spread)

    def _same_structure(self, s: TamperScores, f: Features) -> bool:
        """The picture shows the reference's structure though its smooth light changed shape
        (fog lit by the IR lamp's bright centre, then by flat daylight: the cells, filled
        with that shading, stop matching), unblurred and no flatter than IR makes it; and no
        light shines into it (headlights sweeping in at the switch: their glow is a passing
        light, not the new mode's, and learned as the view's shading it reads as a turn once
        they have gone)."""
        cfg = self.config
        assert self._ref is not None
        return (s.lit < cfg.glare_fraction
                and structure_correlation(self._ref.coarse, f.coarse) >= cfg.switch_structure
                and s.band_ratio >= cfg.switch_band and s.spread >= cfg.switch_spread)

    def _before(self, t: float, default: GrayU8) -> GrayU8:
        """The newest clean thumbnail taken at or before ``t`` (else the oldest one kept)."""
        best: GrayU8 | None = None
        for ts, thumb in self._clean_thumbs:
            if ts <= t or best is None:
                best = thumb
        return best if best is not None else default

    def _steady(self, spread: float, brightness: float, t: float) -> tuple[bool, bool, bool]:
        """Whether, over the last ``settle_s`` seconds, the coarse contrast has not fallen by
        more than ``defocus_steady`` and the brightness has stayed within ``light_steady``;
        and whether the brightness has stayed within it over ``defocus_light_s``."""
        cfg = self.config
        ago: tuple[float, float, float] | None = None
        for item in self._spreads:
            if item[0] <= t - cfg.settle_s:
                ago = item
        self._spreads.append((t, spread, brightness))
        keep = max(4 * cfg.settle_s + 1.0, cfg.defocus_light_s)
        while self._spreads and self._spreads[0][0] < t - keep:
            self._spreads.popleft()
        lights = [b for ts, _, b in self._spreads if ts >= t - cfg.defocus_light_s]
        settled = (min(lights) + 4.0) >= cfg.light_steady * (max(lights) + 4.0)
        if ago is None:
            return True, True, settled
        ratio = float(light_ratio(brightness, ago[2]))
        return (spread >= cfg.defocus_steady * ago[1],
                cfg.light_steady <= ratio <= 1.0 / cfg.light_steady, settled)

    def _fell(self, sharpness: float, t: float) -> bool:
        """True if the sharpness is at most ``defocus_fall`` times its highest value (each
        taken as the median of three frames) within the last ``onset_s`` seconds."""
        cfg = self.config
        self._sharpness.append((t, sharpness))
        while self._sharpness and self._sharpness[0][0] < t - cfg.onset_s:
            self._sharpness.popleft()
        v = [s for _, s in self._sharpness]
        if len(v) < 3:
            return True
        best = max(sorted(v[i - 1:i + 2])[1] for i in range(1, len(v) - 1))
        return sharpness <= cfg.defocus_fall * best

    def _blinded(self, s: TamperScores, dt: float) -> tuple[bool, bool]:
        """Whether a light holds back a cover, and a defocus: a cover while the view is
        blinded (clipped white, or headlights shining into it while the exposure pulls the
        rest down); a defocus while a light shines into ``glow_fraction`` of it, darker or
        not (a headlight's broad glow softens what it lights). Lights hold back for
        ``blind_s`` in all, a budget that refills over ``BLIND_REFILL_S`` and is spent only
        while it holds back a view that looks covered or blurred: a light flickered at the
        camera cannot keep postponing a cover or a defocus."""
        cfg = self.config
        self._blind_budget = min(cfg.blind_s,
                                 self._blind_budget + dt * cfg.blind_s / BLIND_REFILL_S)
        if self._blind_budget <= 0.0:
            return False, False
        clipped = s.noise < cfg.blind_noise and s.brightness >= cfg.blind_level
        blinded = clipped or s.glare >= cfg.glare_fraction
        glowing = clipped or s.lit >= cfg.glow_fraction
        if ((blinded and s.covered_fraction >= cfg.cover_fraction)
                or (glowing and s.sharpness <= cfg.defocus_ratio)):
            self._blind_budget -= dt
        return blinded, glowing

    def _cells_young(self, t: float) -> bool:
        """True within ``learn_tau_s`` of the start (the cells' shapes learned in ``warmup_s``)
        or of a day/night switch (the shapes, and how well they match, still the other
        mode's)."""
        young_since = max(self._relevelled_at,
                          self._started if self._started is not None else -math.inf)
        return t - young_since < self.config.learn_tau_s

    def _cells_doubtful(self, s: TamperScores, t: float) -> bool:
        """True while the cells' shapes are young (within ``learn_tau_s`` of the start, which
        learned them in ``warmup_s``, or of a day/night switch, which kept those of the other
        mode) and the features, matched against a key frame taken since, find the view where
        it was within a sway of the mount. The cells have not yet averaged the sway (a
        camera started at one end of it sees the other end as a turn), and at night the
        noise and the IR look deepen a sway's dip in their correlation."""
        cfg = self.config
        return (self._cells_young(t)
                and s.orb_inliers >= cfg.moved_inliers
                and s.orb_displacement < cfg.drift_displacement)

    def _fell_away(self, s: TamperScores, t: float, light_settled: bool) -> bool:
        """True once the stable cells have matched ``moved_drop`` worse than they usually do
        (over the last second) for ``moved_drop_s``, in settled light with no light shining
        in. While that builds up the usual match is not learned, so a drop that holds is not
        taken for the new usual. Not while the cells' shapes are young (after a start or a
        day/night switch the usual match is still that of the other mode)."""
        cfg = self.config
        low = self._usual_ncc - cfg.moved_drop
        drop = (not self._cells_young(t) and light_settled
                and s.textured >= cfg.moved_min_textured and s.ncc_median < low
                and len(self._recent_ncc) >= 3 and float(np.median(self._recent_ncc)) < low)
        if not drop:
            self._dropped_since = None
            return False
        if self._dropped_since is None:
            self._dropped_since = t
        return t - self._dropped_since >= cfg.moved_drop_s

    def _sudden(self, s: TamperScores, t: float) -> bool:
        """True if the view was clear at some time in the last ``onset_s`` seconds, or its
        clarity fell by ``onset_drop`` since and, taken at the light of each moment, by
        ``onset_drop_at_light``: the lights going down take the contrast with the brightness
        (on a view already half fogged, its clarity halves at once), a cover takes the
        contrast and adds its own light."""
        cfg = self.config
        at_light = s.clarity / float(light_ratio(s.brightness, s.ref_brightness))
        self._clarity.append((t, s.clarity, at_light))
        while self._clarity and self._clarity[0][0] < t - cfg.onset_s:
            self._clarity.popleft()
        best = max(c for _, c, _ in self._clarity)
        best_at_light = max(c for _, _, c in self._clarity)
        return best >= cfg.onset_clear or (
            best >= cfg.onset_drop * s.clarity
            and best_at_light >= cfg.onset_drop_at_light * at_light)

    def _conditions(self, s: TamperScores, keep: bool = False, steady: bool = True,
                    sudden: bool = True, lit_steady: bool = True,
                    cells_doubtful: bool = False, fell_away: bool = False
                    ) -> dict[TamperKind, bool]:
        """Which tampers the scores show. ``keep`` uses the relaxed thresholds that keep a
        raised tamper raised (hysteresis on the value, on top of the latch's on time);
        a defocus is only raised on a ``steady`` picture, a defocus or a move only in
        ``lit_steady`` light, a cover only if it came on ``sudden``-ly; the cells do not
        raise a move while ``cells_doubtful`` (the features then decide), and raise one
        when the view ``fell_away`` from how well it usually matches."""
        cfg = self.config
        k = cfg.keep_factor if keep else 1.0
        looks_covered = s.covered_fraction >= cfg.cover_fraction * k
        covered = looks_covered and (sudden or keep)
        # Features that agree on a turn only count when the cells also stopped matching:
        # a person close to the camera moving their head also carries features along.
        turned = (
            s.orb_inliers >= cfg.moved_inliers * k
            and s.orb_displacement >= cfg.moved_displacement * k
            and s.orb_still * 3 < s.orb_inliers
            and s.ncc_median < cfg.orb_gate_ncc
        )
        light = float(light_ratio(s.brightness, s.ref_brightness))  # today's against the view's
        settled_light = keep or (lit_steady and light <= cfg.flood_ratio)
        # A raised turn stays raised while the cells match clearly worse than they usually
        # do and the features do not find the view back where it was: on a small, noisy
        # view the features lose a slow turn now and then before the camera is back.
        back = (s.orb_inliers >= cfg.moved_inliers
                and s.orb_displacement < cfg.drift_displacement / 3)
        low = self._usual_ncc - cfg.moved_doubt
        doubted = (keep and not back and s.ncc_median < low and len(self._recent_ncc) > 0
                   and float(np.median(self._recent_ncc)) < low)
        cells_moved = not cells_doubtful and (
            s.stable_decorrelated >= cfg.moved_fraction * k
            or (s.ncc_median <= cfg.moved_median_ncc / k
                and s.textured >= cfg.moved_min_textured)
            or (fell_away and not keep))
        moved = not looks_covered and settled_light and (
            cells_moved
            or turned
            or doubted
        )
        # A blurred view still matches the reference at the coarse scale; a moved one not. A
        # faint blur keeps its coarse contrast (at today's light) about as well as its detail.
        faint_but_hazy = (s.sharpness > cfg.defocus_faint and s.band_ratio > cfg.defocus_faint
                          and s.clarity < cfg.defocus_clarity * s.sharpness * light)
        in_learned_light = abs(light - 1.0) <= cfg.defocus_learned_light
        band_line = cfg.defocus_learned_band if in_learned_light else cfg.defocus_max_band
        defocused = (
            not looks_covered
            and not moved
            and ((steady and settled_light) or keep)
            and s.sharpness <= (cfg.defocus_keep_ratio if keep else cfg.defocus_ratio)
            and (keep or not faint_but_hazy)
            and s.band_ratio < band_line / k
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
