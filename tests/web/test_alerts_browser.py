"""Alert channels in the browser: add one, see its key once, send a test, see its state."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser import launch, log_in
from tests.support import STRONG, free_port
from tests.web.test_live_browser import set_password

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.mark.peer
def test_owner_adds_channel_and_sends_test(server):
    from playwright.sync_api import expect, sync_playwright

    set_password(server)
    dead = free_port()  # nothing listens there: delivery must fail visibly, not silently
    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_context(ignore_https_errors=True,
                                   viewport={"width": 1300, "height": 900}).new_page()
        log_in(page, server.url, "admin", STRONG)
        page.click("nav button[data-view=alerts]")
        expect(page.locator("#alerts-warning")).to_contain_text("No alert channel yet")
        page.select_option("#alert-kind", "webhook")
        page.fill("#alert-url", f"https://127.0.0.1:{dead}/hook")
        page.check("#alert-cat-motion")
        page.click("#alert-form button[type=submit]")  # a receiver on the camera: refused
        expect(page.locator("#alert-error")).to_contain_text("allow a local target")
        page.check("#alert-allow-local")
        page.click("#alert-form button[type=submit]")
        expect(page.locator("#alert-secret")).to_contain_text("shown once")
        expect(page.locator("#alerts-body")).to_contain_text(f"127.0.0.1:{dead}")
        expect(page.locator("#alerts-body tr td").nth(2)).to_have_text("motion")
        page.click("#alerts-test-all")
        expect(page.locator("#alerts-test-result")).to_contain_text("failed", timeout=20000)
        page.screenshot(path=str(DOCS / "ui-alerts.png"))
        page.click("#alerts-body button:text('Remove')")
        expect(page.locator("#alerts-warning")).to_contain_text("No alert channel yet")
        browser.close()
