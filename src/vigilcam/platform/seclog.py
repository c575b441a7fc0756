"""The security event log: append-only, hash-chained, keyed, verifiable.

Owns ``record()``, the one path every security event takes. Serves TAICS 5.2.8.1 (security
event log with full timestamp, user identity and action; shown to the user; no unauthorised
modification; retention per NIST SP 800-92), TAICS 5.2.8.2 (an event that cannot be stored is
still handed to the alert subscribers, flagged, so the owner is told), IoT-1005-1 5.1.1.1 (the
device ID in every record) and 5.6.1.1 (a torn write from a crash is repaired at start).

Invariants:
- Record N carries ``prev`` = MAC of record N-1 and ``mac`` = HMAC-SHA256(log key, canonical
  record without ``mac``); seq increases by one. Editing, deleting, inserting or reordering a
  record breaks the chain at a named seq.
- A separate, MAC'd head file holds the last committed seq and MAC, so cutting records off the
  end is found too. The head is written after the record, so a crash leaves it at most one
  behind, never ahead.
- Rotated files are sealed (a final ``seclog.rotated`` record) and stored encrypted
  (AES-256-GCM); files past the retention period are removed and the head keeps the new anchor.
- Secrets never enter the log: detail keys that name one are redacted before writing.
- Persist first, then notify subscribers (the alert outbox).
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
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from vigilcam.platform.fsutil import atomic_write, fsync_dir

DEFAULT_RETENTION_DAYS = 365
DEFAULT_ROTATE_BYTES = 4 * 1024 * 1024
_SECRET_WORDS = ("password", "secret", "token", "credential", "passphrase", "key", "cookie")
_MAX_PENDING = 10_000


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
    ) -> None:
        self.folder = folder
        self.device_id = device_id
        self._mac_key = mac_key
        self._archive = AESGCM(archive_key)
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

    def _read_head(self) -> dict[str, Any]:
        if not self.head_file.exists():
            return {"seq": 0, "mac": "", "first_seq": 1, "first_prev": ""}
        raw = json.loads(self.head_file.read_text())
        body = {k: raw[k] for k in ("seq", "mac", "first_seq", "first_prev")}
        if not hmac.compare_digest(
            raw.get("hmac", ""), self._mac(json.dumps(body, sort_keys=True).encode())
        ):
            raise LogError("security log head file failed authentication (edited or replaced)")
        return body

    def _write_head(self, **changes: Any) -> None:
        head = self._read_head()
        head.update(changes)
        head["hmac"] = self._mac(json.dumps(head, sort_keys=True).encode())
        atomic_write(self.head_file, json.dumps(head).encode(), mode=0o600)

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
            self._load_tail(repair=True)
        self._opened = True

    def _load_tail(self, *, repair: bool) -> None:
        head = self._read_head()
        self._last_seq, self._last_mac = head["seq"], head["mac"]
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
        action: str,
        *,
        result: str = "ok",
        user: str | None = None,
        source: str | None = None,
        **details: Any,
    ) -> SecurityEvent:
        """The one path for every security event: persist, then tell the subscribers."""
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
                seq=0, ts=utc_timestamp(), device_id=self.device_id, action="seclog.write_failed",
                result="error", details={"pending": len(self._pending), "lost_action": action},
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
            action=action, result=result, user=user, source=source, details=details,
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
            if self.current_file.stat().st_size >= self.rotate_bytes:
                self._rotate_locked()
        except OSError:
            return False  # the record is on disk; the head catches up with the next one
        return True

    @property
    def pending(self) -> int:
        return len(self._pending)

    # -- rotation and retention --------------------------------------------------------------
    def _archive_files(self) -> list[Path]:
        return sorted(self.archive_dir.glob("*.jsonl.enc"))

    def _rotate_locked(self) -> None:
        seal = self._chain("seclog.rotated", "ok", None, None, {"sealed_through": self._last_seq})
        with open(self.current_file, "a", encoding="utf-8") as fh:
            fh.write(seal.to_json() + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        plain = self.current_file.read_bytes()
        name = f"{seal.seq:012d}.jsonl.enc"
        nonce = secrets.token_bytes(12)
        blob = nonce + self._archive.encrypt(nonce, plain, name.encode())
        atomic_write(self.archive_dir / name, blob, mode=0o600)
        self.current_file.unlink()
        fsync_dir(self.folder)
        self._write_head(seq=seal.seq, mac=seal.mac)
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
            blob = path.read_bytes()
            try:
                plain = self._archive.decrypt(blob[:12], blob[12:], path.name.encode())
            except InvalidTag:
                raise LogError(f"archived log file {path.name} failed authentication") from None
            lines = plain.splitlines()
        else:
            lines = path.read_bytes().splitlines() if path.exists() else []
        for number, line in enumerate(lines, 1):
            try:
                yield SecurityEvent(**json.loads(line))
            except (ValueError, TypeError):
                raise LogError(f"{path.name} line {number} is not a log record") from None

    def _files(self) -> list[Path]:
        return [*self._archive_files(), self.current_file]

    def records(self) -> Iterator[SecurityEvent]:
        for path in self._files():
            yield from self._records_of(path)

    def query(
        self,
        *,
        since: str | None = None,
        until: str | None = None,
        action: str | None = None,
        user: str | None = None,
        result: str | None = None,
        limit: int = 1000,
    ) -> list[SecurityEvent]:
        """Newest first, filtered; ``action`` matches a prefix (``auth.`` for all auth)."""
        out: list[SecurityEvent] = []
        for event in self.records():
            if since and event.ts < since:
                continue
            if until and event.ts > until:
                continue
            if action and not event.action.startswith(action):
                continue
            if user and event.user != user:
                continue
            if result and event.result != result:
                continue
            out.append(event)
        out.reverse()
        return out[:limit]

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
                # Neutralise spreadsheet formulas in exported cells.
                writer.writerow(
                    ["'" + str(v) if str(v)[:1] in "=+-@" else v for v in (row[c] for c in columns)]
                )
            return buf.getvalue()
        raise ValueError(f"unknown export format {fmt!r} (use csv or json)")

    # -- verification ------------------------------------------------------------------------
    def verify(self) -> VerifyReport:
        """Walk the whole chain; name the first record that was edited, removed or moved."""
        problems: list[str] = []
        try:
            head = self._read_head()
        except (LogError, ValueError, KeyError) as exc:
            return VerifyReport(False, 0, [str(exc)])
        expected_seq, expected_prev = head["first_seq"], head["first_prev"]
        count = 0
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
                    if problems:
                        return VerifyReport(False, count, problems)
                    expected_seq, expected_prev = event.seq + 1, event.mac
        except LogError as exc:
            return VerifyReport(False, count, [str(exc)])
        if expected_seq - 1 < head["seq"]:
            problems.append(
                f"records after seq {expected_seq - 1} up to seq {head['seq']} were deleted "
                "(log truncated)"
            )
        return VerifyReport(not problems, count, problems)


def _parse_ts(ts: str) -> dt.datetime:
    return dt.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)
