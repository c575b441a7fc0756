"""The field conditions of the tamper benchmark: night (IR) mode, weather, glare, insects and a
diffuser over the lens, drawn with random parameters and painted onto real footage.

Owns how each condition looks in the grey sub-stream (TAICS TS 5100-2-1 5.1.2.1 evidence that
tamper detection holds where cameras really live). Imported by ``tamper_dataset``, which
places the conditions in a stream's timeline and calls the painters frame by frame.

- IR (night) mode: the scene lit by the camera's own infrared LEDs. Grey, flatter (contrast
  scaled by ``contrast``) around its own ``level``, a tone curve (``gamma``: materials reflect
  IR differently from visible light), a bright centre falling off to the corners (``hotspot``)
  and more sensor noise (``noise``). The switch is sudden (the IR-cut filter flips).
- Rain: thin slanted streaks, different every frame, and a few drops on the lens (each a small
  blurred, brightened patch). Snow: flakes drifting down, a few large out-of-focus ones close
  to the lens, and a light veil. Fog: a light veil, denser towards the top, rolling in over
  ``ramp`` seconds (tens of seconds) and clearing as slowly.
- Headlight glare: a saturating bright blob with a horizontal flare streak sweeping across the
  view in a few seconds while the exposure pulls the rest of the picture down.
- Insects: an out-of-focus blob close to the lens (dark by day, lit by the IR LEDs at night)
  wandering in front of it for a few seconds.
- A diffuser over the lens (milky bag, tape, a film of spray haze): the scene behind it blurred
  by ``blur`` (fraction of the width) and veiled by the diffuser's own light or shade with
  ``opacity`` 0.4-1.0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import cv2
import numpy as np

F32 = np.ndarray


@dataclass(frozen=True)
class IRLook:
    """How one camera's IR mode renders its scene."""

    level: float  # mean grey level the IR picture settles at
    contrast: float  # contrast scale against the daylight picture
    gamma: float
    hotspot: float  # brightness lost at the corners (0 = flat)
    noise: float  # noise factor against daylight

    @staticmethod
    def draw(rng: np.random.Generator) -> IRLook:
        return IRLook(float(rng.uniform(80, 140)), float(rng.uniform(0.5, 0.85)),
                      float(rng.uniform(0.75, 1.35)), float(rng.uniform(0.25, 0.55)),
                      float(rng.uniform(2.0, 3.5)))


@lru_cache(maxsize=8)
def _radial(w: int, h: int) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r2 = ((xx - w / 2) / (w / 2)) ** 2 + ((yy - h / 2) / (h / 2)) ** 2
    return np.asarray(r2 / 2.0, np.float32)  # 0 at the centre, 1 at the corners


def ir_look(img: F32, look: IRLook) -> F32:
    """The daylight picture ``img`` as the camera sees it in IR mode."""
    h, w = img.shape
    out = look.level + look.contrast * (img - 110.0)
    out = 255.0 * (np.clip(out, 0, 255) / 255.0) ** look.gamma
    return np.asarray(out * (1.0 - look.hotspot * _radial(w, h)), np.float32)


@dataclass
class Weather:
    """Rain, snow or fog from ``start`` to ``end``."""

    kind: str  # "rain", "snow", "fog"
    start: float
    end: float
    params: dict[str, float] = field(default_factory=dict)

    @staticmethod
    def draw(kind: str, start: float, end: float, rng: np.random.Generator) -> Weather:
        # Rain and snow set in and stop over ``ramp`` seconds, as they do; fog rolls in over
        # tens of seconds.
        p: dict[str, float] = {"seed": float(rng.integers(1 << 30)),
                               "ramp": float(rng.uniform(5, 60))}
        if kind == "rain":
            p["streaks"] = float(rng.uniform(80, 400))
            p["length"] = float(rng.uniform(0.02, 0.06))
            p["slant"] = float(rng.uniform(-0.4, 0.4))
            p["bright"] = float(rng.uniform(15, 50))
            p["drops"] = float(rng.integers(0, 6))
        elif kind == "snow":
            p["flakes"] = float(rng.uniform(100, 500))
            p["big"] = float(rng.integers(0, 5))
            p["veil"] = float(rng.uniform(0.0, 0.2))
        elif kind == "fog":
            p["density"] = float(rng.uniform(0.3, 0.75))
            p["value"] = float(rng.uniform(150, 230))
            p["ramp"] = float(rng.uniform(20, 90))
        else:
            raise ValueError(kind)
        return Weather(kind, start, end, p)


