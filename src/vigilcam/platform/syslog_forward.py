"""Optional forwarding of the security log to a remote syslog server over TLS.

Owns sending every security event, as it is recorded, to the owner's log collector. Serves
TAICS TS 5100-2-1 5.2.8.1 (security event log retained and protected: an off-device copy the
device cannot later rewrite) and IoT-1005-1 5.4.2.1 (the channel is TLS >= 1.2 with forward
secrecy: the context comes from ``platform/tls.py``).

Wire format:
- RFC 5424 messages: facility authpriv (10), severity from the result (ok -> notice,
  failure -> warning, error -> err; seclog.write_failed -> crit), MSGID = the event action,
  structured data ``[vigilcam@32473 seq=.. device_id=.. result=.. user=.. source=..]`` and the
  whole event (with its chain MAC) as UTF-8 JSON in MSG. 32473 is the IANA example enterprise
  number (RFC 5612): replace it once the project has its own.
- Carried over TLS with RFC 5425 octet-counting framing: ``MSG-LEN SP SYSLOG-MSG``.

Invariants:
- ``offer`` (the security log's subscriber) never blocks and never raises: events wait in a
  bounded in-memory queue; when it is full the oldest is dropped and counted, and a
  ``syslog.forward_dropped`` notice with the count is sent once the link is back. The log on
  disk stays the record of truth; forwarding is a copy.
- One thread, started and stopped by the owner, does the network IO; it reconnects with
  exponential back-off (capped, no jitter: one collector, one
  camera; ``platform/backoff.py``) and re-sends the message whose send failed (at least once: the
  collector can drop duplicates by ``seq``).
"""

from __future__ import annotations

import collections
import json
import logging
import select
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from vigilcam.platform.backoff import Backoff
from vigilcam.platform.events import Event

if TYPE_CHECKING:
    from vigilcam.platform.seclog import SecurityEvent, SecurityLog

FACILITY_AUTHPRIV = 10
SD_ID = "vigilcam@32473"
APP_NAME = "vigilcam"
_SEVERITY = {"ok": 5, "failure": 4, "error": 3}
_CRITICAL = {Event.SECLOG_WRITE_FAILED}

log = logging.getLogger(__name__)


# -- pure formatting (RFC 5424 / 5425) -------------------------------------------------------
def _header_field(text: str | None, limit: int) -> str:
    """PRINTUSASCII without spaces, or the NILVALUE '-'."""
    cleaned = "".join(ch for ch in (text or "") if 33 <= ord(ch) <= 126)[:limit]
    return cleaned or "-"


