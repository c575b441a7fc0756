"""Report writers: stable JSON, Markdown, and a self-contained HTML file that renders in
headless Chromium with no external load (screenshot kept in docs/audit-report.png)."""

from __future__ import annotations

import json

import pytest

from tests.browser import CHROMIUM_ARGS
from tests.support import REPO
from vigilcam.compliance import registry
from vigilcam.compliance.audit import run_local
from vigilcam.compliance.report import to_dict, to_json, to_markdown, to_text
from vigilcam.compliance.report_html import to_html
from vigilcam.compliance.state import LocalContext


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    from tests.compliance.conftest import make_clean_host
    from vigilcam.app import provision
    from vigilcam.platform.config import Settings
    from vigilcam.platform.paths import DataPaths

    root = tmp_path_factory.mktemp("report")
    paths = DataPaths(root / "data")
    provision(paths, Settings())
    return run_local(LocalContext(paths, host=make_clean_host(root / "host")))


def test_json_schema_is_stable(report):
    data = json.loads(to_json(report))
    assert list(data) == ["schema", "schema_version", "tool", "mode", "started", "duration_s",
                          "subject", "summary", "notes", "clauses"]
    assert data["schema_version"] == 1 and data["mode"] == "local"
    assert data["summary"]["exit_code"] == 1
    assert data["summary"]["taics_level_reached"] in (0, 1, 2, 3)
    assert sum(data["summary"][v] for v in ("PASS", "FAIL", "NOT APPLICABLE", "NOT TESTED")) \
        == len(registry.CLAUSES)
    fields = {"key", "standard", "id", "level", "title", "group", "en303645", "status",
              "status_note", "modules", "tests", "check", "kind", "verdict", "evidence", "todo",
              "seconds"}
    for clause in data["clauses"]:
        assert set(clause) == fields
        assert (clause["todo"] != "") == (clause["verdict"] == "FAIL")
    assert to_dict(report)["clauses"][0]["check"].startswith("vigilcam.compliance.")
    # the documented schema names every field
    doc = (REPO / "docs" / "audit-report.md").read_text()
    for name in fields | set(data):
        assert f'"{name}"' in doc, name


def test_text_and_markdown(report):
    text = to_text(report)
    assert "FAIL           IoT-1005-1 5.8.1.1" in text and "what to do:" in text
    md = to_markdown(report)
    assert "## TAICS TS 5100-2-1 level 3" in md and "| 5.1.2.2 | 5.1-5 |" in md


@pytest.mark.peer
def test_html_renders_self_contained_in_chromium(report, tmp_path):
    from playwright.sync_api import sync_playwright

    html = to_html(report)
    assert "<script" not in html and "<link" not in html and "@import" not in html
    page_file = tmp_path / "audit.html"
    page_file.write_text(html, encoding="utf-8")
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 1500})
            page.on("request", lambda r: requests.append(r.url))
            page.goto(page_file.as_uri())
            assert page.locator("h1").inner_text().startswith("Conformance audit")
            assert page.locator("svg rect").count() >= len(report.groups())
            assert page.locator("tbody tr").count() == len(registry.CLAUSES)
            assert page.locator("h2", has_text="TAICS TS 5100-2-1 level 2").count() == 1
            assert page.locator("text=Level reached").count() >= 1
            assert page.locator(".todo").count() == len(report.failed)
            page.screenshot(path=str(REPO / "docs" / "audit-report.png"))
        finally:
            browser.close()
    assert requests == [page_file.as_uri()], requests
