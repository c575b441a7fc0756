"""Release version comparison (IoT-1005-1 5.3.1.2: a validly signed older release is refused).

Pure. Versions are dotted numbers with an optional pre-release tail ("0.2.0", "1.0.0rc1");
anything else is refused rather than guessed.
"""

from __future__ import annotations

import re

_VERSION = re.compile(r"^(\d+(?:\.\d+){0,3})(?:(a|b|rc)(\d+))?$")
_PRE = {"a": 0, "b": 1, "rc": 2}


def parse(version: str) -> tuple[tuple[int, ...], tuple[int, int]]:
    m = _VERSION.match(version.strip())
    if not m:
        raise ValueError(f"not a release version: {version!r}")
    nums = tuple(int(p) for p in m.group(1).split("."))
    nums = nums + (0,) * (4 - len(nums))
    pre = (_PRE[m.group(2)], int(m.group(3))) if m.group(2) else (9, 0)
    return nums, pre


def is_newer(candidate: str, installed: str) -> bool:
    try:
        return parse(candidate) > parse(installed)
    except ValueError:
        return False
