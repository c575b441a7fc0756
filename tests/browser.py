"""Headless Chromium for the tests and benchmarks that drive the web UI as a person does."""

from __future__ import annotations

from typing import Any

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def launch(p: Any) -> Any:
    """Debian's Chromium under Playwright (never a downloaded browser)."""
    return p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)


def log_in(page: Any, url: str, username: str, password: str) -> None:
    """Open the UI at ``url`` and submit the login form."""
    page.goto(url + "/")
    page.fill("#login-user", username)
    page.fill("#login-pass", password)
    page.click("#login-form button[type=submit]")
