"""The SQLite index of recorded segments: what exists, when, where, in which state.

Owns the segment catalogue used by the timeline, playback, retention and erase. Serves
IoT-1005-1 5.6.1.1 (WAL + synchronous=FULL: a committed row survives power loss; a row is
"writing" until its file is durably in place, so restart can tell finished from torn
segments) and 5.7.1.1 (delete by range / everything).

Each segment also gets a sequence number on its stream's timeline, never reused (the
``timeline`` table keeps the next one), which the segment binds into its authenticated data
together with its start and end times (``segment_format.Timeline``): the index is the catalogue,
the segment file is the proof, and playback compares the two.

The index holds metadata only (ids, stream names, times, sizes, trigger, file names); never
video, thumbnails or keys. Times are UTC epoch seconds (float). Opened through the device's one
SQLite home (``platform.db.Database``: WAL, synchronous=FULL, file 0600, one connection guarded
by a lock, because the recorder writes from its executor thread while the web edge queries).
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from vigilcam.platform.db import Database, read_only_query
from vigilcam.recording.segment_format import Timeline

State = Literal["writing", "complete"]
TRIGGERS = frozenset({"continuous", "motion", "manual", "event", "tamper", "external"})

_SCHEMA = """
CREATE TABLE IF NOT EXISTS segments (
    id      TEXT PRIMARY KEY,
    stream  TEXT NOT NULL,
    start   REAL NOT NULL,
    "end"   REAL,
    size    INTEGER NOT NULL DEFAULT 0,
    trigger TEXT NOT NULL,
    path    TEXT NOT NULL,
    state   TEXT NOT NULL CHECK (state IN ('writing', 'complete'))
);
CREATE INDEX IF NOT EXISTS segments_stream_start ON segments (stream, start);
CREATE INDEX IF NOT EXISTS segments_start ON segments (start);
CREATE TABLE IF NOT EXISTS timeline (
    stream   TEXT PRIMARY KEY,
    next_seq INTEGER NOT NULL
);
"""


@dataclass(frozen=True)
class SegmentRecord:
    id: uuid.UUID
    stream: str
    start: float
    end: float | None
    size: int
    trigger: str
    path: str
    """File name relative to the store root (never absolute, never user-supplied)."""
    state: State
    seq: int | None = None
    """Place on the stream's timeline; None for segments of the legacy format."""

    @property
    def timeline(self) -> Timeline:
        """What the segment file must prove (start, seq, end), as the index holds it."""
        return Timeline(self.start, self.seq, self.end)

    @property
    def duration(self) -> float:
        return 0.0 if self.end is None else max(0.0, self.end - self.start)

    def to_json(self) -> dict[str, object]:
        return {
            "id": str(self.id),
            "stream": self.stream,
            "start": self.start,
            "end": self.end,
            "size": self.size,
            "trigger": self.trigger,
            "state": self.state,
            "seq": self.seq,
        }


class RecordingIndexError(Exception):
    """The index cannot be opened or is inconsistent; the message says why."""


def _row(r: tuple[object, ...]) -> SegmentRecord:
    rid, stream, start, end, size, trigger, path, state, seq = r
    return SegmentRecord(
        id=uuid.UUID(str(rid)),
        stream=str(stream),
        start=float(start),  # type: ignore[arg-type]
        end=None if end is None else float(end),  # type: ignore[arg-type]
        size=int(size),  # type: ignore[call-overload]
        trigger=str(trigger),
        path=str(path),
        state="complete" if state == "complete" else "writing",
        seq=None if seq is None else int(seq),  # type: ignore[call-overload]
    )


_COLS = 'id, stream, start, "end", size, trigger, path, state, seq'


def count_segments(path: Path) -> int | None:
    """How many segments the index at ``path`` lists, read-only (None: no readable index)."""
    rows = read_only_query(path, "SELECT COUNT(*) FROM segments")
    return None if rows is None else int(rows[0][0])


