"""Privacy masks: regions blacked out on the raw frame BEFORE encoding (pure numpy/OpenCV).

Owns the guarantee that a masked region is in no stream, snapshot, analytics frame or recording
(docs/privacy.md 'Privacy masks'; IoT-1005-1 5.7.1.1 collect only necessary personal data).
Coordinates are normalized (0..1 of width/height) so masks survive a change of resolution. Input is
validated with bounds (IoT-1005-1 5.5.2.1); bad input raises ValueError with a clear message.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

__all__ = ["RectMask", "PolygonMask", "Mask", "MaskSet", "MAX_MASKS", "MAX_POINTS"]

MAX_MASKS = 32
MAX_POINTS = 64


def _coord(v: object, what: str) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise ValueError(f"privacy mask {what} must be a number")
    f = float(v)
    if not 0.0 <= f <= 1.0:
        raise ValueError(f"privacy mask {what} must be within 0..1 (normalized)")
    return f


@dataclass(frozen=True, slots=True)
class RectMask:
    """Axis-aligned rectangle from (x0, y0) to (x1, y1), normalized."""

    x0: float
    y0: float
    x1: float
    y1: float

    def __post_init__(self) -> None:
        for name in ("x0", "y0", "x1", "y1"):
            _coord(getattr(self, name), name)
        if not (self.x0 < self.x1 and self.y0 < self.y1):
            raise ValueError("privacy mask rectangle needs x0 < x1 and y0 < y1")


@dataclass(frozen=True, slots=True)
class PolygonMask:
    """Filled polygon through ``points`` (normalized (x, y) pairs)."""

    points: tuple[tuple[float, float], ...]

    def __post_init__(self) -> None:
        if not 3 <= len(self.points) <= MAX_POINTS:
            raise ValueError(f"privacy mask polygon needs 3 to {MAX_POINTS} points")
        for p in self.points:
            if len(p) != 2:
                raise ValueError("privacy mask polygon points are (x, y) pairs")
            _coord(p[0], "x")
            _coord(p[1], "y")


Mask = RectMask | PolygonMask


class MaskSet:
    """An immutable set of masks with pixel geometry cached per frame size."""

    def __init__(self, masks: Iterable[Mask] = ()) -> None:
        self.masks: tuple[Mask, ...] = tuple(masks)
        if len(self.masks) > MAX_MASKS:
            raise ValueError(f"at most {MAX_MASKS} privacy masks")
        self._cache: dict[tuple[int, int], npt.NDArray[np.bool_]] = {}

    @classmethod
    def from_config(cls, items: Sequence[Mapping[str, object]]) -> MaskSet:
        """Build from config/API data.

        Each item is ``{"rect": [x0, y0, x1, y1]}`` or ``{"polygon": [[x, y], ...]}``.
        """
        if not isinstance(items, Sequence) or isinstance(items, str | bytes):
            raise ValueError("privacy masks must be a list")
        if len(items) > MAX_MASKS:
            raise ValueError(f"at most {MAX_MASKS} privacy masks")
        masks: list[Mask] = []
        for item in items:
            if not isinstance(item, Mapping) or len(item) != 1:
                raise ValueError('each privacy mask is {"rect": [...]} or {"polygon": [...]}')
            (kind, value), = item.items()
            if kind == "rect":
                if not isinstance(value, Sequence) or isinstance(value, str) or len(value) != 4:
                    raise ValueError("privacy mask rect is [x0, y0, x1, y1]")
                x0, y0, x1, y1 = (_coord(v, "coordinate") for v in value)
                masks.append(RectMask(x0, y0, x1, y1))
            elif kind == "polygon":
                if not isinstance(value, Sequence) or isinstance(value, str):
                    raise ValueError("privacy mask polygon is a list of [x, y] points")
                if len(value) > MAX_POINTS:
                    raise ValueError(f"privacy mask polygon needs 3 to {MAX_POINTS} points")
                pts = []
                for p in value:
                    if not isinstance(p, Sequence) or isinstance(p, str) or len(p) != 2:
                        raise ValueError("privacy mask polygon points are [x, y] pairs")
                    pts.append((_coord(p[0], "x"), _coord(p[1], "y")))
                masks.append(PolygonMask(tuple(pts)))
            else:
                raise ValueError(f"unknown privacy mask kind {str(kind)[:20]!r}")
        return cls(masks)

    def __bool__(self) -> bool:
        return bool(self.masks)

    def __len__(self) -> int:
        return len(self.masks)

    def coverage(self, width: int, height: int) -> npt.NDArray[np.bool_]:
        """Boolean (H, W) array, True where the picture is masked."""
        key = (width, height)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        canvas = np.zeros((height, width), dtype=np.uint8)
        for m in self.masks:
            if isinstance(m, RectMask):
                # Round outward so a mask never leaves a sliver of the region visible.
                x0, x1 = int(np.floor(m.x0 * width)), int(np.ceil(m.x1 * width))
                y0, y1 = int(np.floor(m.y0 * height)), int(np.ceil(m.y1 * height))
                canvas[y0:y1, x0:x1] = 1
            else:
                pts = np.array(
                    [[round(x * (width - 1)), round(y * (height - 1))] for x, y in m.points],
                    dtype=np.int32,
                )
                cv2.fillPoly(canvas, [pts], 1)
                cv2.polylines(canvas, [pts], True, 1, thickness=2)
        cover = canvas.astype(bool)
        if len(self._cache) > 8:
            self._cache.clear()
        self._cache[key] = cover
        return cover

    def apply(self, frame: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
        """Black out the masked regions of ``frame`` in place; returns it."""
        if self.masks:
            frame[self.coverage(frame.shape[1], frame.shape[0])] = 0
        return frame
