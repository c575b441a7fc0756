"""Detection zones: named polygons in normalised image coordinates.

Owns zone validation and rasterisation to a pixel mask. Serves docs/detection.md 'Motion zones
and sensitivity' (zones configurable per camera); zones are resolution independent so the same
configuration fits the 320x180 and 640x360 sub-streams.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

Point = tuple[float, float]
MAX_POINTS = 64


@dataclass(frozen=True)
class Zone:
    """A named polygon; points are (x, y) with 0 <= x, y <= 1 (fraction of width/height)."""

    name: str
    points: tuple[Point, ...]

    def __post_init__(self) -> None:
        if not self.name or len(self.name) > 64:
            raise ValueError("zone name must be 1..64 characters")
        if not 3 <= len(self.points) <= MAX_POINTS:
            raise ValueError(
                f"zone {self.name!r} needs 3..{MAX_POINTS} points, got {len(self.points)}"
            )
        for p in self.points:
            if len(p) != 2:
                raise ValueError(f"zone {self.name!r}: point {p!r} is not (x, y)")
            for v in p:
                if not isinstance(v, int | float) or not math.isfinite(v) or not 0 <= v <= 1:
                    raise ValueError(
                        f"zone {self.name!r}: coordinate {v!r} must be a number in 0..1"
                    )

    @classmethod
    def rect(cls, name: str, x: float, y: float, w: float, h: float) -> Zone:
        """A rectangle from its top-left corner and size, all normalised."""
        if w <= 0 or h <= 0 or x + w > 1 + 1e-9 or y + h > 1 + 1e-9:
            raise ValueError(f"zone {name!r}: rectangle ({x}, {y}, {w}, {h}) leaves the image")
        return cls(name, ((x, y), (x + w, y), (x + w, y + h), (x, y + h)))

    @classmethod
    def polygon(cls, name: str, points: Sequence[Sequence[float]]) -> Zone:
        """A polygon from a list of [x, y] pairs (as found in a config file)."""
        pts: list[Point] = []
        for p in points:
            if len(p) != 2:
                raise ValueError(f"zone {name!r}: point {p!r} is not (x, y)")
            pts.append((float(p[0]), float(p[1])))
        return cls(name, tuple(pts))

    def mask(self, height: int, width: int) -> npt.NDArray[np.bool_]:
        """The zone as a boolean pixel mask for a frame of the given size."""
        pts = np.array(
            [[round(x * (width - 1)), round(y * (height - 1))] for x, y in self.points],
            dtype=np.int32,
        )
        m = np.zeros((height, width), dtype=np.uint8)
        cv2.fillPoly(m, [pts], 1)
        return m.astype(bool)
