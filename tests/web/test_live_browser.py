"""Live view in headless Chromium: fMP4 over WSS into MSE; every viewer is an access event.

TAICS 5.5.1.1 (no unseen viewer), 5.5.2.3 (video only over TLS), IoT-1005-1 5.1.2.1.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser import launch, log_in
from tests.support import STRONG, nonce, read_log

DOCS = Path(__file__).resolve().parents[2] / "docs"


def set_password(server):
    with server.client() as c:
        r = c.post("/api/v1/session", json={"username": "admin", "password": server.setup_secret})
        r = c.post("/api/v1/session/password",
                   json={"current_password": server.setup_secret, "new_password": STRONG},
                   headers={"X-CSRF-Token": r.json()["csrf_token"], "X-Request-Nonce": nonce()})
        assert r.status_code == 200


@pytest.mark.peer
def test_browser_plays_live_video_and_is_seen(server):
    from playwright.sync_api import expect, sync_playwright

    set_password(server)
    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_context(ignore_https_errors=True,
                                   viewport={"width": 1400, "height": 1000}).new_page()
        log_in(page, server.url, "admin", STRONG)
        page.wait_for_function(
            "() => { const v = document.getElementById('live-video');"
            " return v && v.videoWidth === 1280 && v.currentTime > 1.0; }", timeout=20000)
        t1 = page.evaluate("document.getElementById('live-video').currentTime")
        page.wait_for_timeout(1000)
        t2 = page.evaluate("document.getElementById('live-video').currentTime")
        assert t2 > t1 + 0.5, (t1, t2)  # frames keep arriving
        assert page.locator("#live-state").inner_text() == "live"
        page.screenshot(path=str(DOCS / "ui-live.png"))
        # A second session sees the first one watching, and switches privacy mode from the
        # Viewers view: the switch shows the camera's state, the first page's video stops, and
        # comes back when privacy mode is switched off.
        admin = browser.new_context(ignore_https_errors=True).new_page()
        log_in(admin, server.url, "admin", STRONG)
        admin.click("nav button[data-view=viewers]")
        expect(admin.locator("#viewers-body")).to_contain_text("web-live")
        toggle = admin.locator("#privacy-toggle")
        expect(toggle).to_be_enabled()
        expect(toggle).not_to_be_checked()
        admin.check("#privacy-toggle")
        expect(toggle).to_be_enabled()
        expect(toggle).to_be_checked()
        # the reason stays on screen while the page waits for privacy mode to end
        expect(page.locator("#live-state")).to_have_text("video stopped: privacy mode")
        page.wait_for_timeout(1500)  # past the first reconnect, refused in privacy mode
        expect(page.locator("#live-state")).to_contain_text("privacy mode")
        admin.uncheck("#privacy-toggle")
        expect(toggle).to_be_enabled()
        expect(toggle).not_to_be_checked()
        expect(page.locator("#live-state")).to_have_text("live", timeout=20000)
        browser.close()
    privacy = [e["details"] for e in read_log(server.data_dir)
               if e["action"] == "video.privacy_mode"]
    assert privacy == [{"enabled": True}, {"enabled": False}], privacy
    started = [e for e in read_log(server.data_dir) if e["action"] == "video.view_started"]
    # the first page before and after privacy mode, and the second page's own Live view if it
    # began before the Viewers view was opened
    assert 2 <= len(started) <= 3, started
    for e in started:
        assert e["user"] == "admin" and e["source"] == "127.0.0.1"
        assert e["details"]["stream"] == "main" and e["details"]["kind"] == "web-live"


@pytest.mark.peer
def test_live_socket_refuses_anonymous_and_foreign_origin(server):
    import asyncio
    import ssl

    import websockets

    set_password(server)
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    url = f"wss://127.0.0.1:{server.port}/api/v1/live?stream=main"

    async def attempt(headers):
        try:
            async with websockets.connect(url, ssl=ctx, additional_headers=headers,
                                          open_timeout=5) as ws:
                msg = await asyncio.wait_for(ws.recv(), 3)
                return f"got {msg!r}"
        except websockets.exceptions.InvalidStatus as exc:
            return f"refused {exc.response.status_code}"
        except websockets.exceptions.ConnectionClosed as exc:
            return f"closed {exc.rcvd.code if exc.rcvd else None}"

    origin = {"Origin": f"https://127.0.0.1:{server.port}"}
    assert not asyncio.run(attempt(origin)).startswith("got")
    with server.client() as c:
        c.post("/api/v1/session", json={"username": "admin", "password": STRONG})
        cookie = "; ".join(f"{k}={v}" for k, v in c.cookies.items())
    evil = {"Origin": "https://evil.example", "Cookie": cookie}
    assert not asyncio.run(attempt(evil)).startswith("got")
    good = {**origin, "Cookie": cookie}
    assert asyncio.run(attempt(good)).startswith("got")
    assert sum(e["action"] == "video.view_started" for e in read_log(server.data_dir)) == 1


@pytest.mark.peer
def test_snapshot_viewers_and_privacy_mode(server):
    set_password(server)
    with server.client() as c:
        r = c.post("/api/v1/session", json={"username": "admin", "password": STRONG})
        csrf = r.json()["csrf_token"]
        import time
        deadline = time.monotonic() + 15
        while True:
            snap = c.get("/api/v1/snapshot.jpg")
            if snap.status_code == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        assert snap.status_code == 200 and snap.content[:3] == b"\xff\xd8\xff"
        statuses = [c.get("/api/v1/snapshot.jpg").status_code for _ in range(8)]
        assert 429 in statuses
        r = c.put("/api/v1/privacy", json={"enabled": True},
                  headers={"X-CSRF-Token": csrf, "X-Request-Nonce": nonce()})
        assert r.status_code == 200
        assert c.get("/api/v1/viewers").json()["privacy"] is True
        time.sleep(10.5)
        assert c.get("/api/v1/snapshot.jpg").status_code == 503
        assert c.get("/api/v1/media").json()["privacy"] is True
    actions = [e["action"] for e in read_log(server.data_dir)]
    assert "video.privacy_mode" in actions and "video.view_started" in actions
