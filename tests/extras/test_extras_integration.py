"""The platform extras wired into a real ``vigilcam run`` (needs the lead's runtime/app wiring).

IoT-1005-1 5.6.1.1 (sd_notify READY / WATCHDOG / STOPPING), TAICS 5.2.5.2 (KEK sealed in a
software TPM 2.0 at provisioning, the audit says so), TAICS 5.2.8.1 (security log copied to a
TLS syslog collector), TAICS 5.1.1.2 (hot-plug monitor running, audit check passes).
"""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest

from tests.extras.certs import self_signed
from tests.extras.swtpm import software_tpm
from tests.extras.syslog_receiver import Receiver
from tests.support import read_log, start_server
from vigilcam.compliance.audit import run_local
from vigilcam.compliance.model import Verdict
from vigilcam.compliance.state import LocalContext
from vigilcam.platform.paths import DataPaths
from vigilcam.platform.tpm import TCTI_ENV


def _messages(sock: socket.socket, until: bytes, seconds: float) -> list[bytes]:
    got, deadline = [], time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            got.append(sock.recv(4096))
        except TimeoutError:
            break
        if got[-1].startswith(until):
            break
    return got


@pytest.mark.peer
def test_run_under_supervisor_with_tpm_and_syslog(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path / "tls")
    receiver = Receiver(cert, key)
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    (data / "config.toml").write_text(
        f'[syslog]\ntarget = "127.0.0.1:{receiver.port}"\nca_file = "{cert}"\n')
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify"))
    with software_tpm(tmp_path / "tpm") as tcti:
        env = {"NOTIFY_SOCKET": str(tmp_path / "notify"), "WATCHDOG_USEC": "1000000",
               TCTI_ENV: tcti}
        srv = start_server(data, env=env)
        try:
            first = _messages(notify, b"READY=1", 30)
            assert first[-1].startswith(b"READY=1\nSTATUS=serving HTTPS"), first
            pings = _messages(notify, b"never", 1.3)
            assert pings.count(b"WATCHDOG=1") >= 2, pings
            started = receiver.wait_for(1)
            assert any(b"device.started" in m for m in started)
            paths = DataPaths(data)
            anchor = {paths.anchor_file.name, f".{paths.anchor_file.name}.lock"}
            assert sorted(p.name for p in paths.keys_dir.iterdir()
                          if p.name not in anchor) == ["kek.tpm.priv", "kek.tpm.pub"]
            report = run_local(LocalContext(paths))
            tpm = report.of("TAICS 5.2.5.2").result
            assert tpm.verdict == Verdict.PASS and "sealed in a TPM 2.0" in tpm.evidence[0]
            assert report.of("TAICS 5.1.1.2").result.verdict == Verdict.PASS
            assert any("watchdog" in e for e in report.of("IoT-1005-1 5.6.1.1").result.evidence)
        finally:
            assert srv.kill() == 0
        assert b"STOPPING=1" in _messages(notify, b"STOPPING=1", 5)
        forwarded = receiver.wait_for(len(started) + 1)
        receiver.close()
        notify.close()
    actions = [e["action"] for e in read_log(data)]
    assert "host.hotplug_unavailable" not in actions
    sent = [json.loads(m.split(b"\xef\xbb\xbf", 1)[1])["action"] for m in forwarded]
    assert sent[0] == "device.started" and sent[-1] == "device.stopped"
    assert sent == actions[actions.index("device.started"):]
