"""The browser UI as native ES modules under the CSP (TAICS 5.2.6.1: no inline script, every
asset served by the device itself).

What must hold: the page starts one module script from 'self'; every file under static/js is
part of its module graph and arrives with a JavaScript media type whatever the host's
mimetypes table says (with nosniff a browser refuses a module of another type); the graph
loads and runs in Chromium without a console error or a CSP violation; and the CSP still
blocks inline script in that page.
"""

from __future__ import annotations

import re

import pytest

from tests.browser import launch
from vigilcam.web.ui import STATIC_DIR

JS_DIR = STATIC_DIR / "js"
MODULES = sorted(p.relative_to(STATIC_DIR).as_posix() for p in JS_DIR.rglob("*.js"))


def test_modules_are_javascript_and_revalidated(api, monkeypatch):
    page = api.get("/").text
    scripts = re.findall(r"<script\b[^>]*>", page)
    assert scripts == ['<script type="module" src="/static/js/main.js">'], scripts
    # A host whose mimetypes table calls .js plain text must not break the modules.
    import starlette.responses

    real = starlette.responses.guess_type
    monkeypatch.setattr(starlette.responses, "guess_type",
                        lambda url, strict=True: ("text/plain", None)
                        if str(url).endswith(".js") else real(url, strict))
    assert len(MODULES) >= 10, MODULES
    for rel in MODULES:
        r = api.get("/static/" + rel)
        assert r.status_code == 200, rel
        assert r.headers["content-type"] == "text/javascript; charset=utf-8", rel
        assert r.headers["cache-control"] == "no-cache", rel  # revalidated: no mixed releases
        assert "script-src 'self'" in r.headers["content-security-policy"]
        again = api.get("/static/" + rel, headers={"if-none-match": r.headers["etag"]})
        assert again.status_code == 304, rel
    css = api.get("/static/style.css")
    assert css.headers["content-type"] == "text/css; charset=utf-8"


@pytest.mark.peer
def test_module_graph_loads_without_console_error_or_csp_violation(server):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        try:
            page = browser.new_context(ignore_https_errors=True).new_page()
            page.add_init_script("window.__csp = []; document.addEventListener("
                                 "'securitypolicyviolation', (e) => window.__csp.push("
                                 "e.violatedDirective + ' ' + e.blockedURI));")
            messages: list[str] = []
            page.on("console", lambda m: messages.append(f"{m.type}: {m.text}")
                    if m.type in ("error", "warning") else None)
            page.on("pageerror", lambda exc: messages.append(f"pageerror: {exc}"))
            loaded: dict[str, tuple[int, str]] = {}
            failed: set[tuple[str, int]] = set()

            def on_response(r) -> None:
                path = "/" + r.url.split("/", 3)[3]
                if path.startswith("/static/"):
                    loaded[path.removeprefix("/static/")] = (
                        r.status, r.headers.get("content-type", ""))
                if r.status >= 400:
                    failed.add((path, r.status))

            page.on("response", on_response)
            page.goto(server.url + "/")
            # main.js ran its boot(): no session yet, so it shows the login view.
            expect(page.locator("#view-login")).to_be_visible()
            expect(page.locator("#nav")).to_be_hidden()
            page.wait_for_load_state("networkidle")
            js = sorted(k for k in loaded if k.endswith(".js"))
            assert js == MODULES, set(js) ^ set(MODULES)  # every module in the graph, no other
            for rel in js:
                assert loaded[rel] == (200, "text/javascript; charset=utf-8"), rel
            assert page.evaluate("window.__csp") == []
            # Chromium logs each refused request as a console error: only the expected ones.
            assert failed <= {("/api/v1/session", 401), ("/favicon.ico", 404)}, failed
            errors = [m for m in messages if "Failed to load resource" not in m]
            assert errors == [], messages
            # The listener sees violations and the CSP holds in this page: inline script is
            # blocked and reported, so the empty list above means something.
            page.evaluate("() => { const s = document.createElement('script');"
                          " s.textContent = 'window.__inline = 1'; document.head.append(s); }")
            page.wait_for_function("() => window.__csp.length > 0")
            assert page.evaluate("window.__inline") is None
            assert page.evaluate("window.__csp")[0].startswith("script-src")
        finally:
            browser.close()

