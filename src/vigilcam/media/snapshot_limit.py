"""How often one user may take a snapshot, on any interface (web API, ONVIF snapshot URI).

Owns the snapshot rate limit. Serves IoT-1005-1 5.5.2.1 (bounded work per client) and TAICS
5.5.1.1 (each snapshot is a viewing, recorded by the edge that served it). One instance per
device, built by the composition root, so the web and ONVIF interfaces share one budget.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque

SNAPSHOT_BURST = 5
SNAPSHOT_WINDOW_S = 10.0


class SnapshotLimiter:
    """At most SNAPSHOT_BURST snapshots per user per SNAPSHOT_WINDOW_S."""

    def __init__(self) -> None:
        self._hits: dict[str, deque[float]] = defaultdict(deque)

    def allow(self, user: str) -> float:
        """0.0 when ``user`` may take one now (counted), else the seconds to wait."""
        now = time.monotonic()
        hits = self._hits[user]
        while hits and now - hits[0] > SNAPSHOT_WINDOW_S:
            hits.popleft()
        if len(hits) >= SNAPSHOT_BURST:
            return SNAPSHOT_WINDOW_S - (now - hits[0])
        hits.append(now)
        return 0.0
