"""Per-frame tamper features and the slowly learned reference view they are compared with.

Owns the image measurements behind tamper detection (TAICS TS 5100-2-1 5.1.2.1). The frame is
split into a grid of cells; against a reference view that adapts slowly (so dusk, dawn and a
light switched on are learned, a tamper is not) each cell gets three numbers that separate the
tampers from each other and from normal life:

- ``contrast``: cell contrast now / in the reference (coarse scale, so sensor noise is averaged
  out). A cover (opaque or translucent) collapses it; a lighting change scales it by the gain
  only (0.55 for a light switched off), so it stays above the cover threshold.
- ``ncc``: normalised cross-correlation of the cell with the reference at the coarse scale.
  Insensitive to gain/offset (lighting), blur and small vibration; low when the camera looks
  somewhere else (moved) or the cell is covered.
- ``sharp``: high-band / mid-band energy ratio (a defocus measure independent of gain) now /
  in the reference. Turning the focus ring removes the high band first, so it drops.

Cells are weighted by the contrast they had in the reference, so featureless sky or wall does
not vote. Global brightness, contrast and histogram entropy are reported as evidence.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]
EPS = 1e-3


@dataclass(frozen=True)
class Grid:
    """Sizes derived from the analysed frame: coarse image and cell grid."""

    coarse: tuple[int, int]  # (width, height)
    cells: tuple[int, int]  # (cols, rows)

    @classmethod
    def for_shape(cls, h: int, w: int, coarse_width: int, cols: int) -> Grid:
        cw = min(coarse_width, w)
        ch = max(8, round(h * cw / w))
        rows = max(3, round(cols * h / w))
        return cls((cw, ch), (cols, rows))


@dataclass
class Features:
    coarse: F32  # coarse image
    cell_mean: F32
    cell_var: F32
    mid: F32  # per-cell mid-band energy (analysis scale, sigma 1..2 px)
    low: F32  # per-cell low-band energy (coarse scale)
    mean: float
    std: float
    entropy: float


def _cells(img: F32, grid: Grid) -> F32:
    out: F32 = cv2.resize(img, grid.cells, interpolation=cv2.INTER_AREA)
    return out


def entropy_bits(gray: U8) -> float:
    hist = cv2.calcHist([gray], [0], None, [64], [0, 256]).ravel()
    p = hist[hist > 0] / hist.sum()
    return float(-(p * np.log2(p)).sum())


def measure(gray: U8, grid: Grid) -> Features:
    """Measure one analysis-sized grey frame."""
    a = gray.astype(np.float32)
    b1 = cv2.GaussianBlur(a, (0, 0), 1.0)
    b2 = cv2.GaussianBlur(b1, (0, 0), 1.7)
    mid = b1 - b2
    coarse = cv2.resize(b1, grid.coarse, interpolation=cv2.INTER_AREA)
    lo = coarse - cv2.GaussianBlur(coarse, (0, 0), 1.5)
    cm = _cells(coarse, grid)
    cv = np.maximum(_cells(coarse * coarse, grid) - cm * cm, 0.0)
    mean, std = cv2.meanStdDev(gray)
    return Features(
        coarse=coarse,
        cell_mean=cm,
        cell_var=cv,
        mid=_cells(mid * mid, grid),
        low=_cells(lo * lo, grid),
        mean=float(mean[0, 0]),
        std=float(std[0, 0]),
        entropy=entropy_bits(gray),
    )


class Reference:
    """The learned view: exponential moving averages of the coarse image and band energies."""

    def __init__(self, first: Features) -> None:
        self.coarse = first.coarse.copy()
        self.mid = first.mid.copy()
        self.low = first.low.copy()
        self.stability = np.ones_like(first.cell_mean)
        self.mean = first.mean
        self.std = first.std
        self.entropy = first.entropy
        self.frames = 1

    def learn(self, f: Features, rate: float) -> None:
        """Blend ``f`` in with weight ``rate`` (0..1)."""
        cv2.accumulateWeighted(f.coarse, self.coarse, rate)
        cv2.accumulateWeighted(f.mid, self.mid, rate)
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
    stable_weight: F32  # weight times stability, sums to 1
    contrast: F32
    ncc: F32
    sharp: F32
    gain_sharp: F32
    flow: F32  # per-cell displacement magnitude (coarse pixels) from the reference


def _norm_u8(img: F32) -> U8:
    m, sd = cv2.meanStdDev(img)
    out: U8 = np.clip((img - m[0, 0]) * (40.0 / (sd[0, 0] + 1.0)) + 128.0, 0, 255).astype(
        np.uint8
    )
    return out


def compare(f: Features, ref: Reference, grid: Grid) -> Comparison:
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
    contrast = cs / (rs + 0.5)
    sw = w * ref.stability * ref.stability
    sw = (sw / (sw.sum() + EPS)).astype(np.float32)
    sharp_now = np.sqrt(f.mid / (f.low + 1.0))
    sharp_ref = np.sqrt(ref.mid / (ref.low + 1.0))
    sharp = sharp_now / (sharp_ref + EPS)
    gain = (f.mean + 1.0) / (ref.mean + 1.0)
    gain_sharp = np.sqrt(f.mid / (ref.mid + 1.0)) / gain
    fl = cv2.calcOpticalFlowFarneback(_norm_u8(ref.coarse), _norm_u8(f.coarse), None,
                                      0.5, 3, 9, 3, 5, 1.1, 0)
    fx = _cells(np.ascontiguousarray(fl[..., 0]), grid)
    fy = _cells(np.ascontiguousarray(fl[..., 1]), grid)
    flow = np.sqrt(fx * fx + fy * fy)
    return Comparison(w, sw, contrast.astype(np.float32), ncc.astype(np.float32),
                      sharp.astype(np.float32), gain_sharp.astype(np.float32),
                      flow.astype(np.float32))


def weighted_quantile(values: F32, weights: F32, q: float) -> float:
    v = values.ravel()
    w = weights.ravel()
    order = np.argsort(v)
    cw = np.cumsum(w[order])
    idx = int(np.searchsorted(cw, q * cw[-1]))
    return float(v[order[min(idx, len(v) - 1)]])
