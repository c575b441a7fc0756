"""The web UI in headless Chromium: login, forced change, user admin, security log viewer."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.browser import launch
from tests.support import STRONG
from vigilcam import product

DOCS = Path(__file__).resolve().parents[2] / "docs"



@pytest.mark.peer
def test_owner_first_start_in_browser(server):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        context = browser.new_context(ignore_https_errors=True, viewport={"width": 1200,
                                                                         "height": 800})
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(server.url + "/")
        expect(page.locator("#model")).to_have_text(product.MODEL)
        expect(page.locator("#version")).to_contain_text(product.VERSION)
        page.fill("#login-user", "admin")
        page.fill("#login-pass", "wrong password here")
        page.click("#login-form button[type=submit]")
        expect(page.locator("#login-error")).to_contain_text("wrong")
        page.fill("#login-pass", server.setup_secret)
        page.click("#login-form button[type=submit]")
        expect(page.locator("#view-password")).to_be_visible()
        page.fill("#pw-current", server.setup_secret)
        page.fill("#pw-new", "password1234567")
        page.fill("#pw-again", "password1234567")
        page.click("#password-form button[type=submit]")
        expect(page.locator("#password-error")).to_contain_text("guess")
        page.fill("#pw-current", server.setup_secret)
        page.fill("#pw-new", STRONG)
        page.fill("#pw-again", STRONG)
        page.click("#password-form button[type=submit]")
        expect(page.locator("#nav")).to_be_visible()
        # The ONVIF state is held back on its way: until it arrives the switch takes no click
        # (a click then would be undone by the late answer).
        held: list = []
        page.route("**/api/v1/onvif", lambda route: held.append(route)
                   if route.request.method == "GET" else route.continue_())
        page.click("nav button[data-view=device]")
        expect(page.locator("#device-model")).to_have_text(product.MODEL)
        expect(page.locator("#device-device-id")).to_have_text(re.compile(r"[0-9a-f-]{36}"))
        for _ in range(100):
            if held:
                break
            page.wait_for_timeout(50)
        assert held, "the Device view did not ask for the ONVIF state"
        expect(page.locator("#onvif-enabled")).to_be_disabled()
        for route in held:
            route.continue_()
        page.unroute("**/api/v1/onvif")
        expect(page.locator("#onvif-enabled")).to_be_enabled()
        expect(page.locator("#onvif-enabled")).not_to_be_checked()  # off by default
        page.check("#onvif-enabled")
        expect(page.locator("#onvif-result")).to_have_text("ONVIF is on.")
        page.screenshot(path=str(DOCS / "ui-device.png"))
        page.uncheck("#onvif-enabled")
        expect(page.locator("#onvif-result")).to_have_text("ONVIF is off.")
        page.click("nav button[data-view=users]")
        page.fill("#new-user", "nina")
        page.select_option("#new-role", "viewer")
        page.click("#user-form button[type=submit]")
        expect(page.locator("#user-secret")).to_contain_text("One-time password for nina")
        expect(page.locator("#users-body")).to_contain_text("nina")
        page.click("nav button[data-view=log]")
        expect(page.locator("#log-body")).to_contain_text("user.added")
        expect(page.locator("#log-body")).to_contain_text("auth.password_changed")
        expect(page.locator("#log-body")).to_contain_text("config.onvif_changed")
        page.click("#log-verify")
        expect(page.locator("#log-verify-result")).to_contain_text("Chain intact")
        page.screenshot(path=str(DOCS / "ui-security-log.png"))
        page.click("#logout")
        expect(page.locator("#view-login")).to_be_visible()
        assert not [e for e in errors if "Content Security Policy" in e], errors
        browser.close()
