"""The security log store fails (disk full, or remounted read-only) and the alert still
arrives (TAICS TS 5100-2-1 5.2.8.2). The data dir is a tiny tmpfs mounted by the test; when
the alerts database on it cannot be written either, the alert is held in memory and sent."""

from __future__ import annotations

import asyncio
import errno
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.alerts.conftest import FAST, alert_settings
from tests.alerts.peers import WebhookReceiver
from vigilcam.alerts.service import AlertService
from vigilcam.app import open_device, provision
from vigilcam.platform.paths import DataPaths


def _mount_tmpfs(mnt: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a tmpfs (run the suite as root or in CI's container)")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", str(mnt)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount tmpfs here: {r.stderr.strip()}")


@pytest.fixture
def mounts():
    done: list[Path] = []
    yield done
    for mnt in reversed(done):
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def _fill(folder: Path) -> None:
    with open(folder / "filler", "wb") as fh:
        try:
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC


@pytest.mark.parametrize("how", ["disk_full", "read_only"])
async def test_log_store_failure_still_alerts(tmp_path, mounts, ca, how, caplog):
    """disk_full: the whole data dir is a 1 MiB tmpfs, filled up (log AND outbox full).
    read_only: the log folder is its own tmpfs, remounted read-only under the running device."""
    paths = DataPaths(tmp_path / "data")
    paths.root.mkdir()
    if how == "disk_full":
        _mount_tmpfs(paths.root)
        mounts.append(paths.root)
        provision(paths, alert_settings())
    else:
        provision(paths, alert_settings())
        saved = tmp_path / "seclog-copy"
        shutil.copytree(paths.seclog_dir, saved)
        shutil.rmtree(paths.seclog_dir)
        paths.seclog_dir.mkdir()
        _mount_tmpfs(paths.seclog_dir)
        mounts.append(paths.seclog_dir)
        shutil.copytree(saved, paths.seclog_dir, dirs_exist_ok=True)
    device = open_device(paths, alert_settings())
    svc = AlertService(device, policy=FAST, backoff_base_s=0.1, backoff_cap_s=0.3, poll_s=0.1)
    await svc.start()
    rx = await WebhookReceiver(ca).start()
    cid, key = svc.add_channel("webhook", rx.url, ca_pem=ca.ca_pem, allow_local=True)
    rx.key = key.encode()
    failed: list[str] = []
    device.seclog.subscribe(lambda e, ok: failed.append(e.action) if not ok else None)
    try:
        if how == "disk_full":
            _fill(paths.root)
        else:
            r = subprocess.run(["mount", "-o", "remount,ro", str(paths.seclog_dir)],
                               capture_output=True, text=True)
            assert r.returncode == 0, r.stderr
        for n in range(400):  # appends fit in the last page for a while when full
            device.record("auth.login", result="failure", user="admin", source="192.0.2.50",
                          interface="web", attempt=n, padding="x" * 200)
            if "seclog.write_failed" in failed:
                break
        assert "seclog.write_failed" in failed
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not any(
                r.json()["event"] == "seclog.write_failed" for r in rx.received):
            await asyncio.sleep(0.05)
        got = [r.json() for r in rx.received if r.json()["event"] == "seclog.write_failed"]
        assert len(got) == 1, [r.json()["event"] for r in rx.received]
        assert got[0]["device_id"] == device.identity.device_id
        assert got[0]["severity"] == "critical" and got[0]["category"] == "log"
        assert svc.outbox.pending(cid) == []
        if how == "disk_full":
            # The outbox on the same full disk could not take it: sent straight from memory.
            assert any("in memory" in r.getMessage() for r in caplog.records)
    finally:
        await svc.stop()
        svc.close()
        await rx.stop()
        device.close()
