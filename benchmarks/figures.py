"""Shared arithmetic of the benchmarks: the percentiles every latency figure is quoted at."""

from __future__ import annotations


def pct(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by nearest rank; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]
