"""Security events that another process appended to the log while the service runs.

Owns noticing them: a command-line run beside the service (``vigilcam user add``, ``alerts
add``, an offline erase) writes to the same hash-chained log under its file lock, but the
service's subscription only sees its own writes. This reads the current log file's new
complete lines, and hands on each record the service did not itself write, so it reaches the
alert rules like any other (IoT-1005-1 5.8.1.1, TAICS 5.2.8.1: alerts on changes, whoever made
them).

A record the service wrote is announced to it by subscription right after the write; a record
seen in the file but not yet announced is held for one more poll before it is called foreign,
so a write racing with the poll is not alerted twice. A file replaced by rotation is read from
its start (records of the old file after the last poll are not re-read: they are sealed
encrypted; the start-up catch-up does not cover them either).
"""

from __future__ import annotations

import json
import os
from collections import deque
from pathlib import Path

from vigilcam.platform.seclog import SecurityEvent

OWN_MEMORY = 20_000  # seqs announced by subscription, remembered to tell own from foreign
MAX_READ = 8 << 20  # bytes per poll: a huge burst is taken in several polls


class ForeignTail:
    def __init__(self, path: Path, after_seq: int) -> None:
        self.path = path
        self.after_seq = after_seq
        self._own: set[int] = set()
        self._own_order: deque[int] = deque()
        self._held: list[SecurityEvent] = []
        try:
            st = path.stat()
            self._inode: int | None = st.st_ino
            self._offset = st.st_size
        except OSError:
            self._inode, self._offset = None, 0

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
        try:
            st = self.path.stat()
        except OSError:
            return []
        if st.st_ino != self._inode or st.st_size < self._offset:
            self._inode, self._offset = st.st_ino, 0  # rotated: a fresh file
        if st.st_size == self._offset:
            return []
        try:
            with open(self.path, "rb") as fh:
                if os.fstat(fh.fileno()).st_ino != self._inode:
                    return []  # rotated between stat and open: next poll
                fh.seek(self._offset)
                data = fh.read(min(st.st_size - self._offset, MAX_READ))
        except OSError:
            return []
        complete = data[: data.rfind(b"\n") + 1]  # a line being written waits for next poll
        self._offset += len(complete)
        out: list[SecurityEvent] = []
        for line in complete.splitlines():
            try:
                event = SecurityEvent(**json.loads(line))
            except (ValueError, TypeError):
                continue  # a torn line (repaired by the writer) is not an event
            if event.seq > self.after_seq:
                out.append(event)
                self.after_seq = event.seq
        return out
