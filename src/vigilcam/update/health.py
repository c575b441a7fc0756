"""Health checks of a freshly installed slot: boot its ``vigilcam run`` and wait for HTTPS.

Owns the "does the new version work?" decision of the A/B installer, IoT-1005-1 5.3.1.1. The
smoke boot starts the new slot's code with ``PYTHONPATH=<slot>`` on a scratch data dir (never
the live one: the running service owns the security log chain) on a free loopback port, waits
until it answers HTTPS with our TLS client policy, verified against the scratch device's own
certificate, and checks the login page names the expected version. Any exit, timeout or wrong
answer fails the check, and the installer rolls back.

Bounded: one child process, killed at the deadline; the scratch dir is always removed.
"""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from vigilcam.platform.tls import client_context
from vigilcam.update.config import CODE_KEY_ENV
from vigilcam.update.slots import HealthResult


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SmokeBootCheck:
    """Callable health check: boot the slot's ``vigilcam run`` and fetch ``/`` over HTTPS."""

    def __init__(self, expected_version: str | None = None, *, timeout: float = 45.0,
                 python: str = sys.executable, code_key: Path | None = None) -> None:
        self.expected_version = expected_version
        self.code_key = code_key  # the device's pinned key, for the new code's verified start
        self.timeout = timeout
        self.python = python

    def __call__(self, slot: Path) -> HealthResult:
        scratch = Path(tempfile.mkdtemp(prefix="vigilcam-health-"))
        port = free_port()
        log_path = scratch / "boot.log"
        env = {**os.environ, "PYTHONPATH": str(slot), "PYTHONDONTWRITEBYTECODE": "1"}
        if self.code_key is not None:
            env[CODE_KEY_ENV] = str(self.code_key)
        cmd = [self.python, "-m", "vigilcam", "run", "--data-dir", str(scratch / "data"),
               "--bind", "127.0.0.1", "--https-port", str(port), "--record", "off"]
        with log_path.open("wb") as log:
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env,
                                    cwd=scratch, stdin=subprocess.DEVNULL)
        try:
            return self._wait(proc, scratch, port, log_path)
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)
            shutil.rmtree(scratch, ignore_errors=True)

    def _wait(self, proc: subprocess.Popen[bytes], scratch: Path, port: int,
              log_path: Path) -> HealthResult:
        deadline = time.monotonic() + self.timeout
        cert = scratch / "data" / "tls" / "cert.pem"
        last = "not started"
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                tail = log_path.read_text(errors="replace").strip().splitlines()[-3:]
                return HealthResult(False, f"new version exited with code {proc.returncode}: "
                                    + " | ".join(tail))
            if cert.exists():
                try:
                    return self._probe(cert, port)
                except (OSError, http.client.HTTPException) as exc:
                    last = f"{type(exc).__name__}: {exc}"
            time.sleep(0.2)
        return HealthResult(False, f"new version did not answer HTTPS within {self.timeout:.0f} s "
                            f"({last})")

    def _probe(self, cert: Path, port: int) -> HealthResult:
        conn = http.client.HTTPSConnection("localhost", port, timeout=5,
                                           context=client_context(cafile=cert))
        try:
            conn.request("GET", "/")
            response = conn.getresponse()
            body = response.read(256 * 1024).decode("utf-8", "replace")
        finally:
            conn.close()
        if response.status != 200:
            return HealthResult(False, f"new version answered HTTP {response.status} on /")
        if self.expected_version and self.expected_version not in body:
            return HealthResult(False, f"new version answered but does not show version "
                                f"{self.expected_version}")
        return HealthResult(True, f"new version answered HTTPS on 127.0.0.1:{port}"
                            + (f" as {self.expected_version}" if self.expected_version else ""))
