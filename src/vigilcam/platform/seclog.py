"""The security event log: append-only, hash-chained, keyed, verifiable.

Owns ``record()``, the one path every security event takes (named by a member of
``platform/events.py``), and ``tail()``, the one reader of records written after a position.
Serves TAICS 5.2.8.1 (security event log with full timestamp, user identity and action; shown
to the user; no unauthorised modification; retention per NIST SP 800-92), TAICS 5.2.8.2 (an
event that cannot be stored is still handed to the alert subscribers, flagged, so the owner is
told), IoT-1005-1 5.1.1.1 (the device ID in every record) and 5.6.1.1 (a torn write from a crash
is repaired at start).

Invariants:
- Record N carries ``prev`` = MAC of record N-1 and ``mac`` = HMAC-SHA256(log key, canonical
  record without ``mac``); seq increases by one. Editing, deleting, inserting or reordering a
  record breaks the chain at a named seq.
- A separate, MAC'd head file (``head.json``) holds the last committed seq and MAC, so cutting
  records off the end is found too. Once the log holds a record, a missing head is a verify
  failure, never "ok".
- The head is anchored (``platform/anchor.py``, the same anchor as the vault's version): after
  each record is durable its head is written, then the anchor is raised to its (seq, MAC). So on
  disk at every moment ``anchor <= head <= last record``. A crash or kill -9 anywhere in that
  order leaves the anchor (and at most the head) BEHIND the records; the records after the
  anchor are themselves chained, so a healthy log never looks tampered. The reverse is
  tampering: a log or head that ends BEFORE the anchor was cut, or an older head and tail were
  put back; a record at the anchored seq with another MAC means the log was replaced from there.
  Open reads the anchor first, then the head and tail, under the file lock, and resumes the
  chain at the anchor when the log ends before it, so the hole stays visible to every later
  ``verify`` (and ``open_problems`` names it for the caller to record and alert).
- Rotated files are sealed (a final ``seclog.rotated`` record) and stored encrypted
  (AES-256-GCM); files past the retention period are removed and the head keeps where the
  remaining chain starts (``first_seq``, ``first_prev``).
- Queries are served newest first from a MAC'd index of the archive files (seq range, time
  range per file), so a query with a limit or a time range decrypts only the files it needs,
  not the whole archive (TAICS 5.2.8.x: the log stays usable under a flood of records).
- CSV exports neutralise every cell a spreadsheet would run as a formula (OWASP CSV injection:
  a leading ``=``, ``+``, ``-``, ``@``, tab or carriage return), IoT-1005-1 5.5.2.1.
- Secrets never enter the log: detail keys that name one are redacted before writing.
- Persist first, then notify subscribers (the alert outbox).
- ``tail`` is the one reader of records written after a position (by this process or another):
  only whole lines, only records whose MAC verifies, each once, across rotation (the records
  sealed into the archive since the position are read from it).
- Several processes may write (the service and the CLI): each append happens under an
  exclusive file lock, after re-reading the chain tail when another process moved it, so the
  chain never forks.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import fcntl
import hashlib
import hmac
import io
import json
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from vigilcam.platform.aead import Aead, AeadError
from vigilcam.platform.anchor import Anchor, AnchorError, AnchorState
from vigilcam.platform.events import Event, event_named
from vigilcam.platform.fsutil import atomic_write, fsync_dir
from vigilcam.platform.macfile import MacFile, MacFileError

DEFAULT_RETENTION_DAYS = 365
DEFAULT_ROTATE_BYTES = 4 * 1024 * 1024
_SECRET_WORDS = ("password", "secret", "token", "credential", "passphrase", "key", "cookie")
_MAX_PENDING = 10_000
# OWASP CSV injection: a cell starting with one of these is a formula (or becomes one after a
# spreadsheet strips the tab / carriage return).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_INDEX_NAME = "index.jsonl"
_HEAD_FIELDS = ("seq", "mac", "first_seq", "first_prev")  # head.json, MAC'd (platform.macfile)
TAIL_MAX_BYTES = 8 << 20  # per tail call: a huge burst is taken in several calls


def csv_safe(value: object) -> object:
    """A cell a spreadsheet shows as text, never runs (prefixed with a single quote)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else value


