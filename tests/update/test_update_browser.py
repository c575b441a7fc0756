"""The Device page shows the update status and lets an admin check (IoT-1005-1 5.3.1.3), in
headless Chromium against a running device whose channel is a real TUF repository on loopback."""

from __future__ import annotations

import shutil

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.browser import launch, log_in
from tests.support import STRONG, start_server
from tests.update.helpers import release_tar, write_code_key
from vigilcam import product
from vigilcam.update.config import UpdateConfig, UpdatePaths


def newer(version: str) -> str:
    major, minor, *_ = version.split(".")
    return f"{major}.{int(minor) + 1}.0"


@pytest.mark.peer
def test_device_page_shows_update_status_and_checks(tmp_path, repo, https_repo, pki):
    from playwright.sync_api import expect, sync_playwright

    data = tmp_path / "data"
    paths = UpdatePaths(data)
    paths.trust_dir.mkdir(parents=True)
    paths.trusted_root.write_bytes(repo.trusted_root())
    key = Ed25519PrivateKey.generate()
    write_code_key(paths.code_key, key)
    shutil.copy(pki.ca_file, paths.ca_file)
    UpdateConfig(repository_url=https_repo.url,
                 install_root=str(tmp_path / "opt")).save(paths.config_file)
    server = start_server(data)
    try:
        with sync_playwright() as p:
            browser = launch(p)
            page = browser.new_context(ignore_https_errors=True).new_page()
            log_in(page, server.url, "admin", server.setup_secret)
            page.fill("#pw-current", server.setup_secret)
            page.fill("#pw-new", STRONG)
            page.fill("#pw-again", STRONG)
            page.click("#password-form button[type=submit]")
            page.click("nav button[data-view=device]")
            expect(page.locator("#update-running")).to_contain_text(product.VERSION)
            expect(page.locator("#update-update-channel")).to_have_text(https_repo.url)
            expect(page.locator("#update-checked")).to_have_text("never")
            expect(page.locator("#update-install")).to_be_hidden()
            # the project publishes a release: "Check now" finds it, the page says so
            version = newer(product.VERSION)
            repo.publish(version, release_tar(tmp_path / "build", version, key))
            page.click("#update-check")
            expect(page.locator("#update-result")).to_have_text(
                f"Version {version} is available.")
            expect(page.locator("#update-available")).to_have_text(version)
            expect(page.locator("#update-checked")).to_contain_text("(ok)")
            expect(page.locator("#update-install")).to_be_visible()
            browser.close()
    finally:
        server.kill()
