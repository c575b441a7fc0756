"""Helpers for recording-service tests: logged-in API clients on a real server, waits, scans."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx

from tests.recording.rec_support import past_segment_header
from tests.support import STRONG, Api, RunningServer, run_cli

# Bytes that betray plaintext video or pictures (each at least 4 bytes long, so random
# ciphertext matches by chance with probability below 1e-3 over a few MB).
PLAINTEXT_MARKERS = {
    "H.264 SPS start code": b"\x00\x00\x00\x01\x67",
    "H.264 PPS start code": b"\x00\x00\x00\x01\x68",
    "H.264 IDR start code": b"\x00\x00\x01\x65",
    "JPEG/JFIF header": b"\xff\xd8\xff\xe0",
    "JPEG header (DQT)": b"\xff\xd8\xff\xdb",
    "MP4 ftyp box": b"ftyp",
    "MP4 moov box": b"moov",
    "MP4 moof box": b"moof",
    "MP4 mdat box": b"mdat",
    "avcC box": b"avcC",
}


def scan_plaintext(root: Path) -> list[str]:
    """Every (file, marker) where a plaintext marker occurs under ``root`` (in a segment
    file, past its header: ``past_segment_header``)."""
    found = []
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        data = past_segment_header(path.read_bytes())
        for name, marker in PLAINTEXT_MARKERS.items():
            if marker in data:
                found.append(f"{path.relative_to(root)}: {name}")
    return found


def login(server: RunningServer, user: str, password: str) -> Api:
    api = Api(server.client())
    r = api.login(user, password)
    assert r.status_code == 200, r.text
    return api


def owner(server: RunningServer, secret: str | None = None, password: str = STRONG) -> Api:
    """Log in as admin with the setup secret and replace it."""
    secret = secret or server.setup_secret
    api = login(server, "admin", secret)
    r = api.send("POST", "/api/v1/session/password",
                 {"current_password": secret, "new_password": password})
    assert r.status_code == 200, r.text
    api.csrf = r.json()["csrf_token"]
    return api


def add_user(server: RunningServer, admin: Api, name: str, role: str) -> Api:
    r = admin.send("POST", "/api/v1/users", {"username": name, "role": role})
    assert r.status_code == 201, r.text
    once = r.json()["one_time_password"]
    api = login(server, name, once)
    password = f"{STRONG} {len(name)} quartz"
    r = api.send("POST", "/api/v1/session/password",
                 {"current_password": once, "new_password": password})
    assert r.status_code == 200, r.text
    api.csrf = r.json()["csrf_token"]
    return api


def cli_segments(data_dir: Path) -> list[dict]:
    r = run_cli("recordings", "list", "--json", "--data-dir", str(data_dir))
    assert r.returncode == 0, r.stderr
    return list(json.loads(r.stdout)["segments"])


def wait_segments(api: Api, count: int, after: float = 0.0, timeout: float = 40.0) -> list[dict]:
    """Poll the API until ``count`` finished segments that start at or after ``after`` exist."""
    deadline = time.monotonic() + timeout
    segs: list[dict] = []
    while time.monotonic() < deadline:
        r = api.get("/api/v1/recordings")
        if r.status_code == 200:
            segs = [s for s in r.json()["segments"] if s["start"] >= after]
            if len(segs) >= count:
                return segs
        time.sleep(0.5)
    raise AssertionError(f"only {len(segs)} segments after {timeout} s")


def ffprobe_json(path: Path) -> dict:
    import subprocess

    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_format", "-show_streams", "-count_frames", "-of",
         "json", str(path)], capture_output=True, text=True, timeout=60, check=True)
    return dict(json.loads(out.stdout))


def close(api: Api) -> None:
    client = api.client
    if isinstance(client, httpx.Client):
        client.close()