@lru_cache(maxsize=4)
def _weather_bank(kind: str, w: int, h: int, params: tuple[tuple[str, float], ...]) -> tuple:
    """Pre-drawn layers (additive brightness, and for rain the lens-drop mask), so a long
    weather span costs one lookup per frame."""
    p = dict(params)
    rng = np.random.default_rng(int(p["seed"]))
    layers = []
    for _ in range(12):
        lay = np.zeros((h, w), np.float32)
        if kind == "rain":
            n = int(p["streaks"])
            x0 = rng.uniform(0, w, n)
            y0 = rng.uniform(0, h, n)
            ln = p["length"] * w * rng.uniform(0.6, 1.4, n)
            for x, y, length, b in zip(x0, y0, ln, rng.uniform(0.5, 1.0, n), strict=True):
                x1, y1 = x + p["slant"] * length, y + length
                cv2.line(lay, (int(x), int(y)), (int(x1), int(y1)), float(b * p["bright"]), 1,
                         cv2.LINE_AA)
        else:
            n = int(p["flakes"])
            for x, y, r in zip(rng.uniform(0, w, n), rng.uniform(0, h, n),
                               rng.choice([1, 1, 1, 2], n), strict=True):
                cv2.circle(lay, (int(x), int(y)), int(r), float(rng.uniform(40, 110)), -1,
                           cv2.LINE_AA)
            for _ in range(int(p["big"])):
                c = (int(rng.uniform(0, w)), int(rng.uniform(0, h)))
                cv2.circle(lay, c, int(rng.uniform(0.03, 0.08) * w), float(rng.uniform(40, 90)),
                           -1, cv2.LINE_AA)
            lay = cv2.GaussianBlur(lay, (0, 0), 0.7)
        layers.append(lay)
    mask = np.zeros((h, w), np.float32)
    if kind == "rain":
        for _ in range(int(p["drops"])):
            c = (int(rng.uniform(0, w)), int(rng.uniform(0, h)))
            cv2.circle(mask, c, int(rng.uniform(0.03, 0.08) * w), 1.0, -1)
        mask = cv2.GaussianBlur(mask, (0, 0), 3.0)
    return layers, mask


def fog_density(wx: Weather, t: float) -> float:
    """How much of the view fog ``wx`` hides at time ``t`` (0 for rain and snow)."""
    if wx.kind != "fog":
        return 0.0
    ramp = wx.params["ramp"]
    return max(0.0, wx.params["density"] * min(1.0, (t - wx.start) / ramp, (wx.end - t) / ramp))


def paint_weather(img: F32, wx: Weather, t: float, i: int) -> F32:
    """``img`` with the weather ``wx`` at time ``t`` (frame index ``i`` picks the layer)."""
    h, w = img.shape
    p = wx.params
    if wx.kind == "fog":
        d = fog_density(wx, t)
        if d <= 0:
            return img
        prof = 1.0 - 0.3 * np.linspace(0, 1, h, dtype=np.float32)[:, None]  # denser on top
        a = d * prof
        return np.asarray(img * (1 - a) + p["value"] * a, np.float32)
    k = min(1.0, (t - wx.start) / p["ramp"], (wx.end - t) / p["ramp"])
    if k <= 0:
        return img
    layers, mask = _weather_bank(wx.kind, w, h, tuple(sorted(p.items())))
    out = img + k * layers[(i * 7 + 3) % len(layers)]
    if wx.kind == "snow" and p["veil"] > 0:
        v = k * p["veil"]
        out = out * (1 - v) + 200.0 * v
    if wx.kind == "rain" and mask.any():
        soft = cv2.GaussianBlur(out, (0, 0), 0.02 * w) + 15.0
        m = k * mask
        out = out * (1 - m) + soft * m
    return np.asarray(out, np.float32)


