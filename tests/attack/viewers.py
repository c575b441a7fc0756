"""Real viewers for the revocation tests and benchmark: a camera with users, WSS and RTSPS clients.

Each watcher records, in wall-clock seconds, when its stream started and when it ended, so a
test can measure "change made -> stream closed" against the same clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import shutil
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support import STRONG, RunningServer, free_port, nonce, read_log, start_server
from vigilcam.app import open_device, provision
from vigilcam.auth.permissions import Role
from vigilcam.platform.config import Settings
from vigilcam.platform.paths import DataPaths

CONFIG = """\
hotplug_logging = false
[media]
width = 640
height = 360
fps = 15
sub_width = 320
sub_height = 180
sub_fps = 10
"""


@dataclass
class Camera:
    server: RunningServer
    rtsps_port: int
    credentials: dict[str, str]

    @property
    def data_dir(self) -> Path:
        return self.server.data_dir

    def events(self, action: str, user: str | None = None) -> list[dict]:
        return [e for e in read_log(self.data_dir) if e["action"] == action
                and (user is None or e.get("user") == user)]

    def rtsps_url(self, user: str, stream: str = "sub") -> str:
        return (f"rtsps://{user}:{self.credentials[user]}@127.0.0.1:{self.rtsps_port}/"
                f"{stream}")


def start_camera(data: Path, users: dict[str, Role], stream_users: tuple[str, ...] = ()
                 ) -> Camera:
    """A provisioned camera (admin and ``users`` with password STRONG) running HTTPS + RTSPS."""
    paths = DataPaths(data)
    provision(paths, Settings())
    (data / "config.toml").write_text(CONFIG)
    dev = open_device(paths, Settings())
    try:
        dev.accounts.set_password("admin", STRONG)
        dev.password_changed("admin")
        for name, role in users.items():
            dev.accounts.add(name, role, STRONG, must_change=False, check_policy=False)
        creds = {name: dev.services.stream_credentials.get_or_create(name) for name in stream_users}
    finally:
        dev.close()
    port = free_port()
    return Camera(start_server(data, "--rtsps-port", str(port)), port, creds)


class Session:
    """A logged-in web client (cookie, CSRF token, fresh nonces)."""

    def __init__(self, camera: Camera, user: str, password: str = STRONG) -> None:
        self.client = camera.server.client()
        r = self.client.post("/api/v1/session", json={"username": user, "password": password})
        assert r.status_code == 200, r.text
        self.csrf = r.json()["csrf_token"]

    def send(self, method: str, path: str, body: object = None) -> httpx.Response:
        return self.client.request(method, path, json=body, headers={
            "X-CSRF-Token": self.csrf, "X-Request-Nonce": nonce()})

    @property
    def cookie(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.client.cookies.items())

    def close(self) -> None:
        self.client.close()


@dataclass
class Watch:
    """When a stream started delivering, when it ended, and how."""

    started: threading.Event = field(default_factory=threading.Event)
    ended: threading.Event = field(default_factory=threading.Event)
    first_media: float | None = None
    last_media: float | None = None
    ended_at: float | None = None
    media_messages: int = 0
    texts: list[str] = field(default_factory=list)
    detail: str = ""

    def media(self) -> None:
        now = time.time()
        self.media_messages += 1
        self.last_media = now
        if self.first_media is None:
            self.first_media = now
            self.started.set()

    def end(self, detail: str) -> None:
        if self.ended_at is None:
            self.ended_at = time.time()
            self.detail = detail
        self.ended.set()


def _insecure() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def watch_wss(camera: Camera, session: Session, stream: str = "sub",
              limit_s: float = 60.0) -> Watch:
    """Watch live video over WSS with the ``websockets`` client library, in a thread."""
    import websockets

    watch = Watch()
    url = f"wss://127.0.0.1:{camera.server.port}/api/v1/live?stream={stream}"
    headers = {"Origin": f"https://127.0.0.1:{camera.server.port}", "Cookie": session.cookie}

    async def run() -> None:
        try:
            async with websockets.connect(url, ssl=_insecure(), additional_headers=headers,
                                          open_timeout=10, max_size=None) as ws:
                async with asyncio.timeout(limit_s):
                    async for message in ws:
                        if isinstance(message, bytes):
                            watch.media()
                        else:
                            watch.texts.append(message)
                watch.end(f"closed {ws.close_code} {ws.close_reason}")
        except websockets.exceptions.ConnectionClosed as exc:
            watch.end(f"closed {exc.rcvd.code if exc.rcvd else None} "
                      f"{exc.rcvd.reason if exc.rcvd else ''}")
        except (OSError, TimeoutError, websockets.exceptions.WebSocketException) as exc:
            watch.end(f"error {exc!r}")

    def thread() -> None:
        loop = asyncio.new_event_loop()
        task = loop.create_task(run())
        watch.cancel = lambda: loop.call_soon_threadsafe(task.cancel)  # type: ignore[attr-defined]
        with contextlib.suppress(asyncio.CancelledError):
            loop.run_until_complete(task)
        loop.close()
        watch.end("stopped")

    threading.Thread(target=thread, daemon=True).start()
    return watch


_FRAME = re.compile(rb"^frame=(\d+)", re.M)


def watch_rtsps(url: str, limit_s: float = 60.0) -> Watch:
    """Watch live video over RTSPS with ffmpeg (copy to a null sink), in a thread."""
    ffmpeg = shutil.which("ffmpeg")
    assert ffmpeg, "ffmpeg is required (apt install ffmpeg)"
    watch = Watch()
    proc = subprocess.Popen(
        [ffmpeg, "-nostdin", "-v", "error", "-rtsp_transport", "tcp", "-i", url,
         "-map", "0:v", "-c", "copy", "-f", "null", "-t", str(limit_s),
         "-progress", "pipe:1", "-stats_period", "0.1", "-"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def run() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            m = _FRAME.match(line)
            if m and int(m.group(1)) > 0:
                watch.media()
        code = proc.wait()
        watch.end(f"ffmpeg exit {code}")

    threading.Thread(target=run, daemon=True).start()
    watch.proc = proc  # type: ignore[attr-defined]
    return watch


def stop(watch: Watch) -> None:
    """End a watcher that is still running (a failed test leaves no client behind)."""
    proc = getattr(watch, "proc", None)
    if proc is not None and proc.poll() is None:
        proc.kill()
        proc.wait(5)
    cancel = getattr(watch, "cancel", None)
    if cancel is not None and not watch.ended.is_set():
        with contextlib.suppress(RuntimeError):
            cancel()
        watch.ended.wait(5)


def latency(watch: Watch, t0: float, timeout: float = 6.0) -> float:
    """Seconds from ``t0`` to the end of the stream (inf when it never ended)."""
    if not watch.ended.wait(max(0.0, t0 + timeout - time.time())):
        return float("inf")
    assert watch.ended_at is not None
    return watch.ended_at - t0


def log_time(event: dict) -> float:
    from datetime import datetime

    return datetime.fromisoformat(event["ts"].replace("Z", "+00:00")).timestamp()


def revoked_texts(watch: Watch) -> list[dict]:
    return [m for m in map(json.loads, watch.texts) if m.get("state") == "revoked"]
