"""Evidence that cannot be quietly edited: the security log's end and the vault are anchored.

TAICS 5.2.8.1 (security log protected from unauthorised modification), IoT-1005-1 5.4.1.2 (an
older vault cannot be put back unnoticed) and 5.5.2.1 (CSV export neutralises formulas). Each
attack is done as an intruder with write access to the data dir would do it, then checked with
the real CLI (``vigilcam log verify``) or the real start-up path.
"""

from __future__ import annotations

import csv
import io
import json
import multiprocessing
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.support import VIGILCAM, read_log, run_cli
from vigilcam.app import StartupError, open_device, provision
from vigilcam.platform.config import Settings
from vigilcam.platform.paths import DataPaths


@pytest.fixture
def data(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    provision(DataPaths(data), Settings())
    device = open_device(DataPaths(data), Settings())
    try:
        for i in range(12):
            device.record("auth.login", result="failure", user=f"u{i}", source="127.0.0.2")
    finally:
        device.close()
    return data


def verify(data: Path) -> subprocess.CompletedProcess:
    return run_cli("log", "verify", "--data-dir", str(data))


def test_cut_tail_and_deleted_head_fail_verify_and_name_it(data: Path) -> None:
    current = data / "seclog" / "current.jsonl"
    rows = current.read_text().splitlines()
    last_seq = json.loads(rows[-1])["seq"]
    current.write_text("".join(r + "\n" for r in rows[:-4]))  # the intruder's last 4 records
    (data / "seclog" / "head.json").unlink()
    out = verify(data)
    assert out.returncode == 1, out.stdout
    assert "head.json is missing" in out.stdout
    assert f"up to seq {last_seq}" in out.stdout or f"..{last_seq}" in out.stdout, out.stdout
    # The next run (head rewritten by the recorded event) still sees the hole, and the log
    # itself now says what was found.
    again = verify(data)
    assert again.returncode == 1 and "missing before it" in again.stdout, again.stdout
    found = [r for r in read_log(data) if r["action"] == "seclog.tampering_detected"]
    assert found and any("cut off" in p for p in found[0]["details"]["problems"])


def test_older_head_and_tail_put_back_fail_verify(data: Path) -> None:
    seclog = data / "seclog"
    backup = data.parent / "backup"
    shutil.copytree(seclog, backup)
    assert run_cli("user", "add", "mallory", "--role", "admin", "--data-dir",
                   str(data)).returncode == 0  # the record the intruder wants gone
    shutil.rmtree(seclog)
    shutil.copytree(backup, seclog)
    out = verify(data)
    assert out.returncode == 1, out.stdout
    assert "anchor records seq" in out.stdout and "older copy" in out.stdout, out.stdout


def test_head_alone_deleted_is_a_failure_never_ok(data: Path) -> None:
    paths = DataPaths(data)
    (data / "seclog" / "head.json").unlink()
    device = open_device(paths, Settings())
    try:
        report = device.seclog.verify()
    finally:
        device.close()
    assert not report.ok
    assert any("head.json is missing" in p for p in report.problems), report.problems


def test_head_alone_deleted_without_anchor_is_a_failure(tmp_path: Path) -> None:
    from vigilcam.platform.seclog import SecurityLog

    log = SecurityLog(tmp_path / "seclog", "dev-1", b"k" * 32, b"a" * 32)
    log.open()
    for i in range(3):
        log.record("auth.login", user=f"u{i}")
    log.head_file.unlink()
    report = SecurityLog(tmp_path / "seclog", "dev-1", b"k" * 32, b"a" * 32).verify()
    assert not report.ok and "head.json is missing" in report.problems[0]


def test_anchor_lagging_after_a_crash_is_not_tampering(data: Path, monkeypatch) -> None:
    """A crash after the records and head, before the anchor: the anchor lags, the log is ok."""
    from vigilcam.platform.anchor import Anchor

    device = open_device(DataPaths(data), Settings())
    monkeypatch.setattr(Anchor, "advance", lambda self, **kw: None)  # the write never happens
    try:
        for i in range(5):
            device.record("auth.login", user=f"late{i}")
    finally:
        device.close()
    monkeypatch.undo()
    out = verify(data)
    assert out.returncode == 0, out.stdout


def _writer(data: str, tag: str, ready) -> None:  # runs in a forked child
    device = open_device(DataPaths(Path(data)), Settings())
    ready.set()
    i = 0
    while True:  # bounded by the test, which kills this process
        i += 1
        device.record("auth.login", result="failure", user=f"w{tag}-{i}", source="127.0.0.9")


@pytest.mark.slow
def test_kill_9_of_concurrent_writers_never_looks_tampered(data: Path) -> None:
    """Two processes append under the file lock; both are killed mid-stream, four times."""
    ctx = multiprocessing.get_context("fork")
    for round_no in range(4):
        procs = []
        for k in range(2):
            ready = ctx.Event()
            proc = ctx.Process(target=_writer, args=(str(data), f"{round_no}{k}", ready))
            proc.start()
            procs.append((proc, ready))
        try:
            for _, ready in procs:
                assert ready.wait(30)
            time.sleep(0.05 + 0.07 * round_no)
        finally:
            for proc, _ in procs:
                os.kill(proc.pid, signal.SIGKILL)
                proc.join(20)
        device = open_device(DataPaths(data), Settings())
        try:
            assert not device.seclog.open_problems, device.seclog.open_problems
            report = device.seclog.verify()
        finally:
            device.close()
        assert report.ok, (round_no, report.problems)
    assert len(read_log(data)) > 20


def test_old_vault_put_back_refuses_to_start_and_is_logged(data: Path) -> None:
    paths = DataPaths(data)
    old = data.parent / "vault.old"
    shutil.copy2(paths.vault_file, old)
    device = open_device(paths, Settings())
    try:  # a credential is replaced (e.g. a revoked stream credential rotated)
        device.vault.put("stream_credential_admin", b"new-after-revocation")
    finally:
        device.close()
    shutil.copy2(old, paths.vault_file)
    with pytest.raises(StartupError, match="older vault.bin was put back"):
        open_device(paths, Settings())
    cli = run_cli("user", "list", "--data-dir", str(data))
    assert cli.returncode == 3 and "older vault.bin" in cli.stderr, cli.stderr
    assert "Traceback" not in cli.stderr
    events = [r for r in read_log(data) if r["action"] == "vault.rollback_detected"]
    assert events and events[-1]["result"] == "error"


def test_vault_anchor_deleted_refuses_to_start(data: Path) -> None:
    paths = DataPaths(data)
    paths.anchor_file.unlink()
    with pytest.raises(StartupError, match="rollback anchor .* is missing"):
        open_device(paths, Settings())


def test_anchor_edited_refuses_to_start(data: Path) -> None:
    paths = DataPaths(data)
    raw = json.loads(paths.anchor_file.read_text())
    raw["vault"] = 0
    paths.anchor_file.write_text(json.dumps(raw))
    with pytest.raises(StartupError, match="failed authentication"):
        open_device(paths, Settings())


def test_anchor_edited_while_running_keeps_logging_and_fails_verify(data: Path) -> None:
    paths = DataPaths(data)
    device = open_device(paths, Settings())
    try:
        raw = json.loads(paths.anchor_file.read_text())
        raw["seclog_seq"] = 1
        paths.anchor_file.write_text(json.dumps(raw))
        event = device.record("auth.login", user="after-edit")  # no exception to the caller
        assert event.seq > 1
        report = device.seclog.verify()
    finally:
        device.close()
    assert not report.ok and any("failed authentication" in p for p in report.problems)


FORMULAS = ["\t=1+1", "\r=HYPERLINK(\"http://x\")", "=cmd", "-2+3", "+1", "@SUM(A1)"]


def test_csv_export_neutralises_formula_cells(data: Path) -> None:
    device = open_device(DataPaths(data), Settings())
    try:
        for name in FORMULAS:
            device.record("auth.login", result="failure", user=name, source="127.0.0.3")
    finally:
        device.close()
    out = subprocess.run([*VIGILCAM, "log", "export", "--format", "csv", "--data-dir",
                          str(data)], capture_output=True, timeout=120)
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(io.StringIO(out.stdout.decode(), newline="")))
    cells = [r["user"] for r in rows if r["source"] == "127.0.0.3"]
    assert cells == ["'" + name for name in FORMULAS], cells
    for row in rows:  # no cell of the whole export starts a formula
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), row


def test_failed_web_logins_with_formula_names_export_as_text(provisioned, api) -> None:
    """The attack as seen: failed logins named ``\\t=1+1`` / ``\\r=...``, then a CSV export."""
    from tests.support import admin_ready

    names = ["\t=1+1", "\r=HYPERLINK(\"http://x\")"]
    for name in names:
        r = api.client.post("/api/v1/session", json={"username": name, "password": "x" * 12})
        assert r.status_code in (400, 401, 422), r.text
    admin_ready(api, provisioned[1])
    r = api.get("/api/v1/log/export", params={"format": "csv", "limit": 1000})
    assert r.status_code == 200
    rows = list(csv.DictReader(io.StringIO(r.content.decode(), newline="")))
    cells = [v for row in rows for v in row.values()]
    assert not [v for v in cells if v.startswith(("=", "+", "-", "@", "\t", "\r"))], cells
    users = {row["user"] for row in rows}
    recorded = [n for n in names if "'" + n in users]
    assert recorded, "the failed logins were not in the log: " + repr(users)
