"""The encrypted segment store on disk: crash-safe writes, reads, deletes, recovery.

Owns where segment files live and the order of durable steps. Serves IoT-1005-1 5.6.1.1
(kill -9 / power loss loses at most the segment in progress; restart repairs or discards it
with no manual step, and says what it did), 5.4.1.2 (only ciphertext reaches the disk) and
5.7.1.1 (deletion).

Durable order of one segment (each step is safe to be interrupted):
1. index row ``writing`` (committed, synchronous=FULL) naming ``<day>/<id>.seg``, with the
   segment's seq on its stream's timeline; start time and seq go into the file's header;
2. ciphertext appended to ``<id>.seg.partial`` (created 0600, O_EXCL) as it is produced;
3. the end time is written to the index row, THEN the final chunk bound to that end time,
   ``fsync`` the file, rename to ``<id>.seg``, ``fsync`` the folder (so every file whose final
   chunk exists has its end time in the index: recovery never guesses it);
4. index row ``complete`` with size.
Every read passes the index's timeline (start, seq, end) to the format, which refuses footage
recorded at another place on the timeline (``segment_format.check_timeline``).
``recover()`` finishes any segment caught between steps: a whole ``.seg`` or a ``.partial``
whose final chunk authenticates is completed; a torn ``.partial`` is cut to its last complete
fMP4 fragment and re-encrypted under a NEW data key (never re-using a nonce) via
``<id>.seg.repair``; what cannot be saved is discarded. Every action is returned so the caller
records it as a security event.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from vigilcam.media.fmp4 import Fmp4Error
from vigilcam.platform.fsutil import fsync_dir
from vigilcam.recording import fmp4_probe
from vigilcam.recording.index import SegmentIndex, SegmentRecord
from vigilcam.recording.segment_format import (
    DEFAULT_CHUNK_SIZE,
    SegmentFormatError,
    SegmentWriter,
    Timeline,
    decrypt_all,
    decrypt_chunks,
    salvage,
)

SEGMENTS_DIR = "segments"
_SEG = ".seg"
_PARTIAL = ".partial"
_REPAIR = ".repair"

RecoveryKind = Literal["completed", "repaired", "discarded", "missing", "orphan_removed"]


@dataclass(frozen=True)
class RecoveryAction:
    """One thing ``recover()`` did; the app turns each into a security event."""

    kind: RecoveryKind
    segment_id: uuid.UUID | None
    path: str
    detail: str

    def to_json(self) -> dict[str, str]:
        return {
            "kind": self.kind,
            "segment_id": "" if self.segment_id is None else str(self.segment_id),
            "path": self.path,
            "detail": self.detail,
        }


class _FdSink:
    """Unbuffered writes that either write everything or raise (ENOSPC, EIO, EROFS...)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def write(self, data: bytes, /) -> int:
        view = memoryview(data)
        while view:
            n = os.write(self.fd, view)
            if n <= 0:
                raise OSError(errno.EIO, "short write")
            view = view[n:]
        return len(data)


Repairer = Callable[[bytes], tuple[bytes, float] | None]


def repair_fmp4(plaintext: bytes) -> tuple[bytes, float] | None:
    """Keep the complete fragments of a torn fMP4 segment; (bytes, duration) or None."""
    cut = fmp4_probe.usable_prefix(plaintext)
    if cut == 0:
        return None
    data = plaintext[:cut]
    try:
        return data, fmp4_probe.duration_seconds(data)
    except Fmp4Error:
        return None


class OpenSegment:
    """A segment being written. ``commit()`` makes it durable; ``abort()`` removes it."""

    def __init__(
        self, store: SegmentStore, record: SegmentRecord, fd: int, chunk_size: int
    ) -> None:
        self.record = record
        self._store = store
        self._fd: int | None = fd
        self._sink = _FdSink(fd)
        self._writer = SegmentWriter(
            self._sink, store.master_key, record.id, record.stream, chunk_size,
            _writer_timeline(record),
        )

    @property
    def id(self) -> uuid.UUID:
        return self.record.id

    @property
    def bytes_written(self) -> int:
        return self._writer.bytes_written

    @property
    def plaintext_size(self) -> int:
        return self._writer.plaintext_size

    def write(self, data: bytes) -> None:
        if self._fd is None:
            raise ValueError("segment is closed")
        self._writer.write(data)

    def commit(self, end: float) -> SegmentRecord:
        if self._fd is None:
            raise ValueError("segment is closed")
        self._store.index.set_end(self.record.id, end)  # before the file bound to it exists
        self._writer.finish(end)
        os.fsync(self._fd)
        os.close(self._fd)
        self._fd = None
        final = self._store.path_of(self.record)
        os.replace(_with_suffix(final, _PARTIAL), final)
        fsync_dir(final.parent)
        size = self._writer.bytes_written
        self._store.index.mark_complete(self.record.id, end, size)
        return SegmentRecord(
            self.record.id,
            self.record.stream,
            self.record.start,
            end,
            size,
            self.record.trigger,
            self.record.path,
            "complete",
            self.record.seq,
        )

    def abort(self) -> bool:
        """Remove this segment; False when that failed too (retry with ``store.discard``)."""
        if self._fd is not None:
            try:
                os.close(self._fd)
            except OSError:
                pass
            self._fd = None
        try:
            self._store.discard(self.record)
        except (OSError, sqlite3.Error):
            return False
        return True


