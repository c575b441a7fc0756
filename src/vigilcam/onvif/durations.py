"""xs:duration values (``PT60S``, ``P1DT2H``, ``PT0.5S``, ``-PT1M``) as timedeltas.

Owns the reading of every duration an ONVIF client sends (PullMessages Timeout, termination
times). Pure. Serves IoT-1005-1 5.5.2.1 (bounded input: at most 64 characters, years and
months refused because their length in seconds is not defined, a clear error otherwise).
"""

from __future__ import annotations

import re
from datetime import timedelta

__all__ = ["format_duration", "parse_duration"]

_DURATION = re.compile(
    r"^(?P<sign>-)?P(?!$)(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?"
    r"(?:(?P<days>\d+)D)?(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?"
    r"(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)
_LIMIT = timedelta(days=3650)


def parse_duration(text: str) -> timedelta:
    """Parse an xs:duration; ValueError (clear message) when malformed or out of range."""
    value = text.strip()
    if len(value) > 64:
        raise ValueError("duration too long")
    m = _DURATION.match(value)
    if m is None:
        raise ValueError(f"not an xs:duration: {value[:64]!r}")
    parts = m.groupdict()
    if parts["years"] not in (None, "0") or parts["months"] not in (None, "0"):
        raise ValueError("durations in years or months are not accepted")
    try:
        delta = timedelta(
            weeks=int(parts["weeks"] or 0), days=int(parts["days"] or 0),
            hours=int(parts["hours"] or 0), minutes=int(parts["minutes"] or 0),
            seconds=float(parts["seconds"] or 0),
        )
    except OverflowError:
        raise ValueError("duration out of range") from None
    if delta > _LIMIT:
        raise ValueError("duration out of range")
    return -delta if parts["sign"] else delta


def format_duration(seconds: float) -> str:
    return f"PT{int(seconds)}S" if float(seconds).is_integer() else f"PT{seconds:.3f}S"