def utc_timestamp(now: dt.datetime | None = None) -> str:
    now = now or dt.datetime.now(dt.UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def redact(details: dict[str, Any]) -> dict[str, Any]:
    """Drop the value of any detail whose name says it is a secret."""
    out: dict[str, Any] = {}
    for name, value in details.items():
        lowered = name.lower()
        if any(word in lowered for word in _SECRET_WORDS) and not lowered.endswith(
            ("_id", "_name", "_fingerprint", "_kind")
        ):
            out[name] = "[redacted]"
        elif isinstance(value, dict):
            out[name] = redact(value)
        else:
            out[name] = value
    return out


@dataclass
class SecurityEvent:
    seq: int
    ts: str
    device_id: str
    action: str
    result: str
    user: str | None = None
    source: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    prev: str = ""
    mac: str = ""

    def body(self) -> bytes:
        data = asdict(self)
        data.pop("mac")
        return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))


Subscriber = Callable[[SecurityEvent, bool], None]


@dataclass
class VerifyReport:
    ok: bool
    records: int
    problems: list[str]


class LogError(Exception):
    pass


@dataclass(frozen=True)
class TailPosition:
    """Where a reader of new records stands: every record up to ``seq`` is behind it, and
    ``offset`` bytes of the current file (inode ``inode``) are read."""

    seq: int = 0
    inode: int | None = None
    offset: int = 0


@dataclass
class TailRead:
    events: list[SecurityEvent]
    position: TailPosition
    refused: int = 0
    """Records whose MAC did not verify (written without the log key): not returned."""