def _writer_timeline(record: SegmentRecord) -> Timeline | None:
    """Format 2 for every row with a timeline seq; a legacy row (no seq) stays format 1."""
    return None if record.seq is None else Timeline(record.start, record.seq)


def _with_suffix(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


class SegmentStore:
    """Encrypted segment files under ``root/segments/<UTC day>/``, catalogued in ``index``."""

    def __init__(
        self,
        root: Path,
        master_key: bytes,
        index: SegmentIndex,
        *,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        repairer: Repairer = repair_fmp4,
    ) -> None:
        if len(master_key) != 32:
            raise ValueError("the recording master key must be 32 bytes (AES-256)")
        self.root = root
        self.master_key = bytes(master_key)
        self.index = index
        self.chunk_size = chunk_size
        self._repairer = repairer
        self.segments_dir = root / SEGMENTS_DIR

    # -- paths --------------------------------------------------------------------------------

    def path_of(self, record: SegmentRecord) -> Path:
        rel = Path(record.path)
        if rel.is_absolute() or ".." in rel.parts:
            raise ValueError(f"segment {record.id} has an unsafe path in the index")
        return self.segments_dir / rel

    # -- writing ------------------------------------------------------------------------------

    def open_segment(self, stream: str, start: float, trigger: str) -> OpenSegment:
        seg_id = uuid.uuid4()
        day = time.strftime("%Y-%m-%d", time.gmtime(start))
        rel = f"{day}/{seg_id}{_SEG}"
        folder = self.segments_dir / day
        if not folder.is_dir():
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            fsync_dir(folder.parent)
        record = self.index.add_writing(seg_id, stream, start, trigger, rel)
        try:
            fd = os.open(
                _with_suffix(folder / f"{seg_id}{_SEG}", _PARTIAL),
                os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0),
                0o600,
            )
        except OSError:
            self.index.delete([seg_id])
            raise
        try:
            return OpenSegment(self, record, fd, self.chunk_size)
        except BaseException:
            os.close(fd)
            try:
                self.discard(record)
            except (OSError, sqlite3.Error):
                pass  # the next recover() removes it
            raise

    # -- reading ------------------------------------------------------------------------------

    def read_chunks(self, record: SegmentRecord) -> Iterator[bytes]:
        """Authenticated plaintext chunks; raises ``SegmentFormatError`` / ``OSError``."""
        with open(self.path_of(record), "rb") as fh:
            yield from decrypt_chunks(fh, self.master_key, record.id, record.timeline)

    def read_all(self, record: SegmentRecord) -> bytes:
        """Whole authenticated plaintext; refuses footage the index places elsewhere."""
        with open(self.path_of(record), "rb") as fh:
            return decrypt_all(fh, self.master_key, record.id, record.timeline)

    # -- deleting -----------------------------------------------------------------------------

    def delete(self, records: list[SegmentRecord]) -> int:
        """Remove files then rows; returns bytes freed. A crash between leaves rows whose
        file is missing, which ``recover()`` drops."""
        freed = 0
        folders: set[Path] = set()
        for rec in records:
            path = self.path_of(rec)
            for p in (path, _with_suffix(path, _PARTIAL)):
                try:
                    freed += p.stat().st_size
                    p.unlink()
                except FileNotFoundError:
                    pass
            folders.add(path.parent)
        for folder in folders:
            if folder.is_dir():
                fsync_dir(folder)
        self.index.delete(r.id for r in records)
        self._prune_empty_days()
        return freed

    def discard(self, record: SegmentRecord) -> None:
        """Remove an unfinished segment's files and row (raises when the disk refuses)."""
        path = self.path_of(record)
        _with_suffix(path, _PARTIAL).unlink(missing_ok=True)
        _with_suffix(path, _REPAIR).unlink(missing_ok=True)
        if record.state == "writing":
            path.unlink(missing_ok=True)
        self.index.delete([record.id])

    def usage_bytes(self) -> int:
        total = 0
        if self.segments_dir.is_dir():
            for p in self.segments_dir.rglob("*"):
                if p.is_file():
                    total += p.stat().st_size
        return total

    def _prune_empty_days(self) -> None:
        if not self.segments_dir.is_dir():
            return
        for day in self.segments_dir.iterdir():
            if day.is_dir():
                try:
                    day.rmdir()
                except OSError:
                    pass

    # -- recovery -----------------------------------------------------------------------------

    def recover(self) -> list[RecoveryAction]:
        """Bring files and index back to agreement after a crash. Call with no segment open."""
        actions: list[RecoveryAction] = []
        if self.segments_dir.is_dir():
            for stray in self.segments_dir.rglob(f"*{_REPAIR}"):
                stray.unlink(missing_ok=True)
        known: set[Path] = set()
        for rec in self.index.all():
            path = self.path_of(rec)
            known.add(path)
            known.add(_with_suffix(path, _PARTIAL))
            if rec.state == "complete":
                if not path.exists():
                    self.index.delete([rec.id])
                    actions.append(
                        RecoveryAction("missing", rec.id, rec.path, "file gone; index row removed")
                    )
                continue
            actions.append(self._recover_writing(rec, path))
        if self.segments_dir.is_dir():
            for p in sorted(self.segments_dir.rglob("*")):
                if p.is_file() and p not in known:
                    p.unlink()
                    actions.append(
                        RecoveryAction(
                            "orphan_removed",
                            None,
                            str(p.relative_to(self.segments_dir)),
                            "file without index row removed",
                        )
                    )
            for folder in {p.parent for p in known}:
                if folder.is_dir():
                    fsync_dir(folder)
        self._prune_empty_days()
        return actions

    def _recover_writing(self, rec: SegmentRecord, path: Path) -> RecoveryAction:
        partial = _with_suffix(path, _PARTIAL)
        if path.exists():
            try:
                plain = self.read_all(rec)
                duration = fmp4_probe.duration_seconds(plain)
            except (SegmentFormatError, Fmp4Error) as exc:
                path.unlink()
                fsync_dir(path.parent)
                if not partial.exists():
                    return self._discard(rec, f"finished file unusable: {exc}")
            else:
                partial.unlink(missing_ok=True)
                end = rec.end if rec.seq is not None and rec.end is not None \
                    else rec.start + duration
                self.index.mark_complete(rec.id, end, path.stat().st_size)
                return RecoveryAction(
                    "completed", rec.id, rec.path, "renamed before index update; verified"
                )
        if not partial.exists():
            return self._discard(rec, "no file was written")
        try:
            with open(partial, "rb") as fh:
                saved = salvage(fh, self.master_key, end=rec.end)
        except (SegmentFormatError, OSError) as exc:
            partial.unlink(missing_ok=True)
            return self._discard(rec, f"unreadable: {exc}")
        if saved.header.segment_id != rec.id:
            partial.unlink(missing_ok=True)
            return self._discard(rec, "file holds another segment id")
        if saved.complete:
            try:
                duration = fmp4_probe.duration_seconds(saved.plaintext)
            except Fmp4Error:
                pass
            else:
                fd = os.open(partial, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
                os.replace(partial, path)
                fsync_dir(path.parent)
                end = rec.end if saved.header.version >= 2 and rec.end is not None \
                    else rec.start + duration
                self.index.mark_complete(rec.id, end, path.stat().st_size)
                return RecoveryAction(
                    "completed", rec.id, rec.path, "final chunk present; renamed"
                )
        fixed = self._repairer(saved.plaintext)
        if fixed is None:
            partial.unlink(missing_ok=True)
            fsync_dir(partial.parent)
            return self._discard(
                rec, f"no complete fragment in {len(saved.plaintext)} recovered bytes"
            )
        data, duration = fixed
        repair = _with_suffix(path, _REPAIR)
        end = rec.start + duration
        self.index.set_end(rec.id, end)  # before the file bound to it becomes the segment
        fd = os.open(repair, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            writer = SegmentWriter(
                _FdSink(fd), self.master_key, rec.id, rec.stream, self.chunk_size,
                _writer_timeline(rec),
            )
            writer.write(data)
            writer.finish(end)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(repair, path)
        fsync_dir(path.parent)
        partial.unlink()
        fsync_dir(path.parent)
        self.index.mark_complete(rec.id, end, path.stat().st_size)
        return RecoveryAction(
            "repaired",
            rec.id,
            rec.path,
            f"kept {len(data)} of {len(saved.plaintext)} recovered bytes ({duration:.2f} s)",
        )

    def _discard(self, rec: SegmentRecord, why: str) -> RecoveryAction:
        self.index.delete([rec.id])
        return RecoveryAction("discarded", rec.id, rec.path, why)


def open_store(
    root: Path, master_key: bytes, *, chunk_size: int = DEFAULT_CHUNK_SIZE
) -> SegmentStore:
    """The usual layout: ``root/index.db`` + ``root/segments/``, folders private (0700).

    Call ``recover()`` on the result before any recorder starts, and record its actions.
    """
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(root, 0o700)
    return SegmentStore(root, master_key, SegmentIndex(root / "index.db"), chunk_size=chunk_size)
