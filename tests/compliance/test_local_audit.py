"""The local audit against real vigilcam state: default settings pass every applicable
implemented clause; breaking one protection at a time turns exactly its clause to FAIL.
(IoT-1005-1 5.2.2.1, 5.3.1.4, 5.4.1.2, 5.4.2.1, 5.1.3.1; TAICS 5.2.8.1; planned clauses.)"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sqlite3

import pytest
from argon2 import PasswordHasher

from tests.support import free_port, run_cli, start_server
from vigilcam import product
from vigilcam.app import provision
from vigilcam.compliance import registry, state
from vigilcam.compliance.audit import run_local
from vigilcam.compliance.model import Status, Verdict
from vigilcam.compliance.state import LocalContext
from vigilcam.platform import tls
from vigilcam.platform.config import Settings
from vigilcam.platform.paths import DataPaths


def audit(paths, host, **kw):
    lines: list[str] = []
    report = run_local(LocalContext(paths, host=host, **kw), progress=lines.append)
    assert lines, "progress lines are reported"
    return report


def failed(report) -> set[str]:
    return {o.clause.key for o in report.failed}


def assert_default_verdicts(report):
    for o in report.outcomes:
        c, r = o.clause, o.result
        if r.verdict == Verdict.FAIL:
            assert r.todo, f"{c.key} fails without saying what to do"
            assert c.status != Status.IMPLEMENTED, f"{c.key}: {r.evidence}"
        if c.status == Status.PLANNED:
            assert r.verdict == Verdict.FAIL, c.key
        assert r.evidence, f"{c.key} gives no evidence"
    assert report.of("TAICS 5.1.3.1").result.verdict == Verdict.NOT_APPLICABLE
    assert report.exit_code == 1  # planned clauses fail honestly


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    """One provisioned device and its default audit; each test breaks a copy of it."""
    from tests.compliance.conftest import make_clean_host

    root = tmp_path_factory.mktemp("pristine")
    paths = DataPaths(root / "data")
    provision(paths, Settings())
    report = audit(paths, make_clean_host(root / "host"))
    assert_default_verdicts(report)
    assert not report.subject["service_running"]
    return paths, failed(report)


@pytest.fixture
def baseline(pristine, tmp_path):
    paths, fails = pristine
    copy = DataPaths(tmp_path / "data")
    shutil.copytree(paths.root, copy.root, symlinks=True)
    return copy, fails


def test_default_device_not_running(baseline):
    _, fails = baseline
    implemented = {c.key for c in registry.CLAUSES if c.status == Status.IMPLEMENTED}
    assert not fails & implemented


def test_loose_file_permission_fails_5_4_1_2(baseline, clean_host):
    paths, base = baseline
    os.chmod(paths.accounts_db, 0o644)
    report = audit(paths, clean_host)
    assert failed(report) - base == {"IoT-1005-1 5.4.1.2"}
    assert "chmod 600" in " ".join(report.of("IoT-1005-1 5.4.1.2").result.evidence)


def test_tampered_log_fails_taics_5_2_8_1(baseline, clean_host):
    paths, base = baseline
    log = paths.seclog_dir / "current.jsonl"
    text = log.read_text()
    log.write_text(text.replace('"device.provisioned"', '"device.provisioneD"'))
    report = audit(paths, clean_host)
    assert failed(report) - base == {"TAICS 5.2.8.1"}
    assert "modified" in " ".join(report.of("TAICS 5.2.8.1").result.evidence)


def test_weakened_tls_policy_fails_5_4_2_1(baseline, clean_host, monkeypatch):
    paths, base = baseline
    monkeypatch.setattr(tls, "TLS12_CIPHERS", "ECDHE-RSA-AES256-GCM-SHA384:AES256-SHA")
    report = audit(paths, clean_host)
    assert failed(report) - base == {"IoT-1005-1 5.4.2.1"}
    assert "AES256-SHA" in " ".join(report.of("IoT-1005-1 5.4.2.1").result.evidence)


def test_expired_support_fails_5_3_1_4(baseline, clean_host, monkeypatch):
    paths, base = baseline
    monkeypatch.setattr(product, "SUPPORT_UNTIL", dt.date(2020, 1, 1))
    assert failed(audit(paths, clean_host)) - base == {"IoT-1005-1 5.3.1.4"}


def test_default_password_fails_5_1_3_1(baseline, clean_host):
    paths, base = baseline
    con = sqlite3.connect(paths.accounts_db)
    con.execute("UPDATE users SET password_hash=?, must_change=0 WHERE username='admin'",
                (PasswordHasher().hash("admin"),))
    con.commit()
    con.close()
    report = audit(paths, clean_host)
    assert failed(report) - base == {"IoT-1005-1 5.1.3.1"}
    assert "well-known password" in " ".join(report.of("IoT-1005-1 5.1.3.1").result.evidence)


def test_serial_login_on_host_fails_5_5_1_1(baseline, clean_host):
    paths, base = baseline
    wants = clean_host.etc / "systemd" / "system" / "getty.target.wants"
    (wants / "serial-getty@ttyS0.service").symlink_to("/lib/systemd/system/serial-getty@.service")
    assert failed(audit(paths, clean_host)) - base == {"IoT-1005-1 5.5.1.1", "TAICS 5.1.1.1"}


@pytest.mark.peer
def test_running_service_with_redirect_listener(tmp_path, clean_host):
    redirect = free_port()
    srv = start_server(tmp_path / "data", "--http-redirect-port", str(redirect))
    try:
        paths = DataPaths(srv.data_dir)
        report = audit(paths, clean_host)
        assert report.subject["service_running"]
        assert_default_verdicts(report)
        implemented = {c.key for c in registry.CLAUSES if c.status == Status.IMPLEMENTED}
        assert not failed(report) & implemented, [
            (o.clause.key, o.result.evidence) for o in report.failed]
        services = " ".join(report.of("IoT-1005-1 5.2.2.1").result.evidence)
        assert f":{srv.port}: HTTPS" in services
        assert f":{redirect}: plain-HTTP redirect" in services
        channels = " ".join(report.of("IoT-1005-1 5.4.2.1").result.evidence)
        assert "sslyze: TLS 1.2, TLS 1.3" in channels and "only redirects" in channels
        assert "login refused" in " ".join(report.of("IoT-1005-1 5.4.2.2").result.evidence)
        assert "TLS_AES_256_GCM_SHA384" in " ".join(report.of("TAICS 5.3.1.2").result.evidence)

        # The same listener, undocumented, is what 5.2.2.1 exists to catch.
        real = state.documented_listeners

        def without_redirect(settings):
            return {p: v for p, v in real(settings).items() if p != redirect}

        state_patch = pytest.MonkeyPatch()
        state_patch.setattr(state, "documented_listeners", without_redirect)
        try:
            broken = audit(paths, clean_host)
        finally:
            state_patch.undo()
        assert {"IoT-1005-1 5.2.2.1", "IoT-1005-1 5.4.2.1"} <= failed(broken)
        assert f"undocumented listener tcp 127.0.0.1:{redirect}" in " ".join(
            broken.of("IoT-1005-1 5.2.2.1").result.evidence)
    finally:
        srv.kill()


def test_cli_audit_json_and_exit_code(provisioned):
    paths, _ = provisioned
    result = run_cli("audit", "--data-dir", str(paths.root), "--format", "json")
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["schema"] == "vigilcam-audit" and report["schema_version"] == 1
    assert len(report["clauses"]) == len(registry.CLAUSES)
    assert report["summary"]["exit_code"] == 1
    assert "audit: IoT-1005-1 5.1.1.1" in result.stderr  # progress on stderr
    planned = [c for c in report["clauses"] if c["status"] == "planned"]
    assert all(c["verdict"] == "FAIL" and c["todo"] for c in planned)


def test_cli_refuses_bad_use(tmp_path):
    assert run_cli("audit", "--data-dir", str(tmp_path)).returncode == 2
    assert run_cli("audit", "--target", "http://127.0.0.1:1").returncode == 2
    assert run_cli("audit", "--i-own-this-device").returncode == 2


ALERT_CLAUSES = {"IoT-1005-1 5.8.1.1", "TAICS 5.2.8.2", "TAICS 5.5.1.1", "TAICS 5.1.2.1"}


def test_configured_alert_channel_turns_alert_clauses_pass(baseline, clean_host):
    paths, base = baseline
    assert ALERT_CLAUSES <= base  # no channel on a fresh device: no active alert
    added = run_cli("alerts", "add", "webhook", "https://127.0.0.1:9/hook",
                    "--allow-local-target", "--data-dir", str(paths.root))
    assert added.returncode == 0, added.stderr
    report = audit(paths, clean_host)
    assert not failed(report) & ALERT_CLAUSES
    assert base - failed(report) == ALERT_CLAUSES
    assert "1 configured channel" in " ".join(report.of("IoT-1005-1 5.8.1.1").result.evidence)


def test_unreadable_service_sockets_are_not_tested(baseline, clean_host, tmp_path):
    from vigilcam.compliance import checks_network

    paths, _ = baseline
    proc = tmp_path / "proc"
    (proc / "4242").mkdir(parents=True)  # a service whose /proc/PID/fd this user cannot read
    (proc / "4242" / "cmdline").write_bytes(
        b"\0".join([b"/usr/bin/python3", b"-m", b"vigilcam.cli", b"run", b"--data-dir",
                    str(paths.root).encode()]) + b"\0")
    ctx = LocalContext(paths, host=clean_host, proc=proc)
    assert ctx.running and "pid 4242" in ctx.running_note()
    for check in (checks_network.only_necessary_services, checks_network.secure_channels):
        result = check(ctx)
        assert result.verdict == Verdict.NOT_TESTED and "as root" in result.todo
