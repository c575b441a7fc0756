"""Per-frame tamper features and the slowly learned reference view they are compared with.

Owns the image measurements behind tamper detection (TAICS TS 5100-2-1 5.1.2.1). The frame is
split into a grid of cells; against a reference view that adapts slowly (so dusk, dawn and a
light switched on are learned, a tamper is not) each cell gets three numbers that separate the
tampers from each other and from normal life:

- ``contrast``: cell texture (band energy at the coarse scale, where sensor noise is averaged
  out) now / in the reference. A cover (opaque or translucent) collapses it; a lighting change
  scales it by the gain, and the brightness with it (a veil adds its own light: contrast falls
  further than brightness). ``spread`` (plain deviation ratio, noise taken out) tells a
  translucent cover from a strong blur, which keeps it.
- ``ncc``: normalised cross-correlation of the cell with the reference at the coarse scale.
  Insensitive to gain/offset (lighting), blur and small vibration; low when the camera looks
  somewhere else (moved) or the cell is covered. Each cell also keeps a ``stability`` (how
  well it usually matches) so that cells where people and traffic pass have less say.
- ``sharp``: the share of the cell's energy in the mid band (sigma 1..2 px, scaled down on a
  frame narrower than the analysis size: ``Grid.band_scale``), now / in the reference at
  the same light level (the reference's mid band scaled by the cell's texture gain, so a
  frame darker or brighter than the reference is not taken for sharper or softer).
  Turning the focus ring removes that band first while the cell keeps most of its deviation;
  lighting (gain and offset, clipped or not) and a veil scale both alike.
  ``detail`` is the plain mid-band energy ratio: a veil takes it as much as the deviation.

Sensor noise adds energy to every band, and more of it in the dark and in noise bursts; a
reference learned while the picture was noisier would make a clean frame look blurred. So each
frame's noise level is estimated (Immerkaer's operator over the flattest cells) and the share
of it each energy gets (measured once per grid on synthetic white noise) is subtracted.

Cells are weighted by the texture they had in the reference, so featureless sky or wall does
not vote. Global brightness, contrast and histogram entropy are reported as evidence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]
EPS = 1e-3
LOW_BAND_SIGMA = 1.5  # coarse pixels: the low band is the coarse picture less this blur
FEATURELESS = 0.5  # mean coarse-band texture (grey levels) below which a view is blank
NOISE_QUANTILE = 20  # percentile of the cells' noise estimates taken as the frame's noise
# Immerkaer's noise operator: blind to flat, sloped and curved shading, not to noise.
_NOISE_KERNEL = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)


@dataclass(frozen=True)
class Grid:
    """Sizes derived from the analysed frame: coarse image and cell grid."""

    coarse: tuple[int, int]  # (width, height)
    cells: tuple[int, int]  # (cols, rows)
    # Band sigmas in pixels are scaled by this: below 1 on a frame narrower than the analysis
    # size, so the mid band still sits at the same share of the picture's finest detail.
    band_scale: float = 1.0
    # What unit white noise gives: mean |Immerkaer| response, and the energy of each band.
    noise_response: float = 1.0
    noise_energy: NoiseEnergy | None = None

    @staticmethod
    def band_scale_for(w: int, analysis_width: int) -> float:
        """Band sigma scale for a frame ``w`` pixels wide. A sub-stream narrower than the
        analysis size is not upscaled, so a given defocus there is fewer pixels wide and leaves
        the mid band (sigma 1..2 px) mostly alone; the bands move finer with the fourth root of
        the size ratio (further would put them among the noise, where an error in the noise
        estimate, at the end of a noise burst, passes for a blur)."""
        return float(max(0.3, min(1.0, w / analysis_width) ** 0.25))

    @classmethod
    def for_shape(
        cls, h: int, w: int, coarse_width: int, cols: int, analysis_width: int | None = None
    ) -> Grid:
        """The grid for ``h`` x ``w`` frames; ``analysis_width`` is the width the detector
        downscales to (default ``w``: no band scaling)."""
        cw = min(coarse_width, w)
        ch = max(8, round(h * cw / w))
        rows = max(3, round(cols * h / w))
        plain = cls((cw, ch), (cols, rows), cls.band_scale_for(w, analysis_width or w))
        # Calibrate on synthetic unit noise of the analysed size (fixed seed: deterministic).
        noise = np.random.default_rng(0).normal(0.0, 1.0, (h, w)).astype(np.float32)
        bands = _bands(noise, plain)
        response = float(np.mean(np.abs(cv2.filter2D(noise, -1, _NOISE_KERNEL))))
        energy = NoiseEnergy(*(float(np.mean(b)) for b in bands[:4]))
        return cls(plain.coarse, plain.cells, plain.band_scale, response, energy)


@dataclass(frozen=True)
class NoiseEnergy:
    """Energy each measure gets from white noise of unit variance."""

    var: float  # coarse cell variance
    mid: float
    next: float
    low: float


@dataclass
class Features:
    coarse: F32  # coarse image
    cell_mean: F32
    cell_var: F32  # with the noise in it (the correlation needs it)
    texture: F32  # cell variance without its noise share
    mid: F32  # per-cell mid-band energy (analysis scale, sigma 1..2 px)
    next: F32  # per-cell energy of the next band down (analysis scale, sigma 2..3.4 px)
    low: F32  # per-cell low-band energy (coarse scale)
    mean: float
    std: float
    entropy: float
    noise: float  # estimated sensor noise (grey levels, standard deviation)


def _cells(img: F32, grid: Grid) -> F32:
    return np.asarray(cv2.resize(img, grid.cells, interpolation=cv2.INTER_AREA), np.float32)


def light_ratio(now: F32 | float, before: F32 | float) -> F32 | float:
    """Brightness now against before, with a few grey levels added to both so that the
    dark end (a black frame, sensor black level) does not make the ratio explode."""
    return (now + 4.0) / (before + 4.0)


def entropy_bits(gray: U8) -> float:
    hist = cv2.calcHist([gray], [0], None, [64], [0, 256]).ravel()
    p = hist[hist > 0] / hist.sum()
    return float(-(p * np.log2(p)).sum())


def shading(coarse: F32) -> F32:
    """The smooth light across a coarse picture (an IR lamp's bright centre, the glow of fog
    it lights): what is left when the structure (the low band) is taken out."""
    return np.asarray(cv2.GaussianBlur(coarse, (0, 0), LOW_BAND_SIGMA), np.float32)


def structure(coarse: F32) -> F32:
    """The low band of a coarse picture: its shapes without the smooth light across them."""
    return coarse - shading(coarse)


def structure_correlation(a: F32, b: F32) -> float:
    """Normalised correlation of two coarse pictures' structure over the whole picture: the
    same view in another light (its smooth shading changed) still matches, a view turned
    away by more than a few coarse pixels does not."""
    sa, sb = structure(a), structure(b)
    sa -= float(sa.mean())
    sb -= float(sb.mean())
    return float((sa * sb).sum() / (math.sqrt(float((sa * sa).sum()) * float((sb * sb).sum()))
                                    + EPS))


def _bands(a: F32, grid: Grid) -> tuple[F32, F32, F32, F32, F32, F32]:
    """Per-cell energies of ``a``: coarse variance, mid, next and low band; plus the coarse
    image and the per-cell coarse mean."""
    b1 = cv2.GaussianBlur(a, (0, 0), 1.0)
    k = grid.band_scale
    f1 = b1 if k >= 1.0 else cv2.GaussianBlur(a, (0, 0), k)
    b2 = cv2.GaussianBlur(f1, (0, 0), 1.7 * k)
    mid = f1 - b2
    nxt = b2 - cv2.GaussianBlur(b2, (0, 0), 2.8 * k)
    coarse = np.asarray(cv2.resize(b1, grid.coarse, interpolation=cv2.INTER_AREA), np.float32)
    lo = structure(coarse)
    cm = _cells(coarse, grid)
    cv = np.maximum(_cells(coarse * coarse, grid) - cm * cm, 0.0)
    return cv, _cells(mid * mid, grid), _cells(nxt * nxt, grid), _cells(lo * lo, grid), coarse, cm


def noise_sigma(a: F32, grid: Grid) -> float:
    """Sensor noise (standard deviation) of a frame: Immerkaer's estimate in each cell, and a
    low quantile of those (the flattest cells, where texture does not pass for noise)."""
    per_cell = _cells(np.abs(cv2.filter2D(a, -1, _NOISE_KERNEL)), grid)
    return float(np.percentile(per_cell, NOISE_QUANTILE)) / grid.noise_response


def measure(gray: U8, grid: Grid) -> Features:
    """Measure one analysis-sized grey frame; band energies come without their noise share."""
    a = gray.astype(np.float32)
    cv, mid, nxt, lo, coarse, cm = _bands(a, grid)
    sigma = noise_sigma(a, grid)
    tex = cv
    ne = grid.noise_energy
    if ne is not None:
        n2 = sigma * sigma
        tex = np.maximum(cv - ne.var * n2, 0.0)
        mid = np.maximum(mid - ne.mid * n2, 0.0)
        nxt = np.maximum(nxt - ne.next * n2, 0.0)
        lo = np.maximum(lo - ne.low * n2, 0.0)
    mean, std = cv2.meanStdDev(gray)
    return Features(
        coarse=coarse,
        cell_mean=cm,
        cell_var=cv,
        texture=tex,
        mid=mid,
        next=nxt,
        low=lo,
        mean=float(mean[0, 0]),
        std=float(std[0, 0]),
        entropy=entropy_bits(gray),
        noise=sigma,
    )


class Reference:
    """The learned view: exponential moving averages of the coarse image and band energies."""

    def __init__(self, first: Features) -> None:
        self.coarse = first.coarse.copy()
        self.mid = first.mid.copy()
        self.next = first.next.copy()
        self.low = first.low.copy()
        self.texture = first.texture.copy()
        self.stability = np.ones_like(first.cell_mean)
        self.mean = first.mean
        self.std = first.std
        self.entropy = first.entropy
        self.frames = 1

    @property
    def featureless(self) -> bool:
        """A blank view (all dark, all flat) gives nothing to compare a frame with."""
        return float(np.sqrt(self.low).mean()) < FEATURELESS

    def relevel(self, f: Features, grid: Grid) -> None:
        """Take the levels of ``f`` (brightness, contrast) for the same view seen in another
        light (the camera's switch to IR mode or back). The coarse picture keeps its shapes
        (and what it averaged over: a camera swaying on its mount), each cell's brightness
        and deviation set to those of ``f``; each cell's band energies are scaled by its
        texture gain, so their shares (sharpness, the band ratio) stay those learned over
        time (a switch in a snowfall does not make the flakes part of the view)."""
        rm = _cells(self.coarse, grid)
        rs = np.sqrt(np.maximum(_cells(self.coarse * self.coarse, grid) - rm * rm, 0.0))
        scale = np.minimum(np.sqrt(f.texture) / (rs + EPS), 8.0).astype(np.float32)

        def up(cells: F32) -> F32:
            return np.asarray(cv2.resize(cells, grid.coarse, interpolation=cv2.INTER_NEAREST),
                              np.float32)

        self.coarse = up(f.cell_mean) + (self.coarse - up(rm)) * up(scale)
        gain = ((f.texture + 1.0) / (self.texture + 1.0)).astype(np.float32)
        self.mid, self.next, self.low = self.mid * gain, self.next * gain, self.low * gain
        self.texture = f.texture.copy()
        self.mean, self.std, self.entropy = f.mean, f.std, f.entropy
        self.frames = 1

    def relight(self, f: Features, grid: Grid) -> None:
        """Take the light of ``f`` for the same view whose smooth shading changed shape with
        the light (the switch from IR mode in fog: the lamp's bright centre gone, the
        daylight flat). The coarse picture becomes the smooth shading of ``f`` plus the
        reference's structure (each cell's scaled by its low-band gain); the band energies
        are scaled by that gain (the texture, which the old shading filled, is taken from
        ``f``), so their shares stay those learned over time."""
        gain = ((f.low + 1.0) / (self.low + 1.0)).astype(np.float32)
        scale = np.minimum(np.sqrt(gain), 8.0)
        scale_up = np.asarray(cv2.resize(scale, grid.coarse, interpolation=cv2.INTER_LINEAR),
                              np.float32)
        self.coarse = shading(f.coarse) + structure(self.coarse) * scale_up
        self.mid, self.next, self.low = self.mid * gain, self.next * gain, self.low * gain
        self.texture = f.texture.copy()
        self.mean, self.std, self.entropy = f.mean, f.std, f.entropy
        self.frames = 1

    def learn(self, f: Features, rate: float, detail_up: float = 1.0,
              coarse_rate: float | None = None) -> None:
        """Blend ``f`` in with weight ``rate`` (0..1), the coarse picture with ``coarse_rate``
        (default ``rate``); where the mid-band energy rises, it (and the texture and next
        band it is compared with, so the ratios stay true) is blended in ``detail_up`` times
        as fast. Snow, rain and other fine transient detail add to that band; learned at
        full speed, their end would look like a blur."""
        cv2.accumulateWeighted(f.coarse, self.coarse, rate if coarse_rate is None
                               else coarse_rate)
        up = self.mid < f.mid
        k = np.where(up, rate * detail_up, rate).astype(np.float32)
        self.mid += k * (f.mid - self.mid)
        self.texture += k * (f.texture - self.texture)
        self.next += k * (f.next - self.next)
        cv2.accumulateWeighted(f.low, self.low, rate)
        self.mean += rate * (f.mean - self.mean)
        self.std += rate * (f.std - self.std)
        self.entropy += rate * (f.entropy - self.entropy)
        self.frames += 1

    def learn_stability(self, ncc: F32, rate: float) -> None:
        """Track how well each cell usually matches: moving things (people, traffic, trees)
        make a cell unstable, and unstable cells get less say in the "moved" vote."""
        cv2.accumulateWeighted(np.clip(ncc, 0.0, 1.0), self.stability, rate)


@dataclass
class Comparison:
    """Per-cell comparison of a frame with the reference, plus the cell weights."""

    weight: F32  # sums to 1
    cover_weight: F32  # by reference texture energy, sums to 1
    stable_weight: F32  # weight times stability, sums to 1
    contrast: F32  # texture energy ratio (coarse band) now / reference
    spread: F32  # plain deviation ratio now / reference
    ncc: F32
    sharp: F32  # mid-band share of the cell's energy now / in the reference
    detail: F32  # mid-band energy now / in the reference
    band: F32  # (mid / low band energy) now / reference: a blur lowers it, a veil does not
    light: F32  # cell brightness now / reference


def compare(f: Features, ref: Reference, grid: Grid) -> Comparison:
    """Compare a frame with the reference, cell by cell."""
    rm = _cells(ref.coarse, grid)
    rv = np.maximum(_cells(ref.coarse * ref.coarse, grid) - rm * rm, 0.0)
    cov = _cells(f.coarse * ref.coarse, grid) - f.cell_mean * rm
    rs = np.sqrt(rv)
    cs = np.sqrt(f.cell_var)
    ncc = cov / (rs * cs + EPS)
    # Cells with more reference texture vote more; capped so a few very busy cells cannot
    # outvote the rest of the view.
    cap = float(np.percentile(rs, 75)) + EPS
    w = np.minimum(rs, cap)
    w = (w / (w.sum() + EPS)).astype(np.float32)
    # Contrast from band energy, not plain deviation: the smooth shading across a hand or a
    # cloth at the lens has deviation but no texture.
    contrast = np.sqrt(f.low) / (np.sqrt(ref.low) + 0.5)
    cw = np.sqrt(ref.low)
    cw = np.minimum(cw, float(np.percentile(cw, 75)) + EPS)
    cw = (cw / (cw.sum() + EPS)).astype(np.float32)
    sw = w * ref.stability * ref.stability
    sw = (sw / (sw.sum() + EPS)).astype(np.float32)
    # The mid band now against what the reference's would be at today's cell texture (gain):
    # the share of the energy, with the +1 that keeps flat cells quiet taken at the same
    # gain on both sides (else a frame darker than the reference looks sharper, and the
    # light coming back after a step or an IR switch looks like a blur).
    gain = (f.texture + 1.0) / (ref.texture + 1.0)
    sharp = np.sqrt((f.mid + 1.0) / (ref.mid * gain + 1.0))
    detail = np.sqrt(f.mid / (ref.mid + 1.0))
    band = np.sqrt((f.mid / (f.next + 1.0)) / (ref.mid / (ref.next + 1.0) + EPS))
    spread = np.sqrt(f.texture) / (rs + 0.5)
    light = np.asarray(light_ratio(f.cell_mean, rm), np.float32)
    return Comparison(w, cw, sw, contrast.astype(np.float32), spread.astype(np.float32),
                      ncc.astype(np.float32),
                      sharp.astype(np.float32), detail.astype(np.float32),
                      band.astype(np.float32), light.astype(np.float32))


def weighted_quantile(values: F32, weights: F32, q: float) -> float:
    v = values.ravel()
    w = weights.ravel()
    order = np.argsort(v)
    cw = np.cumsum(w[order])
    idx = int(np.searchsorted(cw, q * cw[-1]))
    return float(v[order[min(idx, len(v) - 1)]])
