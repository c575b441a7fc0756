"""Privacy masks kept in the data dir, so they survive a restart.

Owns ``masks.json``: the list of normalized rectangles / polygons the media pipeline blacks out
before encoding (docs/privacy.md 'Privacy masks'; IoT-1005-1 5.7.1.1 collect only necessary
personal data).
Every load and save validates through ``media.masks.MaskSet.from_config`` (bounded input,
IoT-1005-1 5.5.2.1); writes are atomic (IoT-1005-1 5.6.1.1).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from vigilcam.media.masks import MaskSet
from vigilcam.platform.fsutil import atomic_write

MASKS_FILE = "masks.json"


class MaskStoreError(Exception):
    """The saved masks cannot be read; the message says which file and why."""


def masks_path(root: Path) -> Path:
    return root / MASKS_FILE


def validate(items: object) -> list[dict[str, object]]:
    """Checked, normalized mask list (raises ValueError with a clear message)."""
    if not isinstance(items, Sequence) or isinstance(items, str | bytes):
        raise ValueError("privacy masks must be a list")
    mask_set = MaskSet.from_config(items)
    out: list[dict[str, object]] = []
    for item in items:
        assert isinstance(item, Mapping)
        ((kind, value),) = item.items()
        if kind == "rect":
            out.append({"rect": [float(v) for v in value]})
        else:
            out.append({"polygon": [[float(p[0]), float(p[1])] for p in value]})
    assert len(out) == len(mask_set)
    return out


def load(root: Path) -> list[dict[str, object]]:
    """The saved masks (empty when none were saved)."""
    path = masks_path(root)
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise MaskStoreError(f"{path}: unreadable: {exc.strerror}") from None
    try:
        return validate(json.loads(raw))
    except (ValueError, TypeError) as exc:
        raise MaskStoreError(f"{path}: not a valid privacy mask list: {exc}") from None


def save(root: Path, items: object) -> list[dict[str, object]]:
    """Validate and store; returns what was stored."""
    clean = validate(items)
    atomic_write(masks_path(root), json.dumps(clean, indent=1).encode(), mode=0o600)
    return clean
