"""Input checks, downscaling and the colour level of analytics frames.

Owns the contract every detector enforces on its input: a 2-D ``uint8`` grey image of a sane
size, timestamps that are finite and never go backwards, and a colour level that is a finite
number >= 0 when given; and how that colour level is measured (``grey_and_colour``: a camera
in IR mode sends none). Serves TAICS TS 5100-2-1 5.1.2.1 (the detectors behind it) and
IoT-1005-1 5.5.2.1 (bad input gets a clear error, never a crash).
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import numpy.typing as npt

GrayU8 = npt.NDArray[np.uint8]
F32 = npt.NDArray[np.float32]

MIN_SIDE = 32
MAX_SIDE = 8192


class FrameError(ValueError):
    """A frame or timestamp handed to a detector is not usable."""


def check_gray(frame: object) -> GrayU8:
    """Return ``frame`` as a C-contiguous 2-D uint8 array, or raise :class:`FrameError`."""
    if not isinstance(frame, np.ndarray):
        raise FrameError(f"frame must be a numpy array, got {type(frame).__name__}")
    if frame.dtype != np.uint8:
        raise FrameError(f"frame must have dtype uint8 (8-bit grey), got {frame.dtype}")
    if frame.ndim != 2:
        raise FrameError(
            f"frame must be a 2-D grey image (height, width), got shape {frame.shape}"
        )
    h, w = frame.shape
    if min(h, w) < MIN_SIDE or max(h, w) > MAX_SIDE:
        raise FrameError(
            f"frame size {w}x{h} is outside the supported range {MIN_SIDE}..{MAX_SIDE} pixels"
        )
    return np.ascontiguousarray(frame)


def check_time(t: object, last: float | None) -> float:
    """Return ``t`` as a float, refusing NaN/inf and time running backwards."""
    if isinstance(t, bool) or not isinstance(t, int | float):
        raise FrameError(f"timestamp must be a number of seconds, got {type(t).__name__}")
    tf = float(t)
    if not math.isfinite(tf):
        raise FrameError(f"timestamp must be finite, got {tf}")
    if last is not None and tf < last:
        raise FrameError(f"timestamp went backwards: {tf} after {last}")
    return tf


def check_colour(colour: object) -> float | None:
    """Return ``colour`` as a float (or None: the source has no colour to measure)."""
    if colour is None:
        return None
    if isinstance(colour, bool) or not isinstance(colour, int | float):
        raise FrameError(f"colour level must be a number, got {type(colour).__name__}")
    c = float(colour)
    if not math.isfinite(c) or c < 0:
        raise FrameError(f"colour level must be a finite number >= 0, got {c}")
    return c


def grey_and_colour(bgr: npt.NDArray[np.uint8]) -> tuple[GrayU8, float]:
    """The grey picture of a BGR frame and its colour level: how much its chroma (Cr, Cb)
    varies across the picture (standard deviation, grey levels, the mean of the two). A
    camera in IR (night) mode sends no colour at all: 0, whatever tint the decoder's rounding
    puts on the grey; a dim colour scene keeps some, and its sensor noise."""
    ycc = cv2.cvtColor(bgr, cv2.COLOR_BGR2YCrCb)
    _, std = cv2.meanStdDev(ycc)
    return np.ascontiguousarray(ycc[:, :, 0]), float(std[1, 0] + std[2, 0]) / 2


def downscale(frame: GrayU8, max_width: int) -> GrayU8:
    """Area-downscale ``frame`` so it is at most ``max_width`` wide (never upscales)."""
    h, w = frame.shape
    if w <= max_width:
        return frame
    nh = max(1, round(h * max_width / w))
    return np.asarray(cv2.resize(frame, (max_width, nh), interpolation=cv2.INTER_AREA), np.uint8)
