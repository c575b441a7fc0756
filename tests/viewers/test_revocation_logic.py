"""The revocation decision and its watcher, driven without network clients.

IoT-1005-1 5.1.2.1 / TAICS 5.5.1.1: ``verdict`` is a pure function of an admission and the facts
now; the watcher applies it on a pushed security event, on another process's commit to the
accounts database (a second SQLite connection stands in for the CLI), and a cut playback or
export stops even while its client does not read.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.routing import Route

from tests.support import free_port
from vigilcam.app import Device, revocation_watcher
from vigilcam.auth.permissions import Permission, Role
from vigilcam.viewers.revocation import Admission, Facts, RevocationWatcher, admit, verdict
from vigilcam.web.cuttable import CuttableStreamingResponse

LIVE = Permission.VIEW_LIVE


def _admission(credential="session", role=Role.OPERATOR, permission=LIVE) -> Admission:
    return Admission("ann", permission, role, 100.0, credential, "ref")


@pytest.mark.parametrize(("admission", "facts", "reason"), [
    (_admission(), Facts(True, False, Role.OPERATOR, 100.0, True), None),
    (_admission(), Facts(False), "account deleted"),
    (_admission(), Facts(True, True, Role.OPERATOR, 100.0, True), "account disabled"),
    (_admission(permission=Permission.EXPORT_RECORDINGS),
     Facts(True, False, Role.VIEWER, 100.0, True), "role viewer may not export recordings"),
    (_admission(), Facts(True, False, Role.OPERATOR, 101.0, True), "password changed"),
    (_admission(), Facts(True, False, Role.OPERATOR, 100.0, False), "session ended"),
    (_admission(), Facts(True, False, Role.VIEWER, 100.0, False), "role changed"),
    (_admission("token"), Facts(True, False, Role.OPERATOR, 100.0, False),
     "API token revoked or expired"),
    (_admission("stream-credential"), Facts(True, False, Role.OPERATOR, 100.0, False),
     "stream credential rotated or revoked"),
    # a role that still may watch keeps a stream that is not bound to a web session
    (_admission("stream-credential"), Facts(True, False, Role.VIEWER, 100.0, True), None),
])
def test_verdict(admission: Admission, facts: Facts, reason: str | None) -> None:
    assert verdict(admission, facts) == reason


def _viewer(device: Device, user: str, role: Role = Role.VIEWER):
    device.accounts.add(user, role, "x" * 20, must_change=False, check_policy=False)
    _, session = device.sessions.create(user, "127.0.0.1", restricted=False)
    admission = admit(device.accounts, user, LIVE, "session", session.id_hash)
    cut: list[float] = []
    viewing = device.services.viewers.open(user, "127.0.0.1", "web-live", "main",
                                            close=lambda: cut.append(time.monotonic()),
                                            admission=admission)
    return viewing, cut


def _actions(device: Device, action: str) -> list:
    return [e for e in device.seclog.query() if e.action == action]


def test_sweep_revokes_only_the_withdrawn_and_logs_why(device: Device) -> None:
    watcher = revocation_watcher(device)
    ann, ann_cut = _viewer(device, "ann")
    ben, ben_cut = _viewer(device, "ben")
    device.accounts.set_disabled("ann", True)
    assert [(s.user, why) for s, why in watcher.sweep()] == [("ann", "account disabled")]
    assert len(ann_cut) == 1 and ben_cut == [] and ann.revoked == "account disabled"
    assert [s.user for s in device.services.viewers.list()] == ["ben"]
    [event] = _actions(device, "video.view_revoked")
    assert (event.user, event.details["interface"], event.details["reason"]) == (
        "ann", "web-live", "account disabled")
    [ended] = _actions(device, "video.view_ended")
    assert ended.details["reason"] == "account disabled"
    assert watcher.sweep() == []  # revoked once, not again


async def _until(flag: list, limit: float) -> float:
    t0 = time.monotonic()
    while not flag and time.monotonic() - t0 < limit:
        await asyncio.sleep(0.005)
    return time.monotonic() - t0


async def test_an_in_process_change_is_pushed(device: Device) -> None:
    """No polling at all (poll and sweep periods far away): the security event alone cuts."""
    facts_watcher = revocation_watcher(device)
    watcher = RevocationWatcher(device.services.viewers, facts_watcher.facts,
                                lambda: None, poll_s=30, sweep_s=300)
    device.seclog.subscribe(watcher.notice)
    await watcher.start()
    try:
        _, cut = _viewer(device, "ann")
        await asyncio.sleep(0.05)
        device.sessions.end_all("ann")
        device.record("auth.logout_all", user="ann", source="127.0.0.1", sessions=1)
        took = await _until(cut, 1.0)
    finally:
        await watcher.stop()
    assert cut and took < 0.5, took


async def test_another_processes_commit_is_seen_within_a_second(device: Device) -> None:
    """The CLI disables through its own connection and writes no event this process sees."""
    watcher = revocation_watcher(device)
    await watcher.start()
    try:
        _, cut = _viewer(device, "ann")
        await asyncio.sleep(0.3)
        other = sqlite3.connect(device.paths.accounts_db, isolation_level=None)
        other.execute("UPDATE users SET disabled = 1 WHERE username = 'ann'")
        other.close()
        took = await _until(cut, 3.0)
    finally:
        await watcher.stop()
    assert cut and took <= 1.0, took
    assert _actions(device, "video.view_revoked")[0].details["reason"] == "account disabled"


async def test_a_cut_download_stops_while_the_client_does_not_read() -> None:
    """Playback and export bodies are cut at once, even with the client's window full."""
    ended = asyncio.Event()
    finished: list[float] = []

    async def endless():
        try:
            while True:
                yield b"\0" * 65536
        finally:
            finished.append(time.monotonic())

    async def download(request):
        return CuttableStreamingResponse(endless(), ended, media_type="video/mp4")

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(Starlette(routes=[Route("/x", download)]),
                                           host="127.0.0.1", port=port, log_level="critical",
                                           lifespan="off"))
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.01)
        async with httpx.AsyncClient() as client, client.stream(
                "GET", f"http://127.0.0.1:{port}/x") as r:
            chunks = r.aiter_raw()
            await chunks.__anext__()
            await asyncio.sleep(0.5)  # not reading: the server is blocked in a write
            t0 = time.monotonic()
            ended.set()
            with pytest.raises(httpx.HTTPError):
                async with asyncio.timeout(10):
                    async for _ in chunks:
                        pass
        took = time.monotonic() - t0
        await _until(finished, 1.0)
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(serving, 5)
    assert finished and finished[0] - t0 <= 1.0
    assert took < 10
