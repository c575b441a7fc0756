"""RTSPS server over real TLS sockets: auth, replay, throttling, transports, bad input,
timeouts, limits, viewing sessions, privacy mode, admin end, slow viewer isolation."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import socket
import ssl
import struct
import time

import pytest

from vigilcam.auth import permissions
from vigilcam.auth.permissions import Permission, Role
from vigilcam.platform.tls import client_context

from .conftest import Rig
from .rtsp_support import RtspClient, digest_header

pytestmark = pytest.mark.timeout(60)

TCP = {"Transport": "RTP/AVP/TCP;unicast;interleaved=0-1"}


async def play(rig: Rig, client: RtspClient, stream: str = "/main") -> dict[str, str]:
    """DESCRIBE, SETUP, PLAY with Digest; return the PLAY response headers."""
    base = rig.base(stream)
    r = await client.authed("DESCRIBE", base, rig.user, rig.secret)
    assert r.status == 200, r
    nc = 2
    auth = lambda m, u: digest_header(client.challenge, rig.user, rig.secret, m, u, nc=nc)  # noqa: E731
    r = await client.request("SETUP", base + "/trackID=0",
                             {**TCP, "Authorization": auth("SETUP", base + "/trackID=0")})
    assert r.status == 200, r
    session = r.header("Session").split(";")[0]
    nc = 3
    r = await client.request("PLAY", base + "/", {"Session": session,
                                                  "Authorization": auth("PLAY", base + "/")})
    assert r.status == 200, r
    client.session = session
    client.nc = 4
    return {k: v for k, v in r.headers}


async def test_options_open_describe_needs_auth(rig: Rig) -> None:
    c = await RtspClient.connect(rig.port)
    r = await c.request("OPTIONS", "*")
    assert r.status == 200 and "DESCRIBE" in r.header("Public")
    r = await c.request("DESCRIBE", rig.base())
    assert r.status == 401
    schemes = r.all("WWW-Authenticate")
    assert schemes[0].startswith("Digest") and "algorithm=SHA-256" in schemes[0]
    assert "algorithm=MD5" in schemes[1] and 'qop="auth"' in schemes[1]
    assert schemes[2].startswith("Basic")
    assert rig.events("auth.login") == []  # no credential offered: not a failed login
    c.close()


async def test_play_streams_h264_and_records_one_view(rig: Rig) -> None:
    c = await RtspClient.connect(rig.port)
    headers = await play(rig, c)
    info = dict(x.split("=", 1) for x in headers["RTP-Info"].split(";"))
    channel, first = await c.read_frame()
    assert channel == 0
    seq, rtptime = struct.unpack(">HI", first[2:8])
    assert (seq, rtptime) == (int(info["seq"]), int(info["rtptime"]))
    assert first[12] & 0x1F == 7  # starts at a keyframe: SPS first
    got = 1
    reports = []
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:
        ch, data = await c.read_frame()
        if ch == 1:
            reports.append(data)
        got += 1
    assert got > 10
    # an RTCP sender report on the second channel maps RTP time to the capture wall clock
    assert reports and reports[0][1] == 200
    assert reports[0][4:8] == first[8:12]  # same SSRC
    ntp_seconds = struct.unpack(">I", reports[0][8:12])[0] - 2_208_988_800
    assert abs(ntp_seconds - time.time()) < 5
    starts = rig.events("video.view_started")
    assert len(starts) == 1
    ev = starts[0]
    assert (ev.user, ev.source, ev.details["stream"], ev.details["kind"]) == (
        "alice", "127.0.0.1", "main", "rtsps")
    assert len(rig.viewers.list()) == 1
    login = rig.events("auth.login")
    assert len(login) == 1 and login[0].details["interface"] == "rtsps"  # once per connection
    # TEARDOWN ends the viewing session
    auth = digest_header(c.challenge, rig.user, rig.secret, "TEARDOWN", rig.base() + "/", nc=c.nc)
    c.writer.write(f"TEARDOWN {rig.base()}/ RTSP/1.0\r\nCSeq: 9\r\nSession: {c.session}\r\n"
                   f"Authorization: {auth}\r\n\r\n".encode())
    r = await c.read_response()
    while r.status != 200:  # pragma: no cover - frames before the answer are skipped
        r = await c.read_response()
    await asyncio.sleep(0.1)
    assert rig.viewers.list() == []
    ended = rig.events("video.view_ended")
    assert len(ended) == 1 and ended[0].details["reason"] == "teardown"
    c.close()


async def test_replayed_digest_authorization_is_refused(rig: Rig) -> None:
    """IoT-1005-1 5.1.1.3: the same nonce and nc presented again is refused."""
    c = await RtspClient.connect(rig.port)
    r = await c.authed("DESCRIBE", rig.base(), rig.user, rig.secret)
    assert r.status == 200
    auth = digest_header(c.challenge, rig.user, rig.secret, "DESCRIBE", rig.base(), nc=7,
                         cnonce="fixed")
    assert (await c.request("DESCRIBE", rig.base(), {"Authorization": auth})).status == 200
    replay = await c.request("DESCRIBE", rig.base(), {"Authorization": auth})
    assert replay.status == 401 and replay.body == b""
    failures = [e for e in rig.events("auth.login") if e.result == "failure"]
    assert failures and failures[0].details.get("reason") == "replay"
    # the captured header on another connection: refused too (nonce bound to its connection)
    d = await RtspClient.connect(rig.port)
    other = await d.request("DESCRIBE", rig.base(), {"Authorization": auth})
    assert other.status == 401 and any("stale=true" in v for v in other.all("WWW-Authenticate"))
    c.close()
    d.close()


async def test_basic_inside_tls(rig: Rig) -> None:
    c = await RtspClient.connect(rig.port)
    token = base64.b64encode(f"{rig.user}:{rig.secret}".encode()).decode()
    r = await c.request("DESCRIBE", rig.base("/sub"), {"Authorization": f"Basic {token}"})
    assert r.status == 200 and b"m=video 0 RTP/AVP 96" in r.body
    assert r.header("Content-Base") == rig.base("/sub") + "/"
    bad = base64.b64encode(f"{rig.user}:nope".encode()).decode()
    assert (await c.request("DESCRIBE", rig.base(), {"Authorization": f"Basic {bad}"})
            ).status == 401
    c.close()


async def test_wrong_credentials_are_throttled_and_recorded(rig: Rig) -> None:
    """5.1.2.2: after the free attempts the answer is 503 without checking, even when right."""
    from vigilcam.platform.config import ThrottleSettings

    rig.device.throttle.settings = ThrottleSettings(base_delay_s=30)  # no timing flakiness
    statuses = []
    for _ in range(5):
        c = await RtspClient.connect(rig.port)
        r = await c.authed("DESCRIBE", rig.base(), rig.user, "wrong-secret")
        statuses.append(r.status)
        if r.status == 503:
            assert int(r.header("Retry-After")) >= 1
            assert await c.closed(5)
        c.close()
    assert statuses[:3] == [401, 401, 401] and statuses[3:] == [503, 503]
    c = await RtspClient.connect(rig.port)
    r = await c.authed("DESCRIBE", rig.base(), rig.user, rig.secret)  # right, but throttled
    assert r.status == 503
    c.close()
    rig.device.auth.failures.flush_all()
    logins = rig.events("auth.login")
    assert all(e.result == "failure" and e.details["interface"] == "rtsps" for e in logins)
    # TAICS 5.2.8.1: the first failures one by one, the rest of the flood as one count.
    assert len(logins) == 3 and not any(e.details.get("throttled") for e in logins)
    [summary] = rig.events("auth.login_failures")
    assert summary.details["count"] == 3 and summary.details["throttled"] == 3
    assert all(e.user == "alice" and e.source == "127.0.0.1" for e in [*logins, summary])


async def test_udp_transport_gets_461(rig: Rig) -> None:
    c = await RtspClient.connect(rig.port)
    await c.authed("DESCRIBE", rig.base(), rig.user, rig.secret)
    uri = rig.base() + "/trackID=0"
    for i, transport in enumerate(("RTP/AVP;unicast;client_port=5000-5001",
                                   "RTP/AVP;multicast", "RTP/AVP/TCP;multicast;interleaved=0-1")):
        auth = digest_header(c.challenge, rig.user, rig.secret, "SETUP", uri, nc=2 + i)
        r = await c.request("SETUP", uri, {"Transport": transport, "Authorization": auth})
        assert r.status == 461, transport
    c.close()


BAD_REQUESTS = [
    (b"DESCRIBE rtsps://x/main RTSP/1.0\r\n\r\n", 400),
    (b"GARBAGE\r\n\r\n", 400),
    (b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n" + (b"X-Pad: " + b"a" * 1000 + b"\r\n") * 10
     + b"\r\n", 431),
    (b"ANNOUNCE * RTSP/1.0\r\nCSeq: 4\r\n\r\n", 501),
    (b"OPTIONS * RTSP/2.0\r\nCSeq: 1\r\n\r\n", 505),
    (b"OPTIONS /" + b"a" * 5000 + b" RTSP/1.0\r\nCSeq: 1\r\n\r\n", 414),
    (b"SET_PARAMETER * RTSP/1.0\r\nCSeq: 1\r\nContent-Length: 100000\r\n\r\n", 413),
]


async def test_bad_requests_get_an_error_and_a_closed_socket(rig: Rig) -> None:
    for data, status in BAD_REQUESTS:
        c = await RtspClient.connect(rig.port)
        await c.send_raw(data)
        r = await c.read_response()
        assert r.status == status, data[:40]
        assert b"Traceback" not in r.body and r.header("Connection") == "close"
        assert await c.closed(5), data[:40]
        c.close()
    # the server is still fine
    d = await RtspClient.connect(rig.port)
    assert (await d.request("OPTIONS", "*")).status == 200
    d.close()
    assert len(rig.server.connections) <= 1


async def test_plaintext_rtsp_to_the_tls_port_gets_nothing(rig: Rig) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", rig.port)
    writer.write(f"OPTIONS rtsp://127.0.0.1:{rig.port}/main RTSP/1.0\r\nCSeq: 1\r\n\r\n".encode())
    await writer.drain()
    data = b""
    try:
        while chunk := await asyncio.wait_for(reader.read(4096), 5):
            data += chunk
    except (ConnectionError, TimeoutError):
        pass
    writer.transport.abort()
    assert b"RTSP/1.0" not in data


@pytest.mark.limits(header_timeout=0.5, idle_timeout=1.0, handshake_timeout=0.5)
async def test_slow_half_open_and_idle_connections_are_closed(rig: Rig) -> None:
    # slowloris: a request that never ends
    c = await RtspClient.connect(rig.port)
    await c.send_raw(b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n")
    t0 = time.monotonic()
    assert await c.closed(5)
    assert time.monotonic() - t0 < 3
    # idle after connecting
    d = await RtspClient.connect(rig.port)
    assert await d.closed(5)
    # TCP connected, TLS handshake never started
    reader, writer = await asyncio.open_connection("127.0.0.1", rig.port)
    assert await asyncio.wait_for(reader.read(), 5) == b""
    writer.transport.abort()
    await asyncio.sleep(0.1)
    assert len(rig.server.connections) == 0


@pytest.mark.limits(max_connections=2)
async def test_connection_limit(rig: Rig) -> None:
    a = await RtspClient.connect(rig.port)
    b = await RtspClient.connect(rig.port)
    assert (await a.request("OPTIONS", "*")).status == 200
    assert (await b.request("OPTIONS", "*")).status == 200
    c = await RtspClient.connect(rig.port)
    r = await c.read_response()
    assert r.status == 503
    assert await c.closed(5)
    a.close()
    await asyncio.sleep(0.2)
    d = await RtspClient.connect(rig.port)
    assert (await d.request("OPTIONS", "*")).status == 200
    for x in (b, c, d):
        x.close()


async def test_role_without_view_live_is_forbidden(rig: Rig, monkeypatch) -> None:
    reduced = {**permissions.MATRIX,
               Role.VIEWER: permissions.MATRIX[Role.VIEWER] - {Permission.VIEW_LIVE}}
    monkeypatch.setattr(permissions, "MATRIX", reduced)
    c = await RtspClient.connect(rig.port)
    r = await c.authed("DESCRIBE", rig.base(), rig.user, rig.secret)
    assert r.status == 403
    c.close()


async def test_disabled_user_refused(rig: Rig) -> None:
    rig.device.accounts.set_disabled("alice", True)
    c = await RtspClient.connect(rig.port)
    assert (await c.authed("DESCRIBE", rig.base(), rig.user, rig.secret)).status == 401
    c.close()


async def test_unknown_stream_404_and_session_checks(rig: Rig) -> None:
    c = await RtspClient.connect(rig.port)
    assert (await c.authed("DESCRIBE", rig.base("/other"), rig.user, rig.secret)).status == 404
    auth = digest_header(c.challenge, rig.user, rig.secret, "PLAY", rig.base(), nc=2)
    r = await c.request("PLAY", rig.base(), {"Session": "nope", "Authorization": auth})
    assert r.status == 454
    c.close()


async def test_privacy_mode_ends_sessions_and_refuses(rig: Rig) -> None:
    c = await RtspClient.connect(rig.port)
    await play(rig, c)
    await c.read_frame()
    rig.viewers.set_privacy(True, by="admin", source="127.0.0.1")
    assert await c.closed(5)
    ended = rig.events("video.view_ended")
    assert len(ended) == 1 and ended[0].details["reason"] == "privacy mode"
    d = await RtspClient.connect(rig.port)
    r = await d.authed("DESCRIBE", rig.base(), rig.user, rig.secret)
    assert r.status == 403 and r.reason == "Privacy Mode On" and b"privacy" in r.body
    d.close()


async def test_admin_end_cuts_the_connection(rig: Rig) -> None:
    c = await RtspClient.connect(rig.port)
    await play(rig, c)
    await c.read_frame()
    [session] = rig.viewers.list()
    assert rig.viewers.end(session.id, by="admin")
    assert await c.closed(5)
    assert rig.events("video.view_terminated")[0].details["target"] == "alice"
    assert len(rig.events("video.view_ended")) == 1
    assert rig.viewers.list() == []


async def test_rotated_credential_ends_running_session(rig: Rig) -> None:
    c = await RtspClient.connect(rig.port)
    await play(rig, c)
    await c.read_frame()
    rig.device.services.stream_credentials.rotate("alice", by="admin")
    assert await c.closed(5)
    d = await RtspClient.connect(rig.port)
    assert (await d.authed("DESCRIBE", rig.base(), rig.user, rig.secret)).status == 401
    d.close()


def _stalled_viewer(port: int, base: str, user: str, secret: str) -> socket.socket:
    """A blocking TLS client with a tiny receive buffer: plays, then never reads again."""
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.connect(("127.0.0.1", port))
    tls = client_context(verify=False).wrap_socket(raw, server_hostname="localhost")
    token = base64.b64encode(f"{user}:{secret}".encode()).decode()

    def ask(text: str) -> str:
        tls.sendall(text.encode())
        data = b""
        while b"\r\n\r\n" not in data:
            data += tls.recv(1)  # byte by byte: nothing after the head is consumed
        return data.decode()

    head = ask(f"SETUP {base}/trackID=0 RTSP/1.0\r\nCSeq: 1\r\nAuthorization: Basic {token}\r\n"
               "Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\r\n")
    assert " 200 " in head.split("\r\n")[0], head
    session = [x for x in head.split("\r\n") if x.startswith("Session:")][0][8:].split(";")[0]
    head = ask(f"PLAY {base}/ RTSP/1.0\r\nCSeq: 2\r\nAuthorization: Basic {token}\r\n"
               f"Session: {session.strip()}\r\n\r\n")
    assert " 200 " in head.split("\r\n")[0], head
    return tls


@pytest.mark.limits(write_buffer_high=16 * 1024, write_timeout=1.5, max_queue=20,
                    send_buffer=8192)
async def test_slow_client_does_not_delay_a_fast_one(rig: Rig) -> None:
    slow = await asyncio.to_thread(_stalled_viewer, rig.port, rig.base(), rig.user, rig.secret)
    fast = await RtspClient.connect(rig.port)
    await play(rig, fast)
    arrivals: list[float] = []
    deadline = time.monotonic() + 4
    while time.monotonic() < deadline:
        channel, pkt = await fast.read_frame(2)
        if channel == 0 and pkt[1] & 0x80:  # marker: end of an access unit
            arrivals.append(time.monotonic())
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:], strict=False)]
    assert len(arrivals) >= 4 * 15 * 0.8, len(arrivals)
    assert max(gaps) < 0.5, max(gaps)
    # the stalled viewer was cut, with a reason, and its viewing session closed
    for _ in range(50):
        ended = [e for e in rig.events("video.view_ended") if e.details["reason"] == "slow viewer"]
        if ended:
            break
        await asyncio.sleep(0.1)
    assert len(ended) == 1
    assert len(rig.viewers.list()) == 1
    slow.close()
    fast.close()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
async def test_server_only_speaks_tls12_or_later(rig: Rig) -> None:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    with pytest.raises((ssl.SSLError, ConnectionError)):
        await asyncio.open_connection("127.0.0.1", rig.port, ssl=ctx)


async def test_expired_nonce_answered_stale_and_client_recovers(device, hubs) -> None:
    from vigilcam.auth.digest import NonceStore
    from vigilcam.rtsp.server import RtspsServer
    from vigilcam.viewers.registry import ViewerRegistry

    device.accounts.add("dora", Role.VIEWER, "x" * 20, must_change=False, check_policy=False)
    secret = device.services.stream_credentials.get_or_create("dora")
    server = RtspsServer(device, hubs, ViewerRegistry(device.record), "127.0.0.1", 0,
                         nonces=NonceStore(lifetime=0.3))
    await server.start()
    try:
        base = f"rtsps://127.0.0.1:{server.port}/main"
        c = await RtspClient.connect(server.port)
        assert (await c.authed("DESCRIBE", base, "dora", secret)).status == 200
        await asyncio.sleep(0.5)
        auth = digest_header(c.challenge, "dora", secret, "DESCRIBE", base, nc=2)
        r = await c.request("DESCRIBE", base, {"Authorization": auth})
        assert r.status == 401
        fresh = [v for v in r.all("WWW-Authenticate") if v.startswith("Digest")][0]
        assert "stale=true" in fresh
        retry = digest_header(fresh, "dora", secret, "DESCRIBE", base, nc=1)
        assert (await c.request("DESCRIBE", base, {"Authorization": retry})).status == 200
        # a stale answer is not a failed login
        assert not [e for e in device.seclog.query(action="auth.login") if e.result == "failure"]
        c.close()
    finally:
        await server.stop()


async def test_disconnect_closes_the_viewing_session(rig: Rig) -> None:
    c = await RtspClient.connect(rig.port)
    await play(rig, c)
    await c.read_frame()
    assert len(rig.viewers.list()) == 1
    c.close()  # abrupt: no TEARDOWN
    for _ in range(50):
        if not rig.viewers.list():
            break
        await asyncio.sleep(0.05)
    assert rig.viewers.list() == []
    [ended] = rig.events("video.view_ended")
    assert ended.details["reason"] == "disconnected"


async def test_disabling_the_account_ends_a_running_session(rig: Rig) -> None:
    c = await RtspClient.connect(rig.port)
    await play(rig, c)
    await c.read_frame()
    rig.device.accounts.set_disabled("alice", True)  # no event: seen by the change marker
    assert await c.closed(2)
    [ended] = rig.events("video.view_ended")
    assert ended.details["reason"] == "account disabled"
    [revoked] = rig.events("video.view_revoked")
    assert revoked.details["interface"] == "rtsps"


async def test_cli_rotation_in_another_process_is_seen_at_once(rig: Rig) -> None:
    """The CLI opens its own vault copy; the running server notices the file change."""
    from vigilcam.auth.stream_credentials import StreamCredentials as Creds
    from vigilcam.platform.vault import FileKek, Vault

    c = await RtspClient.connect(rig.port)
    await play(rig, c)
    await c.read_frame()
    paths = rig.device.paths
    cli_vault = Vault(paths.vault_file, FileKek(paths.kek_file))
    cli_vault.open()
    new = Creds(cli_vault, rig.device.accounts, lambda *a, **k: None).rotate("alice")
    assert await c.closed(2)  # the session that used the old credential is cut
    [ended] = rig.events("video.view_ended")
    assert ended.details["reason"] == "stream credential rotated or revoked"
    d = await RtspClient.connect(rig.port)
    assert (await d.authed("DESCRIBE", rig.base(), rig.user, new)).status == 200
    assert (await d.authed("DESCRIBE", rig.base(), rig.user, rig.secret)).status == 401
    d.close()


@pytest.mark.limits(auth_timeout=1.0, idle_timeout=2.0)
async def test_bare_crlfs_keep_no_clock_from_running(rig: Rig) -> None:
    # unauthenticated: OPTIONS and CRLF keep-alives do not delay the authentication deadline
    keeper = await RtspClient.connect(rig.port)
    assert (await keeper.request("OPTIONS", "*")).status == 200
    t0 = time.monotonic()
    while not keeper.reader.at_eof() and time.monotonic() - t0 < 4:
        with contextlib.suppress(ConnectionError):
            await keeper.send_raw(b"\r\n")
        await asyncio.sleep(0.2)
    assert await keeper.closed(3)
    assert 0.8 < time.monotonic() - t0 < 2.0
    # authenticated: no authentication deadline, but CRLFs do not reset the idle clock either
    viewer = await RtspClient.connect(rig.port)
    assert (await viewer.authed("DESCRIBE", rig.base(), rig.user, rig.secret)).status == 200
    await asyncio.sleep(1.3)
    assert (await viewer.request("OPTIONS", "*")).status == 200  # past the auth deadline
    t0 = time.monotonic()
    while not viewer.reader.at_eof() and time.monotonic() - t0 < 5:
        with contextlib.suppress(ConnectionError):
            await viewer.send_raw(b"\r\n")
        await asyncio.sleep(0.2)
    assert await viewer.closed(3)
    assert 1.7 < time.monotonic() - t0 < 3.0
    await asyncio.sleep(0.1)
    assert len(rig.server.connections) == 0
