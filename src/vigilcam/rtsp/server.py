"""The RTSPS server: RTSP/1.0 over TLS only, H.264 over RTP interleaved on the TLS connection.

Owns the RTSPS listener and its connections. Serves IoT-1005-1 5.4.2.1 / TAICS 5.5.2.3 (video
and credentials only inside TLS from ``vigilcam.platform.tls``; plaintext RTSP is never
offered, RTP over UDP is answered 461), 5.2.2.1 (built only when the owner enables RTSPS),
5.1.1.3 / 5.1.2.2 (``access.py``), TAICS 5.5.1.1 (each PLAY opens exactly one viewing session in
the viewer registry, closed at TEARDOWN / PAUSE / disconnect; an admin can end it; privacy mode
refuses and ends video) and 5.5.2.1 (bounded parser, header and idle
timeouts, connection limits; bad input gets an error answer and a closed socket, never a stack
trace), 5.6.1.1 (connections are accepted through ``listeners.guarded``: a per-source budget
before TLS and a handshake deadline; a connection must authenticate within ``auth_timeout``;
bare CRLFs are not activity, so they keep neither the idle nor the authentication clock
from running; docs/listeners.md).

Each PLAY's viewing session carries an admission (the stream credential, role and password
state it started with); ``vigilcam.viewers.revocation`` re-checks it and, within 1 s of the
account being disabled, its role or password changed or its credential rotated or revoked
(also by the CLI in another process), cuts the viewer through the registry.

Streams are ``rtsps://HOST:PORT/main`` and ``/sub`` (one hub each). Each viewer has its own
subscription: a slow one is dropped to the next keyframe by the hub, closed when hopeless or
when a write stays blocked ``write_timeout`` seconds; it never delays the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from vigilcam.auth.digest import NonceStore
from vigilcam.auth.permissions import Permission
from vigilcam.auth.stream_credentials import StreamCredentials
from vigilcam.listeners.budget import ConnectionBudget
from vigilcam.listeners.guarded import GuardedListener, bind_listening_socket
from vigilcam.media.hub import StreamHub, Subscription
from vigilcam.platform.tls import server_context
from vigilcam.viewers.registry import PrivacyModeOn
from vigilcam.viewers.revocation import admit

from .access import RtspAuthenticator
from .parser import (
    Interleaved,
    Limits,
    RequestReader,
    RtspError,
    RtspRequest,
    build_response,
    request_path,
)
from .rtp import RtpPacketizer, build_sdp, interleave, sender_report

__all__ = ["RtspsServer", "ServerLimits", "PUBLIC_METHODS"]

log = logging.getLogger(__name__)

PUBLIC_METHODS = "OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER, SET_PARAMETER"
PRIVACY_REASON = "Privacy Mode On"
TRACK = "trackID=0"


@dataclass(frozen=True)
class ServerLimits:
    max_connections: int = 128  # beyond it: 503; beyond it + max_per_source: refused before TLS
    max_per_source: int = 16  # IPv4 address or IPv6 /64, counted from accept (before TLS)
    handshake_timeout: float = 10.0
    auth_timeout: float = 20.0  # a connection that has not authenticated by then is closed
    header_timeout: float = 10.0  # a request must be complete this long after its first byte
    idle_timeout: float = 60.0  # no complete message (also the RTSP session timeout)
    write_timeout: float = 10.0  # media write blocked this long: the viewer is gone or stalled
    describe_wait: float = 5.0  # wait for the first keyframe of a stream that is starting
    max_auth_failures: int = 5  # per connection, then it is closed
    write_buffer_high: int = 512 * 1024
    send_buffer: int | None = None  # SO_SNDBUF per connection (None: the kernel's autotuning)
    max_queue: int = 90  # hub queue per viewer (packets)
    start_at_last_keyframe: bool = False  # faster first frame, up to one GOP behind live
    report_interval: float = 5.0  # RTCP sender report (access: viewers/revocation.py)
    parser: Limits = Limits()


def _stream_of(path: str) -> tuple[str, bool] | None:
    """("main", has_track) for "/main", "/main/" or "/main/trackID=0"; None otherwise."""
    parts = [p for p in path.split("/") if p]
    if len(parts) == 1:
        return parts[0], False
    if len(parts) == 2 and parts[1] == TRACK:
        return parts[0], True
    return None


def _parse_transport(value: str) -> tuple[int, int] | None:
    """Interleaved channels of the first TCP transport offered, or None (461)."""
    for spec in value.split(","):
        fields = [f.strip() for f in spec.split(";") if f.strip()]
        if not fields or fields[0].upper() != "RTP/AVP/TCP":
            continue
        if any(f.lower() == "multicast" for f in fields):
            continue
        for f in fields[1:]:
            key, _, val = f.partition("=")
            if key.lower() != "interleaved":
                continue
            lo, _, hi = val.partition("-")
            if not lo.isdigit() or (hi and not hi.isdigit()) or len(lo) > 3 or len(hi) > 3:
                return None
            a = int(lo)
            b = int(hi) if hi else a + 1
            if a > 254 or b > 255:
                return None
            return a, b
        return 0, 1
    return None


class _Connection:
    """One TLS connection: reads requests in order, and after PLAY sends the stream."""

    def __init__(self, server: RtspsServer, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:
        self.server = server
        self.reader = reader
        self.writer = writer
        peer = writer.get_extra_info("peername")
        self.source = str(peer[0]) if peer else "unknown"
        self.binding = secrets.token_hex(12)
        self.requests = RequestReader(server.limits.parser)
        self.nonces: list[str] = []
        self.user: str | None = None
        self.session_id: str | None = None
        self.stream: str | None = None
        self.channels = (0, 1)
        self.viewing: Any = None
        self.subscription: Subscription | None = None
        self.sender: asyncio.Task[None] | None = None
        self.packetizer: RtpPacketizer | None = None
        self.credential: str | None = None
        self.auth_failures = 0
        self.closing = False
        self.close_reason = "disconnected"
        self.started = time.monotonic()

    # -- lifecycle ----------------------------------------------------------------------------

    async def run(self) -> None:
        try:
            await self._read_loop()
        except (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError, OSError):
            pass
        except asyncio.CancelledError:
            self.close_reason = "server stopping"
        except Exception:  # never a crash: log here, nothing to the client
            log.exception("RTSPS connection from %s failed", self.source)
            self.close_reason = "internal error"
        finally:
            await self._cleanup()

    async def _read_loop(self) -> None:
        limits = self.server.limits
        partial_since: float | None = None
        last_message = self.started  # bytes that complete no message (bare CRLFs) do not count
        while not self.closing:
            now = time.monotonic()
            if self.requests.buffered:
                partial_since = partial_since or now
                deadline, why = partial_since + limits.header_timeout, "header timeout"
            else:
                partial_since = None
                deadline, why = last_message + limits.idle_timeout, "idle timeout"
            if self.user is None and self.started + limits.auth_timeout < deadline:
                deadline, why = self.started + limits.auth_timeout, "authentication timeout"
            try:
                data = await asyncio.wait_for(self.reader.read(65536), max(0.0, deadline - now))
            except TimeoutError:
                self.close_reason = why
                return
            if not data:
                return
            self.requests.feed(data)
            try:
                for msg in self.requests.drain():
                    partial_since = None  # a message completed: the next one starts its clock
                    last_message = time.monotonic()
                    if isinstance(msg, Interleaved):
                        continue  # RTCP receiver reports: liveness only
                    await self._handle(msg)
                    if self.closing:
                        return
            except RtspError as exc:
                await self._refuse(exc)
                return

    def close_soon(self, reason: str) -> None:
        """Cut the connection (admin end, privacy mode, revoked credential, slow viewer)."""
        if self.closing:
            return
        self.closing = True
        self.close_reason = reason
        self._stop_media(reason)
        transport = self.writer.transport
        if transport is not None and not transport.is_closing():
            transport.abort()

    async def _cleanup(self) -> None:
        self.closing = True
        self._stop_media(self.close_reason)
        self.server.nonces.forget(self.nonces)
        transport = self.writer.transport
        with contextlib.suppress(Exception):
            if not transport.is_closing():
                self.writer.close()
                await asyncio.wait_for(self.writer.wait_closed(), 2.0)
        with contextlib.suppress(Exception):
            transport.abort()

    def _stop_media(self, reason: str) -> None:
        if self.subscription is not None:
            self.subscription.close()
            self.subscription = None
        sender, self.sender = self.sender, None
        if sender is not None and sender is not asyncio.current_task():
            sender.cancel()
        viewing, self.viewing = self.viewing, None
        if viewing is not None:
            self.server.viewers.closed(viewing, reason)

    # -- writing ------------------------------------------------------------------------------

    def _send(self, data: bytes) -> None:
        if not self.writer.transport.is_closing():
            self.writer.write(data)

    def _respond(self, req: RtspRequest, status: int, headers: list[tuple[str, str]] | None = None,
                 body: bytes = b"", reason: str | None = None) -> None:
        hdrs = list(headers or [])
        if self.session_id is not None and req.method != "OPTIONS" and not any(
            k == "Session" for k, _ in hdrs
        ):
            hdrs.append(("Session", f"{self.session_id};timeout={self._timeout_s()}"))
        self._send(build_response(status, req.cseq, hdrs, body, reason))

    def _timeout_s(self) -> int:
        return int(self.server.limits.idle_timeout)

    async def _refuse(self, exc: RtspError) -> None:
        body = (exc.message + "\n").encode()
        self._send(build_response(exc.status, exc.cseq, [("Content-Type", "text/plain"),
                                                          ("Connection", "close")], body))
        self.close_reason = f"refused {exc.status}"
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.writer.drain(), 2.0)
        self.closing = True

    # -- requests -----------------------------------------------------------------------------

    async def _handle(self, req: RtspRequest) -> None:
        if req.method == "OPTIONS":
            self._respond(req, 200, [("Public", PUBLIC_METHODS)])
            return
        if not self._authorized(req):
            return
        handler: Callable[[RtspRequest], Any] = getattr(self, f"_on_{req.method.lower()}")
        result = handler(req)
        if asyncio.iscoroutine(result):
            await result

    def _authorized(self, req: RtspRequest) -> bool:
        server = self.server
        decision = server.auth.authenticate(
            req.header("authorization"), req.method, req.uri, self.source, self.binding,
            already=self.user,
        )
        if decision.status == "ok":
            if self.user is not None and decision.username != self.user:
                self._respond(req, 403, reason="Forbidden (another user on this connection)")
                return False
            self.user = decision.username
            self.credential = decision.credential or self.credential
            return True
        if decision.status == "throttled":
            retry = max(1, int(decision.retry_after + 0.999))
            self._respond(req, 503, [("Retry-After", str(retry)), ("Connection", "close")])
            self.close_reason = "throttled"
            self.closing = True
            return False
        if decision.status == "forbidden":
            self._respond(req, 403)
            return False
        if decision.status == "denied":
            self.auth_failures += 1
            if self.auth_failures >= server.limits.max_auth_failures:
                self._respond(req, 401, [("Connection", "close")])
                self.close_reason = "too many failed logins"
                self.closing = True
                return False
        if len(self.nonces) >= 64:
            self._respond(req, 401, [("Connection", "close")])
            self.closing = True
            return False
        nonce, values = server.auth.challenges(self.binding, stale=decision.status == "stale")
        self.nonces.append(nonce)
        self._respond(req, 401, [("WWW-Authenticate", v) for v in values])
        return False

    def _resolve(self, req: RtspRequest) -> tuple[str, bool, StreamHub] | None:
        """(stream name, has track suffix, hub) for the request URI, or answer 404."""
        try:
            path = request_path(req.uri)
        except RtspError as exc:
            self._respond(req, exc.status, [("Content-Type", "text/plain")],
                          (exc.message + "\n").encode())
            return None
        found = _stream_of(path)
        hub = self.server.hubs.get(found[0]) if found else None
        if found is None or hub is None:
            self._respond(req, 404)
            return None
        return found[0], found[1], hub

    def _session_ok(self, req: RtspRequest, *, required: bool) -> bool:
        given = req.header("session")
        sid = given.split(";", 1)[0].strip() if given else None
        if sid is None and not required:
            return True
        if self.session_id is None or sid != self.session_id:
            self._respond(req, 454)
            return False
        return True

    def _privacy_refused(self, req: RtspRequest) -> bool:
        if self.server.viewers.privacy:
            self._respond(req, 403, [("Content-Type", "text/plain")],
                          b"privacy mode is on: video is switched off\n", reason=PRIVACY_REASON)
            return True
        return False

    def _base_url(self, req: RtspRequest, stream: str) -> str:
        if req.uri.lower().startswith(("rtsps://", "rtsp://")):
            scheme_host = req.uri.split("/", 3)[:3]
            return "/".join(scheme_host) + f"/{stream}/"
        host = self.writer.get_extra_info("sockname")
        addr = f"[{host[0]}]" if ":" in str(host[0]) else str(host[0])
        return f"rtsps://{addr}:{host[1]}/{stream}/"

    async def _on_describe(self, req: RtspRequest) -> None:
        resolved = self._resolve(req)
        if resolved is None or self._privacy_refused(req):
            return
        stream, has_track, hub = resolved
        if has_track:
            self._respond(req, 404)
            return
        deadline = time.monotonic() + self.server.limits.describe_wait
        while hub.info is None and time.monotonic() < deadline and not self.closing:
            await asyncio.sleep(0.05)
        info = hub.info
        if info is None:
            self._respond(req, 503, [("Retry-After", "2")], reason="Stream Not Ready")
            return
        sock = self.writer.get_extra_info("sockname")
        sdp = build_sdp(info, session_id=secrets.randbits(48),
                        origin_address=str(sock[0]) if sock else "0.0.0.0",
                        control=TRACK)
        self._respond(req, 200, [("Content-Type", "application/sdp"),
                                 ("Content-Base", self._base_url(req, stream))], sdp.encode())

    def _on_setup(self, req: RtspRequest) -> None:
        resolved = self._resolve(req)
        if resolved is None:
            return
        stream, _track, _hub = resolved
        if not self._session_ok(req, required=False):
            return
        if self.stream is not None and stream != self.stream:
            self._respond(req, 459)
            return
        transport = req.header("transport")
        channels = _parse_transport(transport) if transport else None
        if channels is None:
            self._respond(req, 461, [("Content-Type", "text/plain")],
                          b"only RTP/AVP/TCP interleaved on this TLS connection\n")
            return
        if self.sender is not None:
            self._respond(req, 455)
            return
        self.stream = stream
        self.channels = channels
        if self.session_id is None:
            self.session_id = secrets.token_hex(8)
        self.packetizer = RtpPacketizer()
        a, b = channels
        self._respond(req, 200, [
            ("Transport",
             f"RTP/AVP/TCP;unicast;interleaved={a}-{b};ssrc={self.packetizer.ssrc:08X}"),
        ])

    def _on_play(self, req: RtspRequest) -> None:
        if not self._session_ok(req, required=True):
            return
        if self.stream is None or self.packetizer is None:
            self._respond(req, 455)
            return
        if self._privacy_refused(req):
            return
        if self.sender is not None:  # already playing: nothing changes
            self._respond(req, 200, [("Range", "npt=now-")])
            return
        hub = self.server.hubs[self.stream]
        assert self.user is not None
        loop = asyncio.get_running_loop()

        def cut() -> None:  # the registry (admin end, privacy) may call from any thread
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self.close_soon, "ended")

        if self.credential is None:  # the secret that verified (stream or ONVIF credential)
            self.credential = self.server.auth.credential_of(self.user)
        admission = None if self.credential is None else admit(
            self.server.device.accounts, self.user, Permission.VIEW_LIVE, "stream-credential",
            self.credential)
        if admission is None:  # revoked or deleted since the request was authenticated
            self._respond(req, 403)
            return
        try:
            self.viewing = self.server.viewers.open(self.user, self.source, "rtsps",
                                                    self.stream, close=cut, admission=admission)
        except PrivacyModeOn:
            self._respond(req, 403, [("Content-Type", "text/plain")],
                          b"privacy mode is on: video is switched off\n", reason=PRIVACY_REASON)
            return
        limits = self.server.limits
        sub = hub.subscribe(limits.max_queue, from_last_keyframe=limits.start_at_last_keyframe)
        self.subscription = sub
        # Same SSRC, sequence continues; timestamps restart at the announced rtptime.
        pk = self.packetizer = RtpPacketizer(ssrc=self.packetizer.ssrc,
                                             first_seq=self.packetizer.seq)
        url = self._base_url(req, self.stream) + TRACK
        self._respond(req, 200, [
            ("Range", "npt=now-"),
            ("RTP-Info", f"url={url};seq={pk.seq};rtptime={pk.first_timestamp}"),
        ])
        self.sender = asyncio.create_task(self._media(sub, pk, self.channels[0]))

    def _on_pause(self, req: RtspRequest) -> None:
        if not self._session_ok(req, required=True):
            return
        self._stop_media("paused")
        self._respond(req, 200)

    def _on_teardown(self, req: RtspRequest) -> None:
        if not self._session_ok(req, required=True):
            return
        self._stop_media("teardown")
        self._respond(req, 200, [("Session", str(self.session_id))])
        self.session_id = None
        self.stream = None

    def _on_get_parameter(self, req: RtspRequest) -> None:
        if self._session_ok(req, required=False):
            self._respond(req, 200)

    def _on_set_parameter(self, req: RtspRequest) -> None:
        if self._session_ok(req, required=False):
            self._respond(req, 200)

    # -- media --------------------------------------------------------------------------------

    async def _media(self, sub: Subscription, pk: RtpPacketizer, channel: int) -> None:
        limits = self.server.limits
        transport = self.writer.transport
        reason = "stream ended"
        next_report = 0.0
        try:
            async for pkt in sub:
                if transport.is_closing():
                    reason = "disconnected"
                    break
                data = pk.interleaved(pkt, channel)
                now = time.monotonic()
                if now >= next_report:  # RTCP SR: wall-clock time of this frame
                    next_report = now + limits.report_interval
                    sr = sender_report(pk, pkt.wallclock, pk.timestamp_of(pkt.pts))
                    data += interleave(self.channels[1], sr)
                self.writer.write(data)
                if transport.get_write_buffer_size() > limits.write_buffer_high:
                    await asyncio.wait_for(self.writer.drain(), limits.write_timeout)
            else:
                reason = "slow viewer" if sub.close_reason == "slow" else "stream ended"
                if sub.close_reason == "closed":
                    return
        except TimeoutError:
            reason = "slow viewer"
        except (ConnectionError, OSError):
            reason = "disconnected"
        except asyncio.CancelledError:
            return
        if self.sender is asyncio.current_task():
            self.sender = None
        self.close_soon(reason)


class RtspsServer:
    """The RTSPS listener. ``port`` is the bound port after :meth:`start` (0 picks one)."""

    def __init__(
        self,
        device: Any,
        hubs: dict[str, StreamHub],
        viewers: Any = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        limits: ServerLimits | None = None,
        credentials: StreamCredentials | None = None,
        nonces: NonceStore | None = None,
    ) -> None:
        self.device = device
        self.hubs = hubs
        self.viewers = viewers if viewers is not None else device.services.viewers
        self.host = host
        self.port = port
        self.limits = limits or ServerLimits()
        self.credentials = credentials or device.services.stream_credentials
        self.nonces = nonces or NonceStore()
        self.auth = RtspAuthenticator(device, self.credentials, self.nonces)
        self.connections: set[_Connection] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: GuardedListener | None = None
        # Counted from accept, before TLS; the 503 above max_connections stays readable.
        self.budget = ConnectionBudget(self.limits.max_per_source,
                                       self.limits.max_connections + self.limits.max_per_source)

    async def start(self) -> None:
        tls = self.device.tls
        ctx = server_context(tls.cert_file, tls.key_file, tls.key_password)
        loop = asyncio.get_running_loop()

        def protocol() -> asyncio.Protocol:
            reader = asyncio.StreamReader(limit=64 * 1024, loop=loop)
            return asyncio.StreamReaderProtocol(reader, self._on_client, loop=loop)

        self._server = GuardedListener(bind_listening_socket(self.host, self.port, 128),
                                       protocol, self.budget, ssl_context=ctx,
                                       handshake_timeout=self.limits.handshake_timeout)
        await self._server.start()
        self.port = int(self._server.sockets[0].getsockname()[1])
        self.credentials.on_change(self._credential_changed)

    async def stop(self) -> None:
        self.credentials.off_change(self._credential_changed)
        if self._server is not None:
            self._server.close()
        for conn in list(self.connections):
            conn.close_soon("server stopping")
        tasks = list(self._tasks)
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=5)
            for t in pending:
                t.cancel()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)
            self._server = None

    def _credential_changed(self, username: str) -> None:
        """A rotated or revoked stream credential ends that user's running sessions."""
        for conn in list(self.connections):
            if conn.user == username:
                conn.close_soon("stream credential changed")

    async def _on_client(self, reader: asyncio.StreamReader,
                         writer: asyncio.StreamWriter) -> None:
        conn = _Connection(self, reader, writer)
        task = asyncio.current_task()
        if len(self.connections) >= self.limits.max_connections:  # per source: self.budget
            with contextlib.suppress(Exception):
                writer.write(build_response(503, None, [("Connection", "close")],
                                            reason="Too Many Connections"))
                await asyncio.wait_for(writer.drain(), 2)
            writer.transport.abort()
            return
        with contextlib.suppress(Exception):
            writer.transport.set_write_buffer_limits(high=self.limits.write_buffer_high)
            if self.limits.send_buffer:
                sock = writer.get_extra_info("socket")
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.limits.send_buffer)
        self.connections.add(conn)
        if task is not None:
            self._tasks.add(task)
        try:
            await conn.run()
        finally:
            self.connections.discard(conn)
            if task is not None:
                self._tasks.discard(task)
