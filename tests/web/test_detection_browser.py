"""The detection view in headless Chromium: tamper state, accepting the view, motion zones.

docs/detection.md 'Motion zones and sensitivity' (set in the UI, in force at once), TAICS 5.1.2.1 (the owner
sees the tamper state and accepts a deliberately moved view; both are logged).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.browser import launch, log_in
from tests.support import STRONG, read_log
from tests.web.test_live_browser import set_password

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.mark.peer
def test_owner_draws_a_motion_zone_and_accepts_the_view(server):
    from playwright.sync_api import sync_playwright

    set_password(server)
    errors: list[str] = []
    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_context(ignore_https_errors=True,
                                   viewport={"width": 1200, "height": 1100}).new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        log_in(page, server.url, "admin", STRONG)
        page.wait_for_selector("#live-alarm", state="attached")
        page.wait_for_timeout(500)
        assert page.locator("#live-alarm").is_hidden()  # no tampering on the test pattern
        page.click("nav button[data-view=detection]")
        page.wait_for_selector("#det-tamper tr[data-kind=covered]", timeout=10000)
        assert page.locator("#det-tamper tr").count() == 3
        page.wait_for_function("() => document.getElementById('motion-img').naturalWidth > 0",
                               timeout=10000)
        stage = page.locator("#motion-stage").bounding_box()
        page.mouse.move(stage["x"] + stage["width"] * 0.2, stage["y"] + stage["height"] * 0.1)
        page.mouse.down()
        page.mouse.move(stage["x"] + stage["width"] * 0.6, stage["y"] + stage["height"] * 0.5,
                        steps=4)
        page.mouse.up()
        assert "zone 1" in page.locator("#motion-list").inner_text()
        page.evaluate("() => { const s = document.getElementById('motion-sensitivity');"
                      " s.value = 80; s.dispatchEvent(new Event('input')); }")
        assert page.locator("#motion-sens-value").inner_text() == "80 %"
        page.click("#motion-save")
        page.wait_for_function(
            "() => document.getElementById('motion-result').textContent.includes('in force')")
        page.click("#det-rebaseline")
        page.wait_for_function("() => document.getElementById('det-rebaseline-result')"
                               ".textContent.includes('new normal')")
        page.screenshot(path=str(DOCS / "ui-detection.png"), full_page=True)
        browser.close()
    assert not [e for e in errors if "Content Security Policy" in e], errors
    with server.client() as c:
        r = c.post("/api/v1/session", json={"username": "admin", "password": STRONG})
        assert r.status_code == 200
        saved = c.get("/api/v1/motion").json()
    assert saved["sensitivity"] == 0.8 and saved["applied"] is True
    (zone,) = saved["zones"]
    x0, y0, x1, y1 = zone["rect"]
    assert zone["name"] == "zone 1"
    assert abs(x0 - 0.2) < 0.02 and abs(y0 - 0.1) < 0.02 and abs(x1 - 0.6) < 0.02
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        actions = [e["action"] for e in read_log(server.data_dir)]
        if "tamper.rebaselined" in actions:
            break
        time.sleep(0.2)
    assert "config.motion_changed" in actions and "tamper.rebaselined" in actions


@pytest.mark.peer
def test_a_covered_lens_shows_over_the_live_picture(server):
    """Blacking out the whole picture (a full privacy mask = a covered lens to the detector)
    raises tamper.covered, and the live view says so."""
    from playwright.sync_api import expect, sync_playwright

    from tests.support import nonce

    set_password(server)
    with server.client() as c:
        r = c.post("/api/v1/session", json={"username": "admin", "password": STRONG})
        csrf = r.json()["csrf_token"]
        deadline = time.monotonic() + 30
        while not c.get("/api/v1/tamper").json().get("frames_analysed", 0) > 60:
            assert time.monotonic() < deadline, "the detector did not learn the view"
            time.sleep(0.5)
        r = c.put("/api/v1/privacy/masks", json={"masks": [{"rect": [0, 0, 1, 1]}]},
                  headers={"X-CSRF-Token": csrf, "X-Request-Nonce": nonce()})
        assert r.status_code == 200, r.text
    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_context(ignore_https_errors=True).new_page()
        log_in(page, server.url, "admin", STRONG)
        expect(page.locator("#live-alarm")).to_contain_text("Lens covered", timeout=30000)
        browser.close()
    raised = [e for e in read_log(server.data_dir) if e["action"] == "tamper.covered"]
    assert raised and raised[0]["details"]["phase"] == "raised"
