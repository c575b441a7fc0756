"""Revocation reaches every open stream within 1 s (IoT-1005-1 5.1.2.1, TAICS 5.5.1.1).

A real ``vigilcam run`` with HTTPS and RTSPS, and real clients: headless Chromium's live view
(WSS into MSE), ffmpeg over RTSPS, the ``websockets`` client library, and the CLI in another
process. A user watches; an administrator disables them, resets their password or changes
their role; the user logs out everywhere or changes their own password; every stream of
theirs ends within 1 s, measured on the wall clock from the change, and the security log and
the viewer registry say why.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.browser import launch, log_in
from tests.support import STRONG, run_cli
from vigilcam.auth.permissions import Role

from .viewers import (
    Camera,
    Session,
    latency,
    log_time,
    revoked_texts,
    start_camera,
    stop,
    watch_rtsps,
    watch_wss,
)

pytestmark = [pytest.mark.peer, pytest.mark.slow]

REVOCATION_BOUND_S = 1.0  # the requirement, stated here rather than taken from the code

USERS = {"alice": Role.VIEWER, "bob": Role.VIEWER, "carol": Role.VIEWER,
         "dave": Role.OPERATOR, "erin": Role.VIEWER, "frank": Role.VIEWER,
         "gina": Role.VIEWER}
NEW_PASSWORD = "violet tugboat weather hinge 4812"
# The old RTSPS re-check ran at the first packet and then every 5 s: a change made 1.5 s into
# the stream is the worst case for a poll and proves the push.
SETTLE_S = 1.5


@pytest.fixture(scope="module")
def camera(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Camera]:
    cam = start_camera(tmp_path_factory.mktemp("revocation") / "data", USERS,
                       stream_users=("alice", "erin"))
    yield cam
    cam.server.kill()


@pytest.fixture(scope="module")
def admin(camera: Camera) -> Iterator[Session]:
    session = Session(camera, "admin")
    yield session
    session.close()


def _revoked(camera: Camera, user: str) -> dict[str, str]:
    """interface -> reason of the user's ``video.view_revoked`` events."""
    return {e["details"]["interface"]: e["details"]["reason"]
            for e in camera.events("video.view_revoked", user)}


WATCH_JS = """
(() => {
  const Native = window.WebSocket;
  window.__ws = [];
  window.WebSocket = function (url, protocols) {
    const ws = new Native(url, protocols);
    const rec = { url, frames: 0, firstFrame: null, closed: null, code: null, texts: [] };
    window.__ws.push(rec);
    ws.addEventListener("message", (e) => {
      if (typeof e.data === "string") { rec.texts.push(e.data); return; }
      rec.frames += 1; if (rec.firstFrame === null) rec.firstFrame = Date.now();
    });
    ws.addEventListener("close", (e) => { rec.closed = Date.now(); rec.code = e.code; });
    return ws;
  };
  window.WebSocket.prototype = Native.prototype;
  Object.assign(window.WebSocket, { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 });
})();
"""


def test_disable_ends_browser_and_rtsps_streams_within_a_second(
        camera: Camera, admin: Session) -> None:
    from playwright.sync_api import sync_playwright

    rtsps = watch_rtsps(camera.rtsps_url("alice"))
    try:
        with sync_playwright() as p:
            browser = launch(p)
            try:
                page = browser.new_context(ignore_https_errors=True).new_page()
                page.add_init_script(WATCH_JS)
                log_in(page, camera.server.url, "alice", STRONG)
                page.wait_for_function(
                    "() => { const v = document.getElementById('live-video');"
                    " return v && v.currentTime > 0.5; }", timeout=30000)
                assert rtsps.started.wait(30), rtsps.detail
                time.sleep(max(0.0, rtsps.first_media + SETTLE_S - time.time()))  # type: ignore[operator]
                t0 = time.time()
                r = admin.send("PATCH", "/api/v1/users/alice", {"disabled": True})
                assert r.status_code == 200, r.text
                page.wait_for_function("() => window.__ws[0].closed !== null", timeout=6000)
                first = page.evaluate("window.__ws[0]")
                browser_s = first["closed"] / 1000 - t0
                page.wait_for_function(
                    "() => document.getElementById('live-state').textContent"
                    ".includes('account disabled')", timeout=3000)
                frames_at_close = first["frames"]
                page.wait_for_timeout(500)
                assert page.evaluate("window.__ws[0].frames") == frames_at_close
            finally:
                browser.close()
        rtsps_s = latency(rtsps, t0)
    finally:
        stop(rtsps)
    assert browser_s <= REVOCATION_BOUND_S, f"browser WSS ended {browser_s:.2f} s after"
    assert first["code"] == 1008
    assert rtsps_s <= REVOCATION_BOUND_S, f"RTSPS ended {rtsps_s:.2f} s after ({rtsps.detail})"
    assert _revoked(camera, "alice") == {"web-live": "account disabled",
                                         "rtsps": "account disabled"}
    listing = admin.send("GET", "/api/v1/viewers").json()
    assert not [v for v in listing["viewers"] if v["user"] == "alice"]
    assert {(v["kind"], v["reason"]) for v in listing["revoked"] if v["user"] == "alice"} == {
        ("web-live", "account disabled"), ("rtsps", "account disabled")}


