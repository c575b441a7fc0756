"""TAICS 5.2.8.1 / 5.2.8.2: the security log finds every edit and still alerts when it cannot store."""

from __future__ import annotations

import datetime as dt
import json

from tests.support import run_cli
from vigilcam.platform.seclog import SecurityLog


def make_log(tmp_path, **kw) -> SecurityLog:
    log = SecurityLog(tmp_path / "seclog", "dev-1", b"k" * 32, b"a" * 32, **kw)
    log.open()
    return log


def fill(log: SecurityLog, n: int = 10) -> None:
    for i in range(n):
        log.record("auth.login", user=f"u{i}", source="127.0.0.1", attempt=i)


def lines(log):
    return log.current_file.read_text().splitlines()


def write(log, rows):
    log.current_file.write_text("".join(r + "\n" for r in rows))


def test_record_fields_and_verify(tmp_path):
    log = make_log(tmp_path)
    event = log.record("auth.login", result="failure", user="bob", source="::1", interface="web")
    assert event.device_id == "dev-1" and event.seq == 1
    assert event.ts.endswith("Z") and len(event.ts.split(".")[1]) == 4  # ms + Z
    fill(log)
    report = log.verify()
    assert report.ok and report.records == 11


def test_secrets_are_redacted(tmp_path):
    log = make_log(tmp_path)
    log.record("user.added", password="s3cret-value", api_token="vct_abc", target="x")
    text = log.current_file.read_text()
    assert "s3cret-value" not in text and "vct_abc" not in text and "[redacted]" in text


def test_edit_is_found_and_named(tmp_path):
    log = make_log(tmp_path)
    fill(log)
    rows = lines(log)
    rec = json.loads(rows[4])
    rec["user"] = "mallory"
    rows[4] = json.dumps(rec, sort_keys=True, separators=(",", ":"))
    write(log, rows)
    report = log.verify()
    assert not report.ok and "seq 5" in report.problems[0] and "modified" in report.problems[0]


def test_delete_insert_reorder_truncate_are_found(tmp_path):
    for attack in ("delete", "insert", "reorder", "truncate"):
        log = make_log(tmp_path / attack)
        fill(log)
        rows = lines(log)
        if attack == "delete":
            del rows[3]
            expect = "seq 5"
        elif attack == "insert":
            rows.insert(2, rows[6])
            expect = "seq 7"
        elif attack == "reorder":
            rows[2], rows[3] = rows[3], rows[2]
            expect = "seq 4"
        else:
            rows = rows[:6]
            expect = "after seq 6"
        write(log, rows)
        report = log.verify()
        assert not report.ok, attack
        assert expect in report.problems[0], (attack, report.problems)


def test_forged_record_without_key_is_found(tmp_path):
    log = make_log(tmp_path)
    fill(log, 3)
    forger = SecurityLog(tmp_path / "other", "dev-1", b"x" * 32, b"a" * 32)
    forger.open()
    forger._last_seq, forger._last_mac = log._last_seq, log._last_mac
    fake = forger.record("auth.logout", user="admin")
    with open(log.current_file, "a") as fh:
        fh.write(fake.to_json() + "\n")
    assert not log.verify().ok


def test_torn_tail_after_crash_is_repaired(tmp_path):
    log = make_log(tmp_path)
    fill(log, 5)
    with open(log.current_file, "a") as fh:
        fh.write('{"seq": 6, "ts": "2026-')  # power lost mid-write
    again = SecurityLog(tmp_path / "seclog", "dev-1", b"k" * 32, b"a" * 32)
    again.open()
    assert again.repaired_tail
    again.record("device.started")
    assert again.verify().ok


def test_rotation_seals_encrypts_and_still_verifies(tmp_path):
    log = make_log(tmp_path, rotate_bytes=2000)
    fill(log, 40)
    archives = list((tmp_path / "seclog" / "archive").glob("*.enc"))
    assert archives
    assert b"auth.login" not in archives[0].read_bytes()
    report = log.verify()
    assert report.ok and report.records > 40
    blob = bytearray(archives[0].read_bytes())
    blob[40] ^= 1
    archives[0].write_bytes(bytes(blob))
    assert not log.verify().ok


def test_retention_purge_keeps_chain_verifiable(tmp_path):
    log = make_log(tmp_path, rotate_bytes=2000, retention_days=90)
    fill(log, 40)
    before = len(list(log.archive_dir.glob("*.enc")))
    log.purge_expired(now=dt.datetime.now(dt.UTC) + dt.timedelta(days=400))
    assert len(list(log.archive_dir.glob("*.enc"))) < before
    assert log.verify().ok


def test_write_failure_on_full_disk(tmp_path, monkeypatch):
    """A failing write (ENOSPC) is reported to subscribers; nothing is lost once it clears."""
    log = make_log(tmp_path)
    seen = []
    log.subscribe(lambda event, persisted: seen.append((event.action, persisted)))
    real_open = open

    def full_disk(path, mode="r", *a, **kw):
        if str(path) == str(log.current_file) and "a" in mode:
            raise OSError(28, "No space left on device")
        return real_open(path, mode, *a, **kw)

    monkeypatch.setattr("builtins.open", full_disk)
    log.record("auth.login", result="failure", user="x")
    assert ("auth.login", False) in seen and ("seclog.write_failed", False) in seen
    monkeypatch.setattr("builtins.open", real_open)
    log.record("device.stopped")
    actions = [json.loads(r)["action"] for r in lines(log)]
    assert actions == ["auth.login", "device.stopped"]
    assert log.verify().ok


def test_cli_verify_names_the_record(tmp_path):
    data = tmp_path / "data"
    assert run_cli("init", "--data-dir", str(data)).returncode == 0
    assert run_cli("user", "add", "carol", "--role", "viewer", "--data-dir", str(data)).returncode == 0
    ok = run_cli("log", "verify", "--data-dir", str(data))
    assert ok.returncode == 0 and "OK" in ok.stdout
    path = data / "seclog" / "current.jsonl"
    rows = path.read_text().splitlines()
    rec = json.loads(rows[1])
    rec["details"]["role"] = "admin"
    rows[1] = json.dumps(rec, sort_keys=True, separators=(",", ":"))
    path.write_text("\n".join(rows) + "\n")
    bad = run_cli("log", "verify", "--data-dir", str(data))
    assert bad.returncode == 1 and "seq 2" in bad.stdout
    exported = run_cli("log", "export", "--format", "csv", "--data-dir", str(data))
    assert exported.returncode == 0 and exported.stdout.startswith("seq,ts,device_id")


def test_two_writers_share_one_chain(tmp_path):
    """The service and a CLI command both append: the chain does not fork."""
    service = make_log(tmp_path)
    cli = SecurityLog(tmp_path / "seclog", "dev-1", b"k" * 32, b"a" * 32)
    cli.open()
    for i in range(5):
        service.record("auth.login", user=f"s{i}")
        cli.record("user.added", user="cli", target=f"c{i}")
    service.record("device.stopped")
    report = service.verify()
    assert report.ok and report.records == 11, report.problems
    seqs = [json.loads(r)["seq"] for r in lines(service)]
    assert seqs == list(range(1, 12))