class SecurityLog:
    def __init__(
        self,
        folder: Path,
        device_id: str,
        mac_key: bytes,
        archive_key: bytes,
        *,
        retention_days: int = DEFAULT_RETENTION_DAYS,
        rotate_bytes: int = DEFAULT_ROTATE_BYTES,
        anchor: Anchor | None = None,
    ) -> None:
        self.folder = folder
        self.device_id = device_id
        self._mac_key = mac_key
        self._archive = Aead(archive_key)
        self.retention_days = retention_days
        self.rotate_bytes = rotate_bytes
        self._lock = threading.Lock()
        self._subscribers: list[Subscriber] = []
        self._pending: list[SecurityEvent] = []
        self._last_seq = 0
        self._last_mac = ""
        self._opened = False
        self._tail_seen: tuple[int, int] | None = None
        self.repaired_tail = False
        self.anchor = anchor
        self.open_problems: list[str] = []
        """Tampering found when the log was opened (before any new record hid it)."""

    # -- files -------------------------------------------------------------------------------
    @property
    def current_file(self) -> Path:
        return self.folder / "current.jsonl"

    @property
    def head_file(self) -> Path:
        return self.folder / "head.json"

    @property
    def archive_dir(self) -> Path:
        return self.folder / "archive"

    def _mac(self, data: bytes) -> str:
        return hmac.new(self._mac_key, data, hashlib.sha256).hexdigest()

    def _head(self) -> MacFile:
        return MacFile(self.head_file, self._mac_key)

    def _read_head(self) -> dict[str, Any] | None:
        """The authenticated head; None when the file is not there."""
        try:
            fields = self._head().read()
        except MacFileError:
            raise LogError("security log head file failed authentication (edited or "
                           "replaced)") from None
        if fields is None:
            return None
        if not all(k in fields for k in _HEAD_FIELDS):
            raise LogError("security log head file is incomplete")
        return {k: fields[k] for k in _HEAD_FIELDS}

    def _head_or_default(self) -> dict[str, Any]:
        return self._read_head() or {"seq": 0, "mac": "", "first_seq": 1, "first_prev": ""}

    def _write_head(self, **changes: Any) -> None:
        head = self._head_or_default()
        head.update(changes)
        self._head().write(head)

    # -- open / repair -----------------------------------------------------------------------
    @property
    def lock_file(self) -> Path:
        return self.folder / ".lock"

    @contextlib.contextmanager
    def _file_lock(self) -> Iterator[None]:
        """Exclusive across processes; a read-only or full disk just goes without."""
        try:
            fd = os.open(self.lock_file, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:
            yield
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _tail_key(self) -> tuple[int, int] | None:
        try:
            st = self.current_file.stat()
        except OSError:
            return None
        return st.st_ino, st.st_size

    def open(self) -> None:
        """Load the chain tail; cut a torn last line left by a crash (5.6.1.1)."""
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.archive_dir.mkdir(exist_ok=True, mode=0o700)
        with self._file_lock():
            # The anchor first: anchor <= head <= tail holds at every moment on disk.
            anchored = self.anchor.read() if self.anchor is not None else None
            head = self._read_head()
            self._load_tail(repair=True)
            self.open_problems = self._check_open(head, anchored)
            if anchored is not None and anchored.seclog_seq > self._last_seq:
                # Resume at the anchor: the records cut off stay a visible hole in the chain.
                self._last_seq, self._last_mac = anchored.seclog_seq, anchored.seclog_mac
        self._opened = True

    def _holds_records(self) -> bool:
        has_current = self.current_file.exists() and self.current_file.stat().st_size > 0
        return has_current or bool(self._archive_files())

    def _check_open(self, head: dict[str, Any] | None, anchored: AnchorState | None) -> list[str]:
        """Cheap checks at open; ``verify`` walks the whole chain."""
        problems = []
        if head is None and self._holds_records():
            problems.append(f"{self.head_file.name} is missing (deleted) while the log holds "
                            "records")
        if anchored is None:
            return problems
        if anchored.seclog_seq > self._last_seq:
            problems.append(
                f"the log ends at seq {self._last_seq} but the anchor records seq "
                f"{anchored.seclog_seq}: records {self._last_seq + 1}..{anchored.seclog_seq} "
                "were cut off, or an older copy of the log was put back")
        elif head is not None and head["seq"] < anchored.seclog_seq:
            problems.append(
                f"{self.head_file.name} says seq {head['seq']} but the anchor records seq "
                f"{anchored.seclog_seq}: an older head was put back")
        return problems

    def _load_tail(self, *, repair: bool) -> None:
        head = self._head_or_default()
        self._last_seq, self._last_mac = head["seq"], head["mac"]
        last_archive = self._archive_files()[-1:] if self._archive_files() else []
        if last_archive and _archive_seq(last_archive[0]) > self._last_seq:
            # Crash after a rotation stored the archive but before the head was written.
            records = list(self._records_of(last_archive[0]))
            if records:
                self._last_seq, self._last_mac = records[-1].seq, records[-1].mac
        if self.current_file.exists():
            raw = self.current_file.read_bytes()
            good = raw[: raw.rfind(b"\n") + 1]
            lines = good.splitlines()
            while lines:
                try:
                    last = SecurityEvent(**json.loads(lines[-1]))
                    break
                except (ValueError, TypeError):
                    lines.pop()
            good = b"".join(line + b"\n" for line in lines)
            if repair and len(good) != len(raw):
                with open(self.current_file, "r+b") as fh:
                    fh.truncate(len(good))
                    os.fsync(fh.fileno())
                self.repaired_tail = True
            if lines:
                # The head is written after the record, so it may lag by one after a crash.
                if last.seq >= self._last_seq:
                    self._last_seq, self._last_mac = last.seq, last.mac
        self._tail_seen = self._tail_key()

    # -- writing -----------------------------------------------------------------------------
    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)

    def record(
        self,
        action: Event,
        *,
        result: str = "ok",
        user: str | None = None,
        source: str | None = None,
        **details: Any,
    ) -> SecurityEvent:
        """The one path for every security event: persist, then tell the subscribers.

        ``action`` must be an :class:`Event` (or its exact value): any other name raises
        :class:`~vigilcam.platform.events.UnknownEvent` before anything is written."""
        action = event_named(action)
        with self._lock, self._file_lock():
            if not self._pending and self._tail_key() != self._tail_seen:
                self._load_tail(repair=False)  # another process appended or rotated
            event = self._chain(action, result, user, source, redact(details))
            persisted = self._persist(event)
            self._tail_seen = self._tail_key()
        for subscriber in list(self._subscribers):
            subscriber(event, persisted)
        if not persisted:
            failure = SecurityEvent(
                seq=0, ts=utc_timestamp(), device_id=self.device_id,
                action=Event.SECLOG_WRITE_FAILED.value,
                result="error",
                details={"pending": len(self._pending), "lost_action": action.value},
            )
            for subscriber in list(self._subscribers):
                subscriber(failure, False)
        return event

    def _chain(
        self, action: str, result: str, user: str | None, source: str | None, details: dict
    ) -> SecurityEvent:
        if not self._opened:
            raise LogError("security log is not open")
        event = SecurityEvent(
            seq=self._last_seq + 1, ts=utc_timestamp(), device_id=self.device_id,
            action=str(action), result=result, user=user, source=source, details=details,
            prev=self._last_mac,
        )
        event.mac = self._mac(event.body())
        self._last_seq, self._last_mac = event.seq, event.mac
        return event

    def _persist(self, event: SecurityEvent) -> bool:
        self._pending.append(event)
        size_before = self.current_file.stat().st_size if self.current_file.exists() else 0
        try:
            with open(self.current_file, "a", encoding="utf-8") as fh:
                for item in self._pending:
                    fh.write(item.to_json() + "\n")
                fh.flush()
                os.fsync(fh.fileno())
        except OSError:
            # TAICS 5.2.8.2: keep the events in memory (bounded) and let the alerts go out.
            # Cut any partial write so the retry does not duplicate records.
            try:
                with open(self.current_file, "r+b") as fh:
                    fh.truncate(size_before)
            except OSError:
                pass
            del self._pending[:-_MAX_PENDING]
            return False
        self._pending.clear()
        try:
            self._write_head(seq=event.seq, mac=event.mac)
            self._advance_anchor(event)
            if self.current_file.stat().st_size >= self.rotate_bytes:
                self._rotate_locked()
        except OSError:
            return False  # the record is on disk; the head catches up with the next one
        return True

    def _advance_anchor(self, event: SecurityEvent) -> None:
        # After the record and its head are durable: anchor <= head <= records.
        if self.anchor is None:
            return
        try:
            self.anchor.advance(seclog=(event.seq, event.mac))
        except AnchorError as exc:
            # Edited while running: every caller of record() carries on, verify reports it.
            if str(exc) not in self.open_problems:
                self.open_problems.append(str(exc))

    @property
    def pending(self) -> int:
        return len(self._pending)

    # -- rotation and retention --------------------------------------------------------------
    def _archive_files(self) -> list[Path]:
        return sorted(self.archive_dir.glob("*.jsonl.enc"))

    def _rotate_locked(self) -> None:
        seal = self._chain(Event.SECLOG_ROTATED, "ok", None, None,
                           {"sealed_through": self._last_seq})
        with open(self.current_file, "a", encoding="utf-8") as fh:
            fh.write(seal.to_json() + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        plain = self.current_file.read_bytes()
        name = f"{seal.seq:012d}.jsonl.enc"
        # Archive file: nonce(12) || AES-256-GCM (``platform/aead.py``). Nonce: random per file
        # (one per rotation under the archive key). Associated data: the file name, which holds
        # the seal's seq, so an archive file renamed to another place in the chain fails.
        blob = self._archive.seal_random(plain, name.encode())
        atomic_write(self.archive_dir / name, blob, mode=0o600)
        self._index_append(name, _records_from_plain(plain, name))
        self.current_file.unlink()
        fsync_dir(self.folder)
        self._write_head(seq=seal.seq, mac=seal.mac)
        self._advance_anchor(seal)
        self._purge_locked()

    def rotate(self) -> None:
        with self._lock, self._file_lock():
            if self.current_file.exists() and self.current_file.stat().st_size:
                self._rotate_locked()

    def _purge_locked(self, now: dt.datetime | None = None) -> None:
        cutoff = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(days=self.retention_days)
        for path in self._archive_files():
            records = list(self._records_of(path))
            if not records or _parse_ts(records[-1].ts) >= cutoff:
                break
            last = records[-1]
            self._write_head(first_seq=last.seq + 1, first_prev=last.mac)
            path.unlink()

    def purge_expired(self, now: dt.datetime | None = None) -> None:
        with self._lock:
            self._purge_locked(now)

    # -- reading -----------------------------------------------------------------------------
    def _records_of(self, path: Path) -> Iterator[SecurityEvent]:
        if path.suffix == ".enc":
            try:
                plain = self._archive.open_random(path.read_bytes(), path.name.encode())
            except AeadError:
                raise LogError(f"archived log file {path.name} failed authentication") from None
        else:
            plain = path.read_bytes() if path.exists() else b""
        yield from _records_from_plain(plain, path.name)

    def _records_newest_first(self, path: Path) -> Iterator[SecurityEvent]:
        """Parse lazily from the end: a query stopping at its limit parses only what it used."""
        if path.suffix == ".enc":
            yield from reversed(list(self._records_of(path)))
            return
        lines = path.read_bytes().splitlines() if path.exists() else []
        for number in range(len(lines), 0, -1):
            try:
                yield SecurityEvent(**json.loads(lines[number - 1]))
            except (ValueError, TypeError):
                raise LogError(f"{path.name} line {number} is not a log record") from None

    # -- the archive index (query accelerator) -----------------------------------------------
    @property
    def index_file(self) -> Path:
        return self.archive_dir / _INDEX_NAME

    def _index_mac(self, entry: dict[str, Any]) -> str:
        body = json.dumps({k: entry[k] for k in sorted(entry) if k != "mac"}, sort_keys=True)
        return self._mac(b"archive-index|" + body.encode())

    def _index_append(self, name: str, events: list[SecurityEvent]) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "file": name, "records": len(events),
            "first_seq": events[0].seq if events else 0,
            "last_seq": events[-1].seq if events else 0,
            "min_ts": min((e.ts for e in events), default=""),
            "max_ts": max((e.ts for e in events), default=""),
        }
        entry["mac"] = self._index_mac(entry)
        # No fsync: a lost line is rebuilt from the archive file at the next query.
        line = (json.dumps(entry, sort_keys=True) + "\n").encode()
        with contextlib.suppress(OSError):
            fd = os.open(self.index_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line)
            finally:
                os.close(fd)
        return entry

    def _archive_index(self) -> dict[str, dict[str, Any]]:
        """name -> seq and time range of each archive file; missing entries are rebuilt."""
        index: dict[str, dict[str, Any]] = {}
        try:
            lines = self.index_file.read_text(encoding="utf-8").splitlines()
        except OSError:
            lines = []
        for line in lines:
            try:
                entry = json.loads(line)
                if hmac.compare_digest(str(entry.get("mac", "")), self._index_mac(entry)):
                    index[str(entry["file"])] = entry
            except (ValueError, TypeError, KeyError, AttributeError):
                continue  # an unauthenticated or torn line is ignored and rebuilt
        for path in self._archive_files():
            if path.name not in index:
                index[path.name] = self._index_append(path.name, list(self._records_of(path)))
        return index

    def _files(self) -> list[Path]:
        return [*self._archive_files(), self.current_file]

    def records(self) -> Iterator[SecurityEvent]:
        for path in self._files():
            yield from self._records_of(path)

    # -- following the log -------------------------------------------------------------------
    def tail_position(self) -> TailPosition:
        """The end of the log now: a reader starting here gets only records written later."""
        with self._file_lock():
            try:
                with open(self.current_file, "rb") as fh:
                    inode = os.fstat(fh.fileno()).st_ino
                    data = fh.read()
            except OSError:
                return TailPosition(self._head_or_default()["seq"])
        complete = data[: data.rfind(b"\n") + 1]
        seq = self._head_or_default()["seq"]
        for line in reversed(complete.splitlines()):
            with contextlib.suppress(ValueError, TypeError):
                seq = max(seq, SecurityEvent(**json.loads(line)).seq)
                break
        return TailPosition(seq, inode, len(complete))

    def tail(self, since: TailPosition, *, max_bytes: int = TAIL_MAX_BYTES) -> TailRead:
        """Records with seq > ``since.seq`` written after ``since``, oldest first.

        Reads whole lines of the current file from the position on (a line being written waits
        for the next call; a torn line is skipped); when the current file is not the one the
        position was in (rotated, or a position from a bare seq), the archived records after
        ``since.seq`` come first. Only records whose MAC verifies are returned.
        """
        out: list[SecurityEvent] = []
        refused = 0
        inode, offset, data = since.inode, since.offset, b""
        archives = self._archive_files()
        # The file the position was in is sealed once an archive ends at or after its seq
        # (the inode alone cannot tell: a new file may get the old one's inode). Reading from
        # the start again is always safe: records at or before ``since.seq`` are skipped.
        sealed = bool(archives) and _archive_seq(archives[-1]) >= since.seq
        try:
            with open(self.current_file, "rb") as fh:
                st = os.fstat(fh.fileno())
                if st.st_ino != since.inode or st.st_size < since.offset or sealed:
                    inode, offset = st.st_ino, 0
                fh.seek(offset)
                data = fh.read(max(0, min(st.st_size - offset, max_bytes)))
        except OSError:
            inode, offset = None, 0  # between rotation and the next record: no current file
        if inode != since.inode or offset != since.offset or sealed:
            out += self._archived_after(since.seq, archives)
        complete = data[: data.rfind(b"\n") + 1]
        for line in complete.splitlines():
            with contextlib.suppress(ValueError, TypeError):
                out.append(SecurityEvent(**json.loads(line)))
        seq, events = since.seq, []
        for event in out:
            if event.seq <= seq:
                continue
            if not hmac.compare_digest(str(event.mac), self._mac(event.body())):
                refused += 1
                continue
            events.append(event)
            seq = event.seq
        return TailRead(events, TailPosition(seq, inode, offset + len(complete)), refused)

    def _archived_after(self, seq: int, files: list[Path]) -> list[SecurityEvent]:
        """Archived records after ``seq`` (only the archive files that hold some are read)."""
        if not files or _archive_seq(files[-1]) <= seq:
            return []
        out: list[SecurityEvent] = []
        for path in files:
            if _archive_seq(path) <= seq:
                continue  # its last record (the seal) is at or before seq
            try:
                out += [e for e in self._records_of(path) if e.seq > seq]
            except (LogError, OSError):
                continue  # a damaged or vanished archive: ``verify`` reports it
        return out

    def query(
        self,
        *,
        since: str | None = None,
        until: str | None = None,
        action: str | None = None,
        user: str | None = None,
        result: str | None = None,
        before_seq: int | None = None,
        limit: int = 1000,
    ) -> list[SecurityEvent]:
        """Newest first, filtered; ``action`` matches a prefix (``auth.`` for all auth).

        Walks the files newest first and stops at ``limit``; an archive file whose seq or time
        range (from the archive index) cannot match is not decrypted at all.
        """
        out: list[SecurityEvent] = []
        if limit <= 0:
            return out
        index = self._archive_index() if self._archive_files() else {}
        for path in reversed(self._files()):
            entry = index.get(path.name)
            if entry is not None and entry["records"]:
                if since and entry["max_ts"] < since:
                    continue
                if until and entry["min_ts"] > until:
                    continue
                if before_seq is not None and entry["first_seq"] >= before_seq:
                    continue
            for event in self._records_newest_first(path):
                if not matches(event, since=since, until=until, action=action, user=user,
                               result=result, before_seq=before_seq):
                    continue
                out.append(event)
                if len(out) >= limit:
                    return out
        return out

    def export(self, fmt: str, events: list[SecurityEvent]) -> str:
        if fmt == "json":
            return json.dumps([asdict(e) for e in events], indent=1)
        if fmt == "csv":
            buf = io.StringIO()
            writer = csv.writer(buf)
            columns = ["seq", "ts", "device_id", "user", "source", "action", "result", "details"]
            writer.writerow(columns)
            for e in events:
                row = asdict(e)
                row["details"] = json.dumps(e.details, sort_keys=True)
                writer.writerow([csv_safe(row[c]) for c in columns])
            return buf.getvalue()
        raise ValueError(f"unknown export format {fmt!r} (use csv or json)")

    # -- verification ------------------------------------------------------------------------
    def verify(self) -> VerifyReport:
        """Walk the whole chain; name the first record that was edited, removed or moved, and
        check the end of the log against its head and its anchor."""
        problems: list[str] = list(self.open_problems)
        try:
            # The anchor first, then the head, then the files (anchor <= head <= records).
            anchored = self.anchor.read() if self.anchor is not None else None
            head = self._read_head()
        except (LogError, AnchorError, ValueError, KeyError, OSError) as exc:
            return VerifyReport(False, 0, [*problems, str(exc)])
        if head is None:
            if self._holds_records() or (anchored is not None and anchored.seclog_seq > 0):
                problems.append(f"{self.head_file.name} is missing (deleted): the end of the "
                                "log cannot be checked")
            head = {"seq": 0, "mac": "", "first_seq": 1, "first_prev": ""}
        expected_seq, expected_prev = head["first_seq"], head["first_prev"]
        anchored_mac = head["first_prev"] if anchored is not None and \
            anchored.seclog_seq == expected_seq - 1 else None
        count = 0
        found_before = len(problems)
        try:
            for path in self._files():
                for line_no, event in enumerate(self._records_of(path), 1):
                    count += 1
                    where = f"record seq {event.seq} ({path.name} line {line_no})"
                    if not hmac.compare_digest(event.mac, self._mac(event.body())):
                        problems.append(f"{where} was modified (MAC mismatch)")
                    elif event.seq != expected_seq:
                        kind = "missing before it" if event.seq > expected_seq else "out of order"
                        problems.append(
                            f"{where}: expected seq {expected_seq}; records {kind} "
                            "(deleted, inserted or reordered)"
                        )
                    elif event.prev != expected_prev:
                        problems.append(
                            f"{where} does not follow the previous record "
                            "(deleted, inserted or reordered)"
                        )
                    elif event.device_id != self.device_id:
                        problems.append(f"{where} belongs to another device")
                    if len(problems) > found_before:
                        return VerifyReport(False, count, problems)
                    if anchored is not None and event.seq == anchored.seclog_seq:
                        anchored_mac = event.mac
                    expected_seq, expected_prev = event.seq + 1, event.mac
        except LogError as exc:
            return VerifyReport(False, count, [*problems, str(exc)])
        last = expected_seq - 1
        if last < head["seq"]:
            problems.append(
                f"records after seq {last} up to seq {head['seq']} were deleted (log truncated)"
            )
        if anchored is not None and anchored.seclog_seq > 0:
            if last < anchored.seclog_seq:
                problems.append(
                    f"records after seq {last} up to seq {anchored.seclog_seq} were cut off: "
                    f"the anchor records seq {anchored.seclog_seq} (log truncated, or an older "
                    "copy of the log put back)")
            elif head["seq"] < anchored.seclog_seq:
                problems.append(
                    f"{self.head_file.name} says seq {head['seq']} but the anchor records seq "
                    f"{anchored.seclog_seq}: an older head was put back")
            elif anchored_mac is not None and not hmac.compare_digest(
                anchored_mac, anchored.seclog_mac
            ):
                problems.append(
                    f"record seq {anchored.seclog_seq} is not the one anchored: the log was "
                    f"replaced from seq {anchored.seclog_seq} on")
        return VerifyReport(not problems, count, problems)


def _archive_seq(path: Path) -> int:
    try:
        return int(path.name.split(".", 1)[0])
    except ValueError:
        return 0


def _records_from_plain(plain: bytes, name: str) -> list[SecurityEvent]:
    out = []
    for number, line in enumerate(plain.splitlines(), 1):
        try:
            out.append(SecurityEvent(**json.loads(line)))
        except (ValueError, TypeError):
            raise LogError(f"{name} line {number} is not a log record") from None
    return out


def matches(
    event: SecurityEvent, *, since: str | None = None, until: str | None = None,
    action: str | None = None, user: str | None = None, result: str | None = None,
    before_seq: int | None = None,
) -> bool:
    """The one filter of :meth:`SecurityLog.query` (``action`` is a prefix)."""
    return not (
        (before_seq is not None and event.seq >= before_seq)
        or (since and event.ts < since)
        or (until and event.ts > until)
        or (action and not event.action.startswith(action))
        or (user and event.user != user)
        or (result and event.result != result)
    )


def _parse_ts(ts: str) -> dt.datetime:
    return dt.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)
