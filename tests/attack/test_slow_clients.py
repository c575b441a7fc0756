"""Slow clients cannot keep the owner out (IoT-1005-1 5.6.1.1; docs/listeners.md).

Against a real `vigilcam run` on loopback: 1,000 TLS connections from one address hold request
heads they never finish while the owner, from another address, is answered 200 throughout;
the held ones are cut by the request-head deadline, and the address gets its budget back. The
same for RTSPS: 64 connections from each of two addresses that send bare CRLFs and never
authenticate; a third address is served and the keepers are cut by the authentication
deadline. The numbers below are the documented defaults (``ListenerSettings``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.rtsp.rtsp_support import RtspClient
from tests.support import STRONG, RunningServer, free_port, start_server
from vigilcam.app import open_device, provision
from vigilcam.auth.permissions import Role
from vigilcam.platform.config import Settings
from vigilcam.platform.paths import DataPaths

from .support import (
    Held,
    insecure_client_context,
    open_many,
    open_tls,
    peak_open,
    raise_fd_limit,
)

OWNER = "127.0.0.1"
ATTACKER = "127.0.0.2"
HTTPS_PER_SOURCE = 32
HEAD_TIMEOUT = 10.0
HANDSHAKE_TIMEOUT = 10.0
RTSPS_PER_SOURCE = 16
AUTH_TIMEOUT = 20.0
PARTIAL_HEAD = b"GET /api/v1/device HTTP/1.1\r\nHost: camera\r\nX-Never-Ends: "


def test_documented_defaults_are_the_ones_tested() -> None:
    limits = Settings().listeners
    assert (limits.https_per_source, limits.head_timeout_s, limits.handshake_timeout_s,
            limits.rtsps_per_source, limits.auth_timeout_s) == (
        HTTPS_PER_SOURCE, HEAD_TIMEOUT, HANDSHAKE_TIMEOUT, RTSPS_PER_SOURCE, AUTH_TIMEOUT)


def _owner_session(server: RunningServer) -> dict[str, str]:
    with server.client(local_address=OWNER) as c:
        r = c.post("/api/v1/session", json={"username": "admin", "password": server.setup_secret})
        assert r.status_code == 200, r.text
        r = c.post("/api/v1/session/password",
                   json={"current_password": server.setup_secret, "new_password": STRONG},
                   headers={"X-CSRF-Token": r.json()["csrf_token"],
                            "X-Request-Nonce": "0" * 32})
        assert r.status_code == 200, r.text
        return dict(c.cookies)


def _fresh_connection_client(port: int, source: str, cookies: dict[str, str] | None = None
                             ) -> httpx.AsyncClient:
    """Every request on a new TCP + TLS connection, so each one must be admitted again."""
    transport = httpx.AsyncHTTPTransport(verify=insecure_client_context(), local_address=source,
                                         limits=httpx.Limits(max_keepalive_connections=0))
    return httpx.AsyncClient(base_url=f"https://127.0.0.1:{port}", transport=transport,
                             cookies=cookies, timeout=5)


async def _poll(client: httpx.AsyncClient, path: str, until: asyncio.Event,
                out: list[tuple[int, float]], every: float = 0.25) -> None:
    while not until.is_set():
        t0 = time.monotonic()
        try:
            status = (await client.get(path)).status_code
        except httpx.HTTPError:
            status = 0
        out.append((status, time.monotonic() - t0))
        await asyncio.sleep(every)


@dataclass
class Camera:
    server: RunningServer
    rtsps_port: int
    nvr_secret: str  # stream credential of the viewer "nvr"
    owner_cookies: dict[str, str]


@pytest.fixture(scope="module")
def camera(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Camera]:
    """One real `vigilcam run` with HTTPS and RTSPS for both attacks (one start, not two)."""
    raise_fd_limit(4096)  # the server inherits it: the old code then fails on 503, not EMFILE
    paths = DataPaths(tmp_path_factory.mktemp("attack") / "data")
    provision(paths, Settings())
    device = open_device(paths, Settings())
    try:
        device.accounts.add("nvr", Role.VIEWER, "x" * 20, must_change=False,
                            check_policy=False)
        secret = device.services.stream_credentials.get_or_create("nvr")
    finally:
        device.close()
    rtsps = free_port()
    srv = start_server(paths.root, "--rtsps-port", str(rtsps))
    try:
        yield Camera(srv, rtsps, secret, _owner_session(srv))
    finally:
        srv.kill()


@pytest.mark.slow
async def test_thousand_partial_heads_from_one_address_do_not_keep_the_owner_out(camera):
    srv = camera.server
    owner = _fresh_connection_client(srv.port, OWNER, camera.owner_cookies)
    answers: list[tuple[int, float]] = []
    done = asyncio.Event()
    poller = asyncio.create_task(_poll(owner, "/api/v1/device", done, answers))
    held: list[Held] = []
    try:
        t0 = time.monotonic()
        held = await open_many(1000, srv.port, ATTACKER, PARTIAL_HEAD, watch=HEAD_TIMEOUT + 8)
        assert held, "the budget admits some connections from the address"
        await asyncio.gather(*(h.watcher for h in held if h.watcher))
    finally:
        done.set()
        await poller
        await owner.aclose()
        for h in held:
            h.abort()
    # The owner, from another address, was answered at once throughout.
    assert len(answers) >= (time.monotonic() - t0) / 1.0, answers
    assert {s for s, _ in answers} == {200}, answers
    assert max(lat for _, lat in answers) < 3.0, answers
    # The address held its budget and no more; the rest was reset before any TLS work.
    assert peak_open(held) <= HTTPS_PER_SOURCE, (peak_open(held), len(held))
    # Every partial head was cut by the deadline (not a random drop).
    lasted = [h.closed - h.opened for h in held if h.closed is not None]
    assert len(lasted) == len(held), f"{len(held) - len(lasted)} partial heads still open"
    assert HEAD_TIMEOUT - 1 <= min(lasted) <= max(lasted) <= HEAD_TIMEOUT + 3, lasted

    # The budget came back: the same address connects again, also through WebSocket upgrades
    # (the protocol changes on the transport; the ticket must still be given back).
    async with _fresh_connection_client(srv.port, ATTACKER) as again:
        for _ in range(HTTPS_PER_SOURCE + 4):
            assert (await again.get("/.well-known/security.txt")).status_code == 200
    upgrade = (b"GET /api/v1/live HTTP/1.1\r\nHost: camera\r\nUpgrade: websocket\r\n"
               b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
               b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
    for _ in range(HTTPS_PER_SOURCE + 4):
        h = await open_tls(srv.port, ATTACKER, upgrade)
        assert h is not None
        await h.wait_closed_by_server(5)
        h.abort()
    async with _fresh_connection_client(srv.port, ATTACKER) as again:
        assert (await again.get("/.well-known/security.txt")).status_code == 200


async def _rtsp_client(port: int, source: str) -> RtspClient:
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", port, ssl=insecure_client_context(), local_addr=(source, 0))
    return RtspClient(reader, writer)


async def _keep_alive_with_crlf(keepers: list[Held], until: asyncio.Event) -> None:
    while not until.is_set():
        for h in keepers:
            if h.closed is None and not h.writer.transport.is_closing():
                h.writer.write(b"\r\n")
        await asyncio.sleep(1.0)


@pytest.mark.slow
async def test_unauthenticated_rtsps_crlf_keepers_are_cut_and_others_served(camera):
    port, secret = camera.rtsps_port, camera.nvr_secret
    done = asyncio.Event()
    keepers: list[Held] = []
    crlf = asyncio.create_task(_keep_alive_with_crlf(keepers, done))
    try:
        t0 = time.monotonic()
        for source in ("127.0.0.2", "127.0.0.3"):
            keepers += await open_many(64, port, source, b"\r\n", parallel=32,
                                       watch=AUTH_TIMEOUT + 10)
        # A third address is served while the keepers hold their places.
        served = 0
        while time.monotonic() - t0 < AUTH_TIMEOUT - 4:
            c = await _rtsp_client(port, "127.0.0.4")
            r = await c.authed("DESCRIBE", f"rtsps://127.0.0.1:{port}/main", "nvr", secret)
            assert r.status == 200, r.status
            c.close()
            served += 1
            await asyncio.sleep(1.0)
        for source in ("127.0.0.2", "127.0.0.3"):
            from_source = [h for h in keepers if h.source == source]
            assert peak_open(from_source) <= RTSPS_PER_SOURCE, (source, len(from_source))
        assert served >= 3
        # Bare CRLFs are not activity: the keepers are cut by the authentication deadline.
        await asyncio.gather(*(h.watcher for h in keepers if h.watcher))
        lasted = [h.closed - h.opened for h in keepers if h.closed is not None]
        assert len(lasted) == len(keepers), f"{len(keepers) - len(lasted)} keepers still open"
        assert max(lasted) <= AUTH_TIMEOUT + 3, max(lasted)
    finally:
        done.set()
        await crlf
        for h in keepers:
            h.abort()
