"""Motion zones and sensitivity, kept in the data dir so they survive a restart.

Owns ``motion.json``: the sensitivity (0..1) and the named zones the motion detector watches
(normalised rectangles or polygons in the privacy masks' form, ``rect`` being [x0, y0, x1, y1]);
no zone means the whole picture. Every load and save validates through ``analytics.zones.Zone``
and ``analytics.motion.MotionDetector`` (bounded input with clear errors, IoT-1005-1 5.5.2.1);
writes are atomic (5.6.1.1). Serves docs/detection.md 'Motion zones and sensitivity' and
TAICS 5.2.8.1 (changes are logged by the caller as ``config.motion_changed``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from vigilcam.analytics.motion import MotionDetector
from vigilcam.analytics.zones import Zone
from vigilcam.platform.fsutil import atomic_write

MOTION_FILE = "motion.json"
MAX_ZONES = 16
DEFAULT_SENSITIVITY = 0.5


class MotionSettingsError(Exception):
    """The saved motion settings cannot be read; the message says which file and why."""


@dataclass(frozen=True)
class MotionSettings:
    sensitivity: float = DEFAULT_SENSITIVITY
    zones: tuple[Zone, ...] = ()

    def detector(self) -> MotionDetector:
        return MotionDetector(self.zones, self.sensitivity)

    def as_json(self) -> dict[str, object]:
        return {"sensitivity": self.sensitivity, "zones": [_zone_json(z) for z in self.zones]}


def _zone_json(zone: Zone) -> dict[str, object]:
    """A rectangle is written back as ``rect`` [x0, y0, x1, y1] (the privacy-mask form)."""
    p = zone.points
    if len(p) == 4 and p[0][1] == p[1][1] and p[1][0] == p[2][0] and p[2][1] == p[3][1] \
            and p[3][0] == p[0][0] and p[0][0] < p[1][0] and p[0][1] < p[2][1]:
        return {"name": zone.name, "rect": [p[0][0], p[0][1], p[2][0], p[2][1]]}
    return {"name": zone.name, "polygon": [list(pt) for pt in p]}


def _zone(item: object) -> Zone:
    if not isinstance(item, Mapping):
        raise ValueError("each zone is an object with a name and a rect or a polygon")
    unknown = set(item) - {"name", "rect", "polygon"}
    if unknown:
        raise ValueError(f"unknown zone fields {sorted(unknown)}")
    name = item.get("name")
    if not isinstance(name, str):
        raise ValueError("each zone needs a name")
    if ("rect" in item) == ("polygon" in item):
        raise ValueError(f"zone {name!r}: give either rect [x0, y0, x1, y1] or polygon "
                         "[[x, y], ...]")
    if "rect" in item:
        rect = item["rect"]
        if not isinstance(rect, Sequence) or isinstance(rect, str) or len(rect) != 4 or not all(
                isinstance(v, int | float) and not isinstance(v, bool) for v in rect):
            raise ValueError(f"zone {name!r}: rect is [x0, y0, x1, y1], fractions 0..1")
        x0, y0, x1, y1 = (float(v) for v in rect)
        if not (x0 < x1 and y0 < y1):
            raise ValueError(f"zone {name!r}: rect needs x0 < x1 and y0 < y1")
        return Zone(name, ((x0, y0), (x1, y0), (x1, y1), (x0, y1)))
    points = item["polygon"]
    if not isinstance(points, Sequence) or isinstance(points, str) or not all(
            isinstance(p, Sequence) and not isinstance(p, str) and all(
                isinstance(v, int | float) and not isinstance(v, bool) for v in p)
            for p in points):
        raise ValueError(f"zone {name!r}: polygon is a list of [x, y] pairs, fractions 0..1")
    return Zone.polygon(name, points)


def validate(raw: object) -> MotionSettings:
    """Checked settings (raises ValueError with a message the owner can act on)."""
    if not isinstance(raw, Mapping):
        raise ValueError("motion settings are an object with sensitivity and zones")
    unknown = set(raw) - {"sensitivity", "zones"}
    if unknown:
        raise ValueError(f"unknown motion settings {sorted(unknown)}")
    sensitivity = raw.get("sensitivity", DEFAULT_SENSITIVITY)
    if isinstance(sensitivity, bool) or not isinstance(sensitivity, int | float) or not (
            math.isfinite(sensitivity) and 0 <= sensitivity <= 1):
        raise ValueError("sensitivity must be a number from 0 (least) to 1 (most)")
    items = raw.get("zones", [])
    if not isinstance(items, Sequence) or isinstance(items, str) or len(items) > MAX_ZONES:
        raise ValueError(f"zones must be a list of at most {MAX_ZONES}")
    settings = MotionSettings(float(sensitivity), tuple(_zone(z) for z in items))
    settings.detector()  # the detector's own checks (unique names) speak here, not at run time
    return settings


def load(root: Path) -> MotionSettings:
    """The saved settings (defaults when none were saved)."""
    path = root / MOTION_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return MotionSettings()
    except OSError as exc:
        raise MotionSettingsError(f"{path}: unreadable: {exc.strerror}") from None
    try:
        return validate(json.loads(text))
    except (ValueError, TypeError) as exc:
        raise MotionSettingsError(f"{path}: not valid motion settings: {exc}") from None


def save(root: Path, settings: MotionSettings) -> None:
    atomic_write(root / MOTION_FILE, json.dumps(settings.as_json(), indent=1).encode(),
                 mode=0o600)