def _sd_value(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def severity(event: SecurityEvent) -> int:
    if event.action in _CRITICAL:
        return 2
    return _SEVERITY.get(event.result, 5)


def format_rfc5424(event: SecurityEvent, hostname: str, procid: str = "-") -> bytes:
    """One security event as an RFC 5424 SYSLOG-MSG."""
    pri = FACILITY_AUTHPRIV * 8 + severity(event)
    params = {"seq": str(event.seq), "device_id": event.device_id, "result": event.result}
    if event.user:
        params["user"] = event.user
    if event.source:
        params["source"] = event.source
    sd = "[" + SD_ID + "".join(f' {k}="{_sd_value(v)}"' for k, v in params.items()) + "]"
    header = " ".join((
        f"<{pri}>1", _header_field(event.ts, 32), _header_field(hostname, 255),
        APP_NAME, _header_field(procid, 128), _header_field(event.action, 32), sd,
    ))
    return header.encode("ascii") + b" \xef\xbb\xbf" + event.to_json().encode("utf-8")


def frame(message: bytes) -> bytes:
    """RFC 5425 section 4.3: octet-counting framing."""
    return str(len(message)).encode("ascii") + b" " + message


class FrameError(ValueError):
    """Bytes that are not RFC 5425 octet-counted frames."""


def read_frames(buffer: bytearray, max_size: int = 65536) -> list[bytes]:
    """Take every complete frame off the front of ``buffer`` (for receivers and tests)."""
    out: list[bytes] = []
    while True:
        space = buffer.find(b" ", 0, 7)
        if space < 0:
            if len(buffer) >= 7:
                raise FrameError("no MSG-LEN at the start of the frame")
            return out
        digits = bytes(buffer[:space])
        if not digits.isdigit() or digits.startswith(b"0"):
            raise FrameError(f"bad MSG-LEN {digits[:8]!r}")
        size = int(digits)
        if size > max_size:
            raise FrameError(f"frame of {size} bytes exceeds {max_size}")
        if len(buffer) < space + 1 + size:
            return out
        out.append(bytes(buffer[space + 1 : space + 1 + size]))
        del buffer[: space + 1 + size]


# -- the forwarder -----------------------------------------------------------------------------
@dataclass(frozen=True)
class SyslogTarget:
    host: str
    port: int = 6514  # RFC 5425

    @staticmethod
    def parse(text: str) -> SyslogTarget:
        """``host``, ``host:port`` or ``[v6]:port``."""
        text = text.strip()
        if text.startswith("["):
            host, _, rest = text[1:].partition("]")
            port = rest.removeprefix(":")
        elif text.count(":") == 1:
            host, _, port = text.partition(":")
        else:
            host, port = text, ""
        if not host:
            raise ValueError(f"syslog target {text!r} has no host")
        try:
            number = int(port) if port else 6514
        except ValueError:
            raise ValueError(f"syslog target {text!r}: port must be a number") from None
        if not 0 < number < 65536:
            raise ValueError(f"syslog target {text!r}: port out of range")
        return SyslogTarget(host, number)


@dataclass
class ForwarderStatus:
    connected: bool
    queued: int
    sent: int
    dropped: int
    last_error: str


class SyslogForwarder:
    """Copies each security event to a remote syslog over TLS (RFC 5424 + RFC 5425)."""

    def __init__(
        self,
        target: SyslogTarget,
        context: ssl.SSLContext,
        *,
        hostname: str,
        server_hostname: str | None = None,
        queue_max: int = 1000,
        backoff: Backoff | None = None,
        connect_timeout: float = 10.0,
    ) -> None:
        self.target = target
        self.context = context
        self.hostname = hostname
        self.server_hostname = server_hostname or target.host
        self.queue_max = queue_max
        self.backoff = backoff or Backoff()
        self.connect_timeout = connect_timeout
        self._queue: collections.deque[bytes] = collections.deque()
        self._cond = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._conn: ssl.SSLSocket | None = None
        self._dropped_unreported = 0
        self.sent = 0
        self.dropped = 0
        self.last_error = ""

    def attach(self, seclog: SecurityLog) -> None:
        seclog.subscribe(self.offer)

    def offer(self, event: SecurityEvent, persisted: bool) -> None:
        """The security log subscriber: queue, never block, never raise."""
        try:
            message = format_rfc5424(event, self.hostname)
        except Exception:  # a malformed event must not break the log's record()
            log.exception("cannot format security event for syslog")
            return
        with self._cond:
            if self._stopping and self._thread is None:
                return
            if len(self._queue) >= self.queue_max:
                self._queue.popleft()
                self.dropped += 1
                self._dropped_unreported += 1
            self._queue.append(message)
            self._cond.notify()

    def status(self) -> ForwarderStatus:
        with self._cond:
            return ForwarderStatus(self._conn is not None, len(self._queue), self.sent,
                                   self.dropped, self.last_error)

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("syslog forwarder already started")
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="vigilcam-syslog", daemon=True)
        self._thread.start()

    def stop(self, flush_timeout: float = 2.0) -> None:
        """Send what is queued (up to ``flush_timeout`` s), then close."""
        thread = self._thread
        if thread is None:
            return
        deadline = time.monotonic() + flush_timeout
        with self._cond:
            while self._queue and self._conn is not None and time.monotonic() < deadline:
                self._cond.wait(0.05)
            self._stopping = True
            self._cond.notify_all()
        thread.join(self.connect_timeout + 1)
        self._thread = None

    # -- the thread ----------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stopping:
            message = self._next_message()
            if message is None:
                break
            if self._conn is not None and self._peer_closed(self._conn):
                self.last_error = "the collector closed the connection"
                self._close()
            if self._conn is None and not self._connect():
                self._requeue(message)
                self._sleep(self.backoff.next_delay())
                continue
            try:
                assert self._conn is not None
                self._conn.sendall(frame(message))
                self.sent += 1
            except OSError as exc:
                self.last_error = f"send failed: {exc}"
                self._requeue(message)
                self._close()
                self._sleep(self.backoff.next_delay())
        self._close()

    def _next_message(self) -> bytes | None:
        with self._cond:
            while not self._queue and not self._stopping:
                self._cond.wait(1.0)
            if self._stopping:
                return None
            if self._dropped_unreported and self._conn is not None:
                count, self._dropped_unreported = self._dropped_unreported, 0
                return self._dropped_notice(count)
            message = self._queue.popleft()
            self._cond.notify_all()
            return message

    def _dropped_notice(self, count: int) -> bytes:
        ts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        body = json.dumps({"action": Event.SYSLOG_FORWARD_DROPPED, "count": count})
        return (f"<{FACILITY_AUTHPRIV * 8 + 4}>1 {ts} {_header_field(self.hostname, 255)} "
                f"{APP_NAME} - {Event.SYSLOG_FORWARD_DROPPED.value} [{SD_ID} dropped=\"{count}\"] "
                ).encode("ascii") + b"\xef\xbb\xbf" + body.encode()

    def _requeue(self, message: bytes) -> None:
        with self._cond:
            if len(self._queue) >= self.queue_max:
                self.dropped += 1
                self._dropped_unreported += 1
                return
            self._queue.appendleft(message)

    def _connect(self) -> bool:
        try:
            raw = socket.create_connection((self.target.host, self.target.port),
                                           timeout=self.connect_timeout)
        except OSError as exc:
            self.last_error = f"connect to {self.target.host}:{self.target.port} failed: {exc}"
            return False
        try:
            conn = self.context.wrap_socket(raw, server_hostname=self.server_hostname)
        except (OSError, ssl.SSLError) as exc:
            raw.close()
            self.last_error = f"TLS with {self.target.host}:{self.target.port} failed: {exc}"
            log.warning("syslog forwarding: %s", self.last_error)
            return False
        conn.settimeout(self.connect_timeout)
        with self._cond:
            self._conn = conn
            self._cond.notify_all()
        self.backoff.reset()
        self.last_error = ""
        return True

    @staticmethod
    def _peer_closed(conn: ssl.SSLSocket) -> bool:
        """A syslog receiver never sends: anything readable means it closed or failed.

        Checked before each send, so a collector restart is noticed before a message is written
        into a dead connection (where TCP would accept it and lose it).
        """
        try:
            readable, _, _ = select.select([conn.fileno()], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(readable)

    def _close(self) -> None:
        with self._cond:
            conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except OSError:
                pass

    def _sleep(self, seconds: float) -> None:
        with self._cond:
            if not self._stopping:
                self._cond.wait(seconds)