@dataclass
class Glare:
    """Headlights sweeping across the view."""

    start: float
    duration: float
    radius: float  # fraction of the width
    peak: float
    y: float  # fraction of the height
    left_to_right: bool
    exposure: float  # how far the rest of the picture is pulled down at the peak

    @staticmethod
    def draw(start: float, rng: np.random.Generator) -> Glare:
        return Glare(start, float(rng.uniform(1.5, 5.0)), float(rng.uniform(0.08, 0.25)),
                     float(rng.uniform(150, 400)), float(rng.uniform(0.3, 0.8)),
                     bool(rng.integers(2)), float(rng.uniform(0.0, 0.5)))


def paint_glare(img: F32, g: Glare, t: float) -> F32:
    h, w = img.shape
    u = (t - g.start) / g.duration
    u = u if g.left_to_right else 1.0 - u
    cx = (-0.2 + 1.4 * u) * w
    cy = g.y * h
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r = g.radius * w
    blob = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r))
    streak = 0.35 * np.exp(-((yy - cy) ** 2) / (2 * (0.15 * r) ** 2)) * np.exp(
        -np.abs(xx - cx) / (2.5 * r))
    light = g.peak * (blob + streak)
    seen = float(np.clip(1.2 - abs(u - 0.5) * 2.0, 0.0, 1.0))  # exposure follows the glare
    return np.asarray(img * (1.0 - g.exposure * seen) + light, np.float32)


@dataclass
class Insect:
    """Something small flying just in front of the lens: an out-of-focus blob."""

    start: float
    duration: float
    size: float  # radius, fraction of the width
    value: float  # its grey level (by day); lit by the IR LEDs at night
    x0: float
    y0: float
    vx: float
    vy: float
    wobble: float
    opacity: float

    @staticmethod
    def draw(start: float, rng: np.random.Generator) -> Insect:
        return Insect(start, float(rng.uniform(1.0, 10.0)), float(rng.uniform(0.03, 0.12)),
                      float(rng.uniform(10, 60)), float(rng.uniform(0.1, 0.9)),
                      float(rng.uniform(0.1, 0.9)), float(rng.uniform(-0.15, 0.15)),
                      float(rng.uniform(-0.15, 0.15)), float(rng.uniform(0.02, 0.1)),
                      float(rng.uniform(0.5, 0.9)))


def paint_insect(img: F32, bug: Insect, t: float, ir: bool) -> F32:
    h, w = img.shape
    s = t - bug.start
    cx = (bug.x0 + bug.vx * s + bug.wobble * math.sin(7.0 * s)) * w
    cy = (bug.y0 + bug.vy * s + bug.wobble * math.cos(5.0 * s)) * h
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r = bug.size * w
    d = ((xx - cx) ** 2 + (yy - cy) ** 2) / (r * r)
    a = np.clip((1.2 - d) / 0.5, 0, 1) * bug.opacity
    value = 255.0 - bug.value if ir else bug.value
    return np.asarray(img * (1 - a) + value * a, np.float32)


def diffuse(img: F32, layer: F32, opacity: float, blur: float) -> F32:
    """The picture through a diffuser: the scene blurred by ``blur`` (pixels) under the
    diffuser's own light (``layer``) with ``opacity``."""
    soft = cv2.GaussianBlur(img, (0, 0), max(0.3, blur)) if blur > 0.3 else img
    return np.asarray(soft * (1 - opacity) + layer * opacity, np.float32)
