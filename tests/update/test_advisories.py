"""IoT-1005-1 5.2.1.1 on a device without pip-audit: the update channel's signed advisories.

The release publishes pip-audit's report of its lock as the TUF target ``advisories.json``; each
update check fetches it (verified like a package) and the audit judges the packages that are
really installed against it. Over real HTTPS and real TUF metadata on loopback.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from tests.support import read_log
from vigilcam.compliance import checks_local
from vigilcam.compliance.model import Verdict
from vigilcam.compliance.state import LocalContext
from vigilcam.sbom import advisories
from vigilcam.sbom.vulns import FAIL, NOT_TESTED, PASS, VulnReport
from vigilcam.update.config import UpdatePaths
from vigilcam.update.errors import RefusalKind, UpdateError

NOW = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)
INSTALLED = {"cryptography": "46.0.3", "jinja2": "3.1.6"}


def report_of(installed: dict[str, str], vulnerable: str | None = None) -> dict:
    deps = []
    for name, version in installed.items():
        vulns = [{"id": "GHSA-test-0001", "aliases": ["CVE-2099-0001"], "fix_versions": ["99.0"],
                  "description": "made up for the test"}] if name == vulnerable else []
        deps.append({"name": name, "version": version, "vulns": vulns})
    return {"dependencies": deps, "fixes": []}


def doc(installed: dict[str, str], vulnerable: str | None = None, *,
        generated: dt.datetime = NOW) -> bytes:
    return advisories.document(report_of(installed, vulnerable), generated=generated,
                               source="pip-audit (test report)")


# --- the verdict (pure) -----------------------------------------------------------------------

def test_clean_report_covering_every_installed_package_passes():
    report = advisories.judge(doc(INSTALLED), INSTALLED, NOW)
    assert report.status == PASS and report.audited == 2
    assert "signed advisories of 2026-12-06T12:00:00Z" in report.detail


def test_a_finding_for_an_installed_version_fails_and_names_it():
    report = advisories.judge(doc(INSTALLED, "jinja2"), INSTALLED, NOW)
    assert report.status == FAIL
    assert [f.describe() for f in report.findings] == [
        "jinja2 3.1.6: GHSA-test-0001 (CVE-2099-0001), fixed in 99.0"]


def test_a_finding_for_another_version_is_not_ours():
    other = {**INSTALLED, "jinja2": "2.0"}
    report = advisories.judge(doc(other, "jinja2"), INSTALLED, NOW)
    # jinja2 3.1.6 is installed, the report audited 2.0: not covered, never a pass
    assert report.status == NOT_TESTED and "jinja2 3.1.6" in report.detail


def test_a_package_changed_after_the_release_is_not_covered():
    report = advisories.judge(doc(INSTALLED), {**INSTALLED, "requests": "2.32.5"}, NOW)
    assert report.status == NOT_TESTED and "requests 2.32.5" in report.detail


@pytest.mark.parametrize("data, why", [
    (None, "no signed advisories"),
    (b"not json", "damaged"),
    (b'{"format": "other/9"}', "unknown format"),
    (json.dumps({"format": advisories.FORMAT, "generated": "yesterday", "report": {}}).encode(),
     "damaged"),
])
def test_missing_or_damaged_advisories_are_not_tested(data, why):
    report = advisories.judge(data, INSTALLED, NOW)
    assert report.status == NOT_TESTED and why in report.detail


def test_a_release_that_looked_up_nothing_covers_nothing():
    skipped = {"dependencies": [{"name": n, "version": v, "skip_reason": "service unreachable"}
                                for n, v in INSTALLED.items()]}
    data = advisories.document(skipped, generated=NOW, source="pip-audit (offline)")
    report = advisories.judge(data, INSTALLED, NOW)
    assert report.status == NOT_TESTED
    assert "do not cover 2 of 2 installed packages" in report.detail


def test_stale_advisories_are_not_tested():
    old = doc(INSTALLED, generated=NOW - advisories.MAX_AGE - dt.timedelta(minutes=1))
    report = advisories.judge(old, INSTALLED, NOW)
    assert report.status == NOT_TESTED and "older than 8 days" in report.detail


# --- fetched with each check, verified like a package -----------------------------------------

def installed_doc(vulnerable: str | None = None) -> bytes:
    return advisories.document(report_of(advisories.installed_packages(), vulnerable),
                               generated=dt.datetime.now(dt.UTC), source="pip-audit (test)")


@pytest.fixture
def no_pip_audit(monkeypatch):
    """As on a packaged device: pip-audit is not installed."""
    monkeypatch.setattr("vigilcam.sbom.vulns.cached_vulnerability_audit",
                        lambda timeout=0: VulnReport(NOT_TESTED, detail="pip-audit is not "
                                                     "installed"))


def test_check_fetches_the_advisories_and_the_audit_judges_by_them(
        tmp_path, repo, make_service, device, no_pip_audit):
    ctx = LocalContext(device.paths)
    assert checks_local.known_vulnerabilities(ctx).verdict is Verdict.NOT_TESTED
    repo.publish_advisories(installed_doc())
    service = make_service(device.paths.root, device.record)
    assert service.check() is None
    assert UpdatePaths(device.paths.root).advisories_file.exists()
    result = checks_local.known_vulnerabilities(LocalContext(device.paths))
    assert result.verdict is Verdict.PASS, result
    assert result.evidence[0].startswith("update channel: signed advisories of ")
    # the project learns of a vulnerability in a bundled package: the next check tells
    name = sorted(advisories.installed_packages())[0]
    repo.publish_advisories(installed_doc(vulnerable=name))
    service.check()
    result = checks_local.known_vulnerabilities(LocalContext(device.paths))
    assert result.verdict is Verdict.FAIL
    assert any(line.startswith(f"{name} ") and "GHSA-test-0001" in line
               for line in result.evidence), result.evidence


def test_tampered_advisories_are_refused_and_the_last_good_ones_kept(
        tmp_path, repo, make_service, device):
    repo.publish_advisories(installed_doc())
    service = make_service(device.paths.root, device.record)
    service.check()
    feed = UpdatePaths(device.paths.root).advisories_file
    good = feed.read_bytes()
    # a newer, signed document whose bytes are then changed on the server ("all clear")
    path = repo.publish_advisories(installed_doc(vulnerable="cryptography"))
    path.write_bytes(path.read_bytes().replace(b"GHSA-test-0001", b"GHSA-none-0000"))
    with pytest.raises(UpdateError) as info:
        service.check()
    assert info.value.kind is RefusalKind.TAMPERED
    assert feed.read_bytes() == good
    event = [e for e in read_log(device.paths.root) if e["action"] == "update.refused"][-1]
    assert event["details"]["kind"] == "tampered"