# Each change is prepared first (a second login costs an Argon2 check) and returns the
# request that makes it; latency is measured from the change's own security-log record, which
# each handler writes right after committing it (a password change spends most of its request
# in Argon2 before anything changes).


def _logout_everywhere(camera: Camera, admin: Session, user: str):
    other = Session(camera, user)
    return lambda: other.send("DELETE", "/api/v1/sessions")


def _own_password_change(camera: Camera, admin: Session, user: str):
    other = Session(camera, user)
    return lambda: other.send("POST", "/api/v1/session/password",
                              {"current_password": STRONG, "new_password": NEW_PASSWORD})


def _admin_reset(camera: Camera, admin: Session, user: str):
    return lambda: admin.send("POST", f"/api/v1/users/{user}/reset-password")


def _role_change(camera: Camera, admin: Session, user: str):
    return lambda: admin.send("PATCH", f"/api/v1/users/{user}", {"role": "viewer"})


def _privacy_mode(camera: Camera, admin: Session, user: str):
    return lambda: admin.send("PUT", "/api/v1/privacy", {"enabled": True})


@pytest.mark.parametrize(("user", "change", "action", "reason"), [
    ("bob", _logout_everywhere, "auth.logout_all", "session ended"),
    ("frank", _own_password_change, "auth.password_changed", "password changed"),
    ("carol", _admin_reset, "user.password_reset", "password changed"),
    ("dave", _role_change, "user.role_changed", "role changed"),
    ("gina", _privacy_mode, "video.privacy_mode", "privacy mode"),
], ids=["logout-everywhere", "own-password-change", "admin-password-reset", "role-change",
        "privacy-mode"])
def test_each_withdrawal_ends_the_wss_stream_within_a_second(
        camera: Camera, admin: Session, user: str, change, action: str, reason: str) -> None:
    viewer = Session(camera, user)
    wss = watch_wss(camera, viewer)
    try:
        assert wss.started.wait(30), wss.detail
        make_change = change(camera, admin, user)
        time.sleep(0.3)
        sent = time.time()
        r = make_change()
        assert r.status_code == 200, r.text
        [event] = [e for e in camera.events(action) if log_time(e) >= sent - 0.01]
        t0 = log_time(event)
        took = latency(wss, t0)
    finally:
        if change is _privacy_mode:
            admin.send("PUT", "/api/v1/privacy", {"enabled": False})
        stop(wss)
        viewer.close()
    assert took <= REVOCATION_BOUND_S, f"WSS ended {took:.2f} s after ({wss.detail})"
    assert wss.ended_at - sent <= REVOCATION_BOUND_S + 3  # type: ignore[operator]  # Argon2
    assert wss.detail.startswith("closed 1008"), wss.detail
    assert [m["reason"] for m in revoked_texts(wss)] == [reason]
    assert _revoked(camera, user) == {"web-live": reason}


def test_cli_disable_in_another_process_ends_streams_within_a_second(
        camera: Camera, admin: Session) -> None:
    viewer = Session(camera, "erin")
    wss = watch_wss(camera, viewer)
    rtsps = watch_rtsps(camera.rtsps_url("erin"))
    try:
        assert wss.started.wait(30) and rtsps.started.wait(30), (wss.detail, rtsps.detail)
        time.sleep(max(0.0, rtsps.first_media + SETTLE_S - time.time()))  # type: ignore[operator]
        result = run_cli("user", "disable", "erin", "--data-dir", str(camera.data_dir))
        cli_done = time.time()
        assert result.returncode == 0, result.stderr
        [event] = [e for e in camera.events("user.disabled", "cli")
                   if e["details"]["target"] == "erin"]
        t0 = log_time(event)  # the change was committed just before this record
        wss_s, rtsps_s = latency(wss, t0), latency(rtsps, t0)
    finally:
        stop(rtsps)
        stop(wss)
        viewer.close()
    assert wss_s <= REVOCATION_BOUND_S, f"WSS ended {wss_s:.2f} s after ({wss.detail})"
    assert rtsps_s <= REVOCATION_BOUND_S, f"RTSPS ended {rtsps_s:.2f} s after ({rtsps.detail})"
    assert min(wss.ended_at, rtsps.ended_at) < cli_done + REVOCATION_BOUND_S  # type: ignore[type-var]
    assert _revoked(camera, "erin") == {"web-live": "account disabled",
                                        "rtsps": "account disabled"}
