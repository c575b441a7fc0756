"""Kill -9 with alerts pending: after restart they are delivered, in order, once each
(IoT-1005-1 5.6.1.1 and 5.8.1.1); the restart itself raises the power-loss alert (TAICS
5.1.2.1)."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.alerts.conftest import alert_settings
from tests.alerts.peers import WebhookReceiver
from tests.support import free_port
from vigilcam.alerts.manager import ChannelManager
from vigilcam.alerts.outbox import Outbox
from vigilcam.app import open_device, provision
from vigilcam.platform.paths import DataPaths

PROC = Path(__file__).with_name("alerts_proc.py")


def _spawn(data: Path, mode: str, log: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, str(PROC), str(data), mode],
                            stdout=subprocess.PIPE, stderr=open(log, "ab"))
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == b"READY", log.read_text()
    return proc


async def test_kill9_with_pending_alerts_then_restart_delivers_once_each(tmp_path, ca):
    paths = DataPaths(tmp_path / "data")
    provision(paths, alert_settings())
    device = open_device(paths, alert_settings())
    outbox = Outbox(paths.alerts_db)
    port = free_port()
    cid, key = ChannelManager(device, outbox).add_channel(
        "webhook", f"https://127.0.0.1:{port}/hook", ca_pem=ca.ca_pem, allow_local=True)
    device_id = device.identity.device_id
    device.close()
    log = tmp_path / "proc.log"

    proc = _spawn(paths.root, "record", log)  # the receiver is down: connection refused
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            pending = outbox.pending(cid)
            if len(pending) >= 5 and pending[0].attempts >= 2:
                break
            await asyncio.sleep(0.05)
        assert len(outbox.pending(cid)) == 5 and outbox.pending(cid)[0].attempts >= 2
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)

    rx = WebhookReceiver(ca, port=port)
    rx.key = key.encode()
    await rx.start()
    proc = _spawn(paths.root, "serve", log)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and (
                len([r for r in rx.received if r.json()["event"] == "video.view_started"]) < 5
                or not any(r.json()["event"] == "device.unclean_shutdown" for r in rx.received)):
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)  # give any duplicate time to show up
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        await rx.stop()
    views = [r.json() for r in rx.received if r.json()["event"] == "video.view_started"]
    assert [v["user"] for v in views] == [f"viewer{n}" for n in range(5)], log.read_text()
    assert len({v["alert_id"] for v in views}) == 5
    assert all(v["device_id"] == device_id for v in views)
    power = [r.json() for r in rx.received if r.json()["event"] == "device.unclean_shutdown"]
    assert len(power) == 1 and power[0]["severity"] == "critical"
    assert rx.rejected == []
    assert outbox.pending(cid) == []
    outbox.close()
