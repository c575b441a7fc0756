"""Deleting recordings: by time range, or everything (the recording part of crypto-erase).

Owns the owner's control over recorded footage (IoT-1005-1 5.7.1.1, EN 303 645 5.11). Deleting
removes the files and index rows; on flash storage freed blocks may survive, so secrecy rests
on the keys: every segment's data key is wrapped by the master key, and once the caller
destroyed the master key (vault / factory reset) no copy of the old disk decrypts. ``erase_all``
then removes every segment file and the index so nothing, not even metadata, remains.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass

from vigilcam.platform.fsutil import fsync_dir
from vigilcam.recording.store import SegmentStore


@dataclass(frozen=True)
class DeleteReport:
    segments: int
    bytes_freed: int
    first_start: float | None
    last_end: float | None

    def to_json(self) -> dict[str, object]:
        return {
            "segments": self.segments,
            "bytes_freed": self.bytes_freed,
            "first_start": self.first_start,
            "last_end": self.last_end,
        }


def delete_range(
    store: SegmentStore, start: float, end: float, stream: str | None = None
) -> DeleteReport:
    """Delete every finished segment overlapping [start, end) (whole segments: a segment that
    only touches the range is deleted too, so nothing of the range survives)."""
    if end <= start:
        raise ValueError("delete range is empty: end must be after start")
    doomed = store.index.query(start, end, stream)
    if not doomed:
        return DeleteReport(0, 0, None, None)
    freed = store.delete(doomed)
    ends = [r.end for r in doomed if r.end is not None]
    return DeleteReport(len(doomed), freed, doomed[0].start, max(ends) if ends else None)


def erase_all(store: SegmentStore) -> DeleteReport:
    """Delete every segment (finished or not) and the index database itself.

    The store and its index are closed afterwards; the app builds new ones (with a new master
    key after a factory reset).
    """
    records = store.index.all()
    count = len(records)
    freed = 0
    if store.segments_dir.exists():
        for p in store.segments_dir.rglob("*"):
            if p.is_file():
                freed += p.stat().st_size
        shutil.rmtree(store.segments_dir)
        fsync_dir(store.segments_dir.parent)
    store.index.close()
    db = store.index.path
    for suffix in ("", "-wal", "-shm", "-journal"):
        p = db.with_name(db.name + suffix)
        if p.exists():
            freed += p.stat().st_size
            p.unlink()
    fsync_dir(db.parent)
    starts = [r.start for r in records]
    ends = [r.end for r in records if r.end is not None]
    return DeleteReport(
        count, freed, min(starts) if starts else None, max(ends) if ends else None
    )
