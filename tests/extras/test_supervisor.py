"""IoT-1005-1 5.6.1.1: systemd readiness and watchdog (sd_notify) and the hardened unit."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from vigilcam.platform.supervisor import (
    READY,
    STOPPING,
    LoopHeartbeat,
    Watchdog,
    notify,
    status,
    watchdog_interval,
)

UNIT = Path(__file__).resolve().parents[2] / "packaging" / "vigilcam.service"


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[tuple[socket.socket, dict[str, str]]]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    path = tmp_path / "notify"
    sock.bind(str(path))
    sock.settimeout(2)
    yield sock, {"NOTIFY_SOCKET": str(path)}
    sock.close()


def test_notify_ready_status_stopping(notify_socket: tuple[socket.socket, dict[str, str]]) -> None:
    sock, env = notify_socket
    assert notify(READY, status("serving https on :8443\n"), environ=env)
    assert sock.recv(4096) == b"READY=1\nSTATUS=serving https on :8443"
    assert notify(STOPPING, environ=env)
    assert sock.recv(4096) == b"STOPPING=1"


def test_a_supervisor_that_does_not_read_never_blocks_notify(
        notify_socket: tuple[socket.socket, dict[str, str]]) -> None:
    """A full notify queue (a few datagrams on Linux) drops pings instead of hanging the
    watchdog thread and the shutdown's STOPPING=1."""
    import threading

    sock, env = notify_socket
    sent: list[bool] = []
    pinger = threading.Thread(target=lambda: sent.extend(
        notify("WATCHDOG=1", environ=env) for _ in range(500)), daemon=True)
    pinger.start()
    pinger.join(10)
    assert not pinger.is_alive(), f"notify blocked after {len(sent)} pings"
    assert sent[0] and not all(sent)  # the queue filled up, and nothing waited for it
    assert sock.recv(100) == b"WATCHDOG=1"  # what was queued is intact
    assert notify(STOPPING, environ=env)  # and once read, it flows again


def test_notify_abstract_namespace() -> None:
    name = f"vigilcam-test-{os.getpid()}-{time.monotonic_ns()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(2)
        assert notify(READY, environ={"NOTIFY_SOCKET": "@" + name})
        assert sock.recv(100) == b"READY=1"


def test_outside_systemd_is_a_quiet_no_op(tmp_path: Path) -> None:
    assert not notify(READY, environ={})
    assert not notify(READY, environ={"NOTIFY_SOCKET": "vsock:2:1234"})
    assert not notify(READY, environ={"NOTIFY_SOCKET": str(tmp_path / "gone")})  # no raise
    assert not Watchdog(environ={}).enabled
    Watchdog(environ={}).start()  # nothing to do, nothing started


def test_watchdog_interval_from_environment() -> None:
    assert watchdog_interval({"WATCHDOG_USEC": "30000000"}) == 30.0
    assert watchdog_interval({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}) == 30
    assert watchdog_interval({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}) is None
    assert watchdog_interval({"WATCHDOG_USEC": "0"}) is None
    assert watchdog_interval({"WATCHDOG_USEC": "abc"}) is None
    assert watchdog_interval({}) is None


def _pings(sock: socket.socket, seconds: float) -> list[float]:
    out, deadline = [], time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            if sock.recv(100) == b"WATCHDOG=1":
                out.append(time.monotonic())
        except TimeoutError:
            break
    return out


def test_watchdog_pings_at_half_the_interval(
        notify_socket: tuple[socket.socket, dict[str, str]]) -> None:
    sock, env = notify_socket
    dog = Watchdog(environ={**env, "WATCHDOG_USEC": "400000"})  # 0.4 s -> ping every 0.2 s
    assert dog.enabled and dog.interval == 0.4
    dog.start()
    try:
        pings = _pings(sock, 1.05)
    finally:
        dog.stop()
    assert 5 <= len(pings) <= 7, pings
    gaps = [b - a for a, b in zip(pings, pings[1:], strict=False)]
    assert all(0.15 < g < 0.3 for g in gaps), gaps
    assert _pings(sock, 0.3) == []  # stopped means stopped


def test_hung_event_loop_stops_the_pings(
        notify_socket: tuple[socket.socket, dict[str, str]]) -> None:
    sock, env = notify_socket

    async def main() -> tuple[int, int]:
        beat = LoopHeartbeat(period=0.05, stale_after=0.3)
        task = asyncio.create_task(beat.run())
        dog = Watchdog(healthy=beat.fresh, interval=0.2, environ=env)
        dog.start()
        await asyncio.sleep(0.3)
        before = dog.pings
        time.sleep(1.0)  # the loop hangs: nothing may ping for it
        missed = dog.missed
        await asyncio.sleep(0.35)
        dog.stop()
        task.cancel()
        return before, missed

    before, missed = asyncio.run(main())
    assert before >= 2 and missed >= 5


def test_unit_file_declares_watchdog_restart_and_hardening() -> None:
    text = UNIT.read_text()
    settings: dict[str, list[str]] = {}
    for line in text.splitlines():
        if re.match(r"^[A-Za-z]+=", line):
            key, _, value = line.partition("=")
            settings.setdefault(key, []).append(value)
    expected = {
        "Type": "notify", "WatchdogSec": "30", "Restart": "always", "NotifyAccess": "main",
        "NoNewPrivileges": "yes", "ProtectSystem": "strict", "PrivateTmp": "yes",
        "ReadWritePaths": "/var/lib/vigilcam", "CapabilityBoundingSet": "",
        "AmbientCapabilities": "", "User": "vigilcam", "UMask": "0077",
        "StartLimitIntervalSec": "0",
    }
    for key, value in expected.items():
        assert settings.get(key) == [value], key
    assert "AF_NETLINK" in settings["RestrictAddressFamilies"][0]  # hot-plug logging
    assert "/dev/tpmrm0 rw" in settings["DeviceAllow"]  # TPM-sealed key


@pytest.mark.peer
def test_systemd_accepts_the_unit_and_rates_it_ok(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze missing (Debian package systemd)"
    unit = tmp_path / "vigilcam.service"
    shutil.copy(UNIT, unit)
    verify = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True,
                            timeout=30)
    problems = [ln for ln in verify.stderr.splitlines()
                if ln.strip() and "is not executable" not in ln]  # /opt/vigilcam not installed
    assert problems == [], problems
    # Exposure 0.0 (locked down) .. 10.0 (unsafe); --threshold is in tenths.
    sec = subprocess.run([analyze, "security", "--offline=true", "--threshold=20", str(unit)],
                         capture_output=True, text=True, timeout=30)
    assert sec.returncode == 0, sec.stdout[-400:]
    assert re.search(r"Overall exposure level for vigilcam.service: [01]\.\d OK", sec.stdout)
