"""`vigilcam run --rtsps-port` serves rtsps://HOST:P/main to ffprobe with a CLI-made credential."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.support import read_log, run_cli, start_rtsps_camera


@pytest.mark.peer
def test_run_with_rtsps_and_cli_credential(tmp_path):
    data = tmp_path / "data"
    srv, rtsps, secret = start_rtsps_camera(data)
    try:
        probe = subprocess.run(
            ["ffprobe", "-v", "error", "-rtsp_transport", "tcp", "-tls_verify", "0",
             "-show_streams", "-of", "json", f"rtsps://nvr:{secret}@127.0.0.1:{rtsps}/main"],
            capture_output=True, text=True, timeout=60)
        assert probe.returncode == 0, probe.stderr
        stream = json.loads(probe.stdout)["streams"][0]
        assert stream["codec_name"] == "h264" and stream["width"] == 1280
        assert stream["height"] == 720
        plain = subprocess.run(
            ["ffprobe", "-v", "error", "-rtsp_transport", "tcp", "-timeout", "3000000",
             f"rtsp://nvr:{secret}@127.0.0.1:{rtsps}/main"],
            capture_output=True, text=True, timeout=60)
        assert plain.returncode != 0
        rotated = run_cli("user", "stream-credential", "nvr", "--rotate", "--data-dir",
                          str(data)).stdout.strip()
        assert rotated != secret
        old = subprocess.run(
            ["ffprobe", "-v", "error", "-rtsp_transport", "tcp", "-tls_verify", "0",
             f"rtsps://nvr:{secret}@127.0.0.1:{rtsps}/main"],
            capture_output=True, text=True, timeout=60)
        assert old.returncode != 0
    finally:
        srv.kill()
    views = [e for e in read_log(data) if e["action"] == "video.view_started"]
    assert views and views[0]["user"] == "nvr" and views[0]["details"]["kind"] == "rtsps"
    assert secret not in (data / "seclog" / "current.jsonl").read_text()
