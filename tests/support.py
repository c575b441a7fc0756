"""Shared test helpers and fixtures: provisioned data dirs, in-process client, real server."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from vigilcam.app import Device, open_device, provision
from vigilcam.onvif.edge import OnvifEdge
from vigilcam.platform.config import Settings
from vigilcam.platform.paths import DataPaths

REPO = Path(__file__).resolve().parents[1]
VIGILCAM = [sys.executable, "-m", "vigilcam.cli"]
STRONG = "correct horse battery staple orbit"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def nonce() -> str:
    return secrets.token_hex(16)


@pytest.fixture
def paths(tmp_path: Path) -> DataPaths:
    return DataPaths(tmp_path / "data")


@pytest.fixture
def provisioned(paths: DataPaths) -> tuple[DataPaths, str]:
    result = provision(paths, Settings())
    assert result.setup_secret
    return paths, result.setup_secret


@pytest.fixture
def device(provisioned: tuple[DataPaths, str]) -> Iterator[Device]:
    dev = open_device(provisioned[0], Settings())
    yield dev
    dev.close()


class Api:
    """A logged-in (or anonymous) API client that adds CSRF token and request nonces."""

    def __init__(self, client: httpx.Client | object) -> None:
        self.client = client
        self.csrf = ""

    def login(self, username: str, password: str) -> httpx.Response:
        r = self.client.post("/api/v1/session", json={"username": username, "password": password})
        if r.status_code == 200:
            self.csrf = r.json()["csrf_token"]
        return r

    def headers(self) -> dict[str, str]:
        return {"X-CSRF-Token": self.csrf, "X-Request-Nonce": nonce()}

    def get(self, path: str, **kw) -> httpx.Response:
        return self.client.get(path, **kw)

    def send(self, method: str, path: str, json_body=None, **kw) -> httpx.Response:
        headers = {**self.headers(), **kw.pop("headers", {})}
        return self.client.request(method, path, json=json_body, headers=headers, **kw)


def make_client(device: Device, onvif: OnvifEdge | None = None):
    """The web app in process, with the ONVIF endpoints mounted as ``Runtime`` does (of
    ``onvif``, or of a fresh edge)."""
    from starlette.testclient import TestClient

    from vigilcam.onvif.service import onvif_routes
    from vigilcam.web.server import create_app

    edge = onvif or OnvifEdge.for_device(device)
    return TestClient(create_app(device, mounts=onvif_routes(edge)), base_url="https://testserver",
                      raise_server_exceptions=False)


@pytest.fixture
def api(device: Device) -> Iterator[Api]:
    with make_client(device) as client:
        yield Api(client)


def admin_ready(api: Api, setup_secret: str, password: str = STRONG) -> Api:
    """Log in with the setup secret and replace it, as the owner does on first start."""
    assert api.login("admin", setup_secret).status_code == 200
    r = api.send("POST", "/api/v1/session/password",
                 {"current_password": setup_secret, "new_password": password})
    assert r.status_code == 200, r.text
    api.csrf = r.json()["csrf_token"]
    return api


@dataclass
class RunningServer:
    proc: subprocess.Popen
    data_dir: Path
    port: int
    setup_secret: str
    log_path: Path

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def client(self, local_address: str | None = None, **kw) -> httpx.Client:
        transport = httpx.HTTPTransport(verify=False, local_address=local_address)
        return httpx.Client(base_url=self.url, transport=transport, timeout=30, **kw)

    def kill(self, sig: int = signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout=45)


def start_server(data_dir: Path, *extra: str, port: int | None = None,
                 env: dict | None = None) -> RunningServer:
    port = port or free_port()
    log_path = data_dir.parent / f"server-{port}.log"
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    log = open(log_path, "wb")
    proc = subprocess.Popen(
        [*VIGILCAM, "run", "--data-dir", str(data_dir), "--https-port", str(port), *extra],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {log_path.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.1)
    else:
        proc.kill()
        raise RuntimeError("server did not start")
    secret_file = data_dir / "setup-secret"
    secret = secret_file.read_text().strip() if secret_file.exists() else ""
    return RunningServer(proc, data_dir, port, secret, log_path)


def start_rtsps_camera(data_dir: Path, user: str = "nvr") -> tuple[RunningServer, int, str]:
    """A device made with the CLI, a viewer ``user`` and its stream credential, serving HTTPS
    and RTSPS: (server, RTSPS port, credential). The caller kills the server."""
    assert run_cli("init", "--data-dir", str(data_dir)).returncode == 0
    assert run_cli("user", "add", user, "--role", "viewer", "--data-dir", str(data_dir)
                   ).returncode == 0
    rtsps = free_port()
    srv = start_server(data_dir, "--rtsps-port", str(rtsps))
    cred = run_cli("user", "stream-credential", user, "--data-dir", str(data_dir))
    if cred.returncode != 0:
        srv.kill()
        raise AssertionError(cred.stderr)
    return srv, rtsps, cred.stdout.strip()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    srv = start_server(tmp_path / "data")
    yield srv
    srv.kill()


def read_log(data_dir: Path) -> list[dict]:
    path = data_dir / "seclog" / "current.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def run_cli(*args: str, input: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*VIGILCAM, *args], capture_output=True, text=True, input=input,
                          timeout=120)
