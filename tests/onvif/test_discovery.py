"""WS-Discovery is opt-in (IoT-1005-1 5.2.2.1): in a network namespace the test creates,
``vigilcam run`` with ONVIF off binds nothing on UDP 3702 and answers no probe; with ONVIF and
discovery on it answers a unicast and a multicast Probe as dn:NetworkVideoTransmitter with an
``https://`` XAddr."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import run_cli

CHILD = Path(__file__).with_name("discovery_child.py")


@pytest.mark.slow
def test_discovery_only_when_turned_on(tmp_path):
    if os.geteuid() != 0:
        pytest.fail("this test creates a network namespace and needs root (CI runs as root)")
    data = tmp_path / "data"
    assert run_cli("init", "--data-dir", str(data)).returncode == 0
    done = subprocess.run(["unshare", "--net", sys.executable, str(CHILD), str(data)],
                          capture_output=True, text=True, timeout=180,
                          env={**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH", "")})
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["off_bound"] is False and seen["off_answer"] is None
    assert seen["on_bound"] is True
    for key in ("on_unicast", "on_multicast"):
        answer = seen[key]
        assert answer and "ProbeMatches" in answer, (key, answer)
        assert "dn:NetworkVideoTransmitter" in answer
        assert "<d:XAddrs>https://127.0.0.1:8443/onvif/device_service</d:XAddrs>" in answer