class SegmentIndex:
    """Segments catalogue. Open with a path; close explicitly (or use as a context manager)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._db = Database(path, _SCHEMA, busy_timeout_s=10.0)
            columns = {row[1] for row in self._db.query("PRAGMA table_info(segments)")}
            if "seq" not in columns:  # an index made before segments were timeline-bound
                with self._db.transaction() as conn:
                    conn.execute("ALTER TABLE segments ADD COLUMN seq INTEGER")
        except sqlite3.DatabaseError as exc:
            raise RecordingIndexError(f"recording index {path} cannot be opened: {exc}") from exc

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> SegmentIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writes -------------------------------------------------------------------------------

    def add_writing(
        self, seg_id: uuid.UUID, stream: str, start: float, trigger: str, path: str
    ) -> SegmentRecord:
        """A new row in state ``writing`` with the stream's next timeline seq (one
        transaction, so two writers never get the same seq)."""
        with self._db.transaction() as conn:
            row = conn.execute(
                "SELECT next_seq FROM timeline WHERE stream = ?", (stream,)
            ).fetchone()
            if row is None:
                (top,) = conn.execute(
                    "SELECT COALESCE(MAX(seq), 0) FROM segments WHERE stream = ?", (stream,)
                ).fetchone()
                seq = int(top) + 1
            else:
                seq = int(row[0])
            conn.execute(
                "INSERT INTO timeline (stream, next_seq) VALUES (?, ?) "
                "ON CONFLICT(stream) DO UPDATE SET next_seq = excluded.next_seq",
                (stream, seq + 1),
            )
            conn.execute(
                f"INSERT INTO segments ({_COLS}) VALUES (?, ?, ?, NULL, 0, ?, ?, 'writing', ?)",  # noqa: S608, E501 - constant columns
                (str(seg_id), stream, start, trigger, path, seq),
            )
        return SegmentRecord(seg_id, stream, start, None, 0, trigger, path, "writing", seq)

    def set_end(self, seg_id: uuid.UUID, end: float) -> None:
        """Record the end time a segment is about to be sealed with (before its file is)."""
        with self._db.transaction() as conn:
            cur = conn.execute('UPDATE segments SET "end" = ? WHERE id = ?', (end, str(seg_id)))
        if cur.rowcount != 1:
            raise RecordingIndexError(f"segment {seg_id} is not in the index")

    def mark_complete(self, seg_id: uuid.UUID, end: float, size: int) -> None:
        with self._db.transaction() as conn:
            cur = conn.execute(
                "UPDATE segments SET \"end\" = ?, size = ?, state = 'complete' WHERE id = ?",
                (end, size, str(seg_id)),
            )
        if cur.rowcount != 1:
            raise RecordingIndexError(f"segment {seg_id} is not in the index")

    def update_trigger(self, seg_id: uuid.UUID, trigger: str) -> None:
        with self._db.transaction() as conn:
            conn.execute("UPDATE segments SET trigger = ? WHERE id = ?", (trigger, str(seg_id)))

    def delete(self, seg_ids: Iterable[uuid.UUID]) -> int:
        ids = [(str(i),) for i in seg_ids]
        with self._db.transaction() as conn:
            conn.executemany("DELETE FROM segments WHERE id = ?", ids)
        return len(ids)

    def delete_all(self) -> int:
        with self._db.transaction() as conn:
            return int(conn.execute("DELETE FROM segments").rowcount)

    # -- reads --------------------------------------------------------------------------------

    def _select(self, where: str, args: tuple[object, ...]) -> list[SegmentRecord]:
        rows = self._db.query(
            f"SELECT {_COLS} FROM segments {where}",  # noqa: S608 - built from constants
            args,
        )
        return [_row(tuple(r)) for r in rows]

    def get(self, seg_id: uuid.UUID) -> SegmentRecord | None:
        rows = self._select("WHERE id = ?", (str(seg_id),))
        return rows[0] if rows else None

    def query(
        self,
        start: float | None = None,
        end: float | None = None,
        stream: str | None = None,
        *,
        include_writing: bool = False,
    ) -> list[SegmentRecord]:
        """Segments overlapping [start, end), oldest first. Open bounds when None."""
        clauses: list[str] = []
        args: list[object] = []
        if not include_writing:
            clauses.append("state = 'complete'")
        if stream is not None:
            clauses.append("stream = ?")
            args.append(stream)
        if end is not None:
            clauses.append("start < ?")
            args.append(end)
        if start is not None:
            clauses.append('COALESCE("end", start) > ?')
            args.append(start)
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        return self._select(where + " ORDER BY start, id", tuple(args))

    def writing(self) -> list[SegmentRecord]:
        return self._select("WHERE state = 'writing' ORDER BY start", ())

    def all(self) -> list[SegmentRecord]:
        return self._select("ORDER BY start, id", ())

    def total_size(self, stream: str | None = None) -> int:
        if stream is None:
            rows = self._db.query("SELECT COALESCE(SUM(size), 0) FROM segments")
        else:
            rows = self._db.query(
                "SELECT COALESCE(SUM(size), 0) FROM segments WHERE stream = ?", (stream,))
        return int(rows[0][0])
