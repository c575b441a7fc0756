"""Talking to the service supervisor (systemd): readiness, watchdog keep-alives, stopping.

Owns the sd_notify protocol, without libsystemd: one datagram per state to the unix socket
named by ``NOTIFY_SOCKET`` (a path, or ``@name`` for the abstract namespace). Serves
IoT-1005-1 5.6.1.1 (after an interruption the service returns to normal operation: systemd
restarts it when it crashes, and, through the watchdog, when it hangs).

Invariants:
- Outside systemd (no ``NOTIFY_SOCKET``) every call is a harmless no-op returning False.
- A notification never raises: the supervisor being gone must not stop the camera.
- The watchdog pings at half of ``WATCHDOG_USEC`` and only while ``healthy()`` says the
  service works (by default: the asyncio loop answered recently, see ``LoopHeartbeat``); a
  hung event loop therefore stops the pings and systemd restarts the service, which a
  thread pinging unconditionally would hide.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping

log = logging.getLogger(__name__)

READY = "READY=1"
STOPPING = "STOPPING=1"
WATCHDOG = "WATCHDOG=1"
RELOADING = "RELOADING=1"


def notify_address(environ: Mapping[str, str] | None = None) -> str | None:
    env = os.environ if environ is None else environ
    address = env.get("NOTIFY_SOCKET", "")
    if not address or not (address.startswith("/") or address.startswith("@")):
        return None  # unset, or a vsock address systemd uses only for VMs
    return "\0" + address[1:] if address.startswith("@") else address


def notify(*states: str, environ: Mapping[str, str] | None = None) -> bool:
    """Send ``READY=1`` / ``WATCHDOG=1`` / ``STATUS=...`` ...; False when nobody listens."""
    address = notify_address(environ)
    if address is None or not states:
        return False
    message = "\n".join(states).encode("utf-8")
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            # Never block: a supervisor that does not read (its queue holds only a few
            # datagrams) must not stall the watchdog thread or the shutdown.
            sock.send(message, socket.MSG_DONTWAIT)
        return True
    except BlockingIOError:
        log.warning("sd_notify to %r: the supervisor's queue is full; %s dropped",
                    address.lstrip("\0"), states[0].split("=", 1)[0])
        return False
    except OSError as exc:
        log.warning("sd_notify to %r failed: %s", address.lstrip("\0"), exc)
        return False


def status(text: str) -> str:
    """A ``STATUS=`` line (shown by ``systemctl status``), single line and bounded."""
    return "STATUS=" + "".join(ch for ch in text if ch.isprintable())[:200]


def watchdog_interval(environ: Mapping[str, str] | None = None) -> float | None:
    """Seconds systemd waits for a ping (``WATCHDOG_USEC``), if it is watching this process."""
    env = os.environ if environ is None else environ
    usec = env.get("WATCHDOG_USEC", "")
    pid = env.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    if pid and pid != str(os.getpid()):
        return None  # meant for another process (the parent forked us)
    return int(usec) / 1_000_000


class LoopHeartbeat:
    """Proves the asyncio loop still runs: a task stamps the time every ``period`` seconds."""

    def __init__(self, period: float = 1.0, stale_after: float = 10.0) -> None:
        self.period = period
        self.stale_after = stale_after
        self.last = time.monotonic()

    async def run(self) -> None:
        while True:
            self.last = time.monotonic()
            await asyncio.sleep(self.period)

    def fresh(self) -> bool:
        return time.monotonic() - self.last < self.stale_after


class Watchdog:
    """Sends ``WATCHDOG=1`` at half the supervisor's interval while ``healthy()`` is true."""

    def __init__(
        self,
        *,
        healthy: Callable[[], bool] = lambda: True,
        interval: float | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self._environ = dict(os.environ if environ is None else environ)
        self.interval = interval if interval is not None else watchdog_interval(self._environ)
        self.healthy = healthy
        self.pings = 0
        self.missed = 0  # pings withheld because the service was not healthy
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def enabled(self) -> bool:
        return self.interval is not None and notify_address(self._environ) is not None

    def start(self) -> None:
        """Start pinging (a no-op when systemd's watchdog is off for this process)."""
        if not self.enabled or self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="vigilcam-watchdog", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            thread.join(5)

    def _run(self) -> None:
        assert self.interval is not None
        period = self.interval / 2
        while True:
            try:
                ok = self.healthy()
            except Exception:
                log.exception("health check failed")
                ok = False
            if ok:
                if notify(WATCHDOG, environ=self._environ):
                    self.pings += 1
            else:
                self.missed += 1
                log.error("service unhealthy: withholding the watchdog ping")
            if self._stop.wait(period):
                return
