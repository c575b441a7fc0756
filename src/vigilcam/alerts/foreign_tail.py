"""Security events that another process appended to the log while the service runs.

Owns noticing them: a command-line run beside the service (``vigilcam user add``, ``alerts
add``, an offline erase) writes to the same hash-chained log under its file lock, but the
service's subscription only sees its own writes. This follows the log with its one reader,
``SecurityLog.tail`` (whole, MAC-verified records after a position, across rotation), and hands
on each record the service did not itself write, so it reaches the alert rules like any other
(IoT-1005-1 5.8.1.1, TAICS 5.2.8.1: alerts on changes, whoever made them).

A record the service wrote is announced to it by subscription right after the write; a record
seen in the log but not yet announced is held for one more poll before it is called foreign,
so a write racing with the poll is not alerted twice.
"""

from __future__ import annotations

import logging
from collections import deque

from vigilcam.platform.seclog import SecurityEvent, SecurityLog, TailPosition

log = logging.getLogger("vigilcam.alerts")

OWN_MEMORY = 20_000  # seqs announced by subscription, remembered to tell own from foreign


class ForeignTail:
    def __init__(self, seclog: SecurityLog, start: TailPosition) -> None:
        """Follow ``seclog`` from ``start`` (what is before it is the catch-up's business)."""
        self.seclog = seclog
        self.position = start
        self._own: set[int] = set()
        self._own_order: deque[int] = deque()
        self._held: list[SecurityEvent] = []

    def note_own(self, seq: int) -> None:
        """The service wrote (and was told of) this record; any thread."""
        if seq <= 0:
            return
        self._own.add(seq)
        self._own_order.append(seq)
        if len(self._own_order) > OWN_MEMORY:
            self._own.discard(self._own_order.popleft())

    def poll(self) -> list[SecurityEvent]:
        """Foreign records found since the last poll (plus those held over from it)."""
        confirmed = [e for e in self._held if e.seq not in self._own]
        self._held = [e for e in self._read_new() if e.seq not in self._own]
        return confirmed

    def _read_new(self) -> list[SecurityEvent]:
        read = self.seclog.tail(self.position)
        self.position = read.position
        if read.refused:
            log.warning("%d security log records failed authentication; not alerted "
                        "(vigilcam log verify names them)", read.refused)
        return read.events
