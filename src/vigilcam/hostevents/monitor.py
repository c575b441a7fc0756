"""The hot-plug monitor: kernel uevents from netlink into the security log.

Owns the NETLINK_KOBJECT_UEVENT socket and the one thread that reads it, started and stopped by
the composition root. Serves TAICS TS 5100-2-1 5.1.1.2 (plugging and unplugging external ports
is logged): every USB device and storage medium added or removed becomes a
``host.device_added`` / ``host.device_removed`` security event with vendor, product, model
and device name.

Invariants:
- Only messages whose netlink sender is the kernel (port id 0) count; a forged datagram from
  a local process is dropped (libudev does the same check).
- Names come from sysfs at ``add`` time (the kernel message carries only ids) and are
  remembered, so the ``remove`` record names the same device after sysfs has forgotten it.
- A flapping device cannot flood the log: an ``EventBudget`` caps records per minute and logs
  one ``host.device_events_suppressed`` with the count.
- A failure to record never kills the thread; a socket that cannot be opened is a clear
  ``HotplugUnavailable`` at ``start()``.
"""

from __future__ import annotations

import logging
import os
import select
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vigilcam.hostevents.uevent import (
    MAX_DATAGRAM,
    EventBudget,
    Uevent,
    UeventError,
    details,
    hotplug_action,
    parse_uevent,
)
from vigilcam.platform.events import Event, Record

NETLINK_KOBJECT_UEVENT = 15
KERNEL_GROUP = 1
USB_ATTRS = {"vendor": "manufacturer", "product": "product", "serial": "serial"}
BLOCK_ATTRS = {"vendor": "device/vendor", "model": "device/model", "removable": "removable"}
_MAX_REMEMBERED = 256

log = logging.getLogger(__name__)



class HotplugUnavailable(RuntimeError):
    """The kernel's uevent socket cannot be opened here (the message says why)."""


def open_uevent_socket() -> socket.socket:
    """A socket on the kernel's uevent multicast group."""
    try:
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_KOBJECT_UEVENT)
    except (OSError, AttributeError) as exc:
        raise HotplugUnavailable(f"netlink uevent socket unavailable: {exc}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        sock.bind((0, KERNEL_GROUP))
    except OSError as exc:
        sock.close()
        raise HotplugUnavailable(f"cannot join the kernel uevent group: {exc}") from None
    return sock


def read_attributes(sys_root: Path, event: Uevent) -> dict[str, str]:
    """Vendor/product/model names from sysfs (present only while the device is)."""
    names = USB_ATTRS if event.subsystem == "usb" else BLOCK_ATTRS
    base = sys_root / event.devpath.lstrip("/")
    out: dict[str, str] = {}
    for key, rel in names.items():
        try:
            with open(base / rel, "rb") as fh:
                out[key] = fh.read(256).decode("utf-8", "replace").strip()
        except OSError:
            continue
    return out


class HotplugMonitor:
    """Reads kernel uevents in one thread and records USB / storage hot-plug events."""

    def __init__(
        self,
        record: Record,
        *,
        include_virtual: bool = False,
        sys_root: Path = Path("/sys"),
        budget: EventBudget | None = None,
        open_socket: Callable[[], socket.socket] = open_uevent_socket,
    ) -> None:
        self.record = record
        self.include_virtual = include_virtual
        self.sys_root = sys_root
        self.budget = budget or EventBudget()
        self._open_socket = open_socket
        self._sock: socket.socket | None = None
        self._wake_r, self._wake_w = -1, -1
        self._thread: threading.Thread | None = None
        self._known: dict[str, dict[str, str]] = {}
        self.dropped = 0  # datagrams refused (forged, malformed)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("hot-plug monitor already started")
        self._sock = self._open_socket()
        self._wake_r, self._wake_w = os.pipe()
        self._thread = threading.Thread(target=self._run, name="vigilcam-hotplug", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        thread, self._thread = self._thread, None
        if thread is None:
            return
        os.write(self._wake_w, b"x")
        thread.join(timeout)
        for fd in (self._wake_r, self._wake_w):
            os.close(fd)
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    # -- the thread ----------------------------------------------------------------------------
    def _run(self) -> None:
        sock = self._sock
        assert sock is not None
        while True:
            ready, _, _ = select.select([sock.fileno(), self._wake_r], [], [], 1.0)
            if self._wake_r in ready:
                return
            if sock.fileno() in ready:
                try:
                    data, sender = sock.recvfrom(MAX_DATAGRAM + 1)
                except OSError as exc:
                    log.warning("uevent socket read failed: %s", exc)
                    continue
                if sock.family == socket.AF_NETLINK and sender[0] != 0:
                    self.dropped += 1  # not from the kernel
                    continue
                self.handle(data)
            self._summarise()

    def handle(self, data: bytes) -> str | None:
        """Turn one kernel datagram into a security event; return the action recorded."""
        try:
            event = parse_uevent(data)
        except UeventError:
            self.dropped += 1
            return None
        action = hotplug_action(event, include_virtual=self.include_virtual)
        if action is None:
            return None
        if event.action == "add":
            attrs = read_attributes(self.sys_root, event)
            if len(self._known) >= _MAX_REMEMBERED:
                self._known.pop(next(iter(self._known)))
            self._known[event.devpath] = attrs
        else:
            attrs = self._known.pop(event.devpath, {})
        if not self.budget.allow():
            return None
        self._safe_record(action, **details(event, attrs))
        return action

    def _summarise(self) -> None:
        suppressed = self.budget.take_suppressed()
        if suppressed:
            self._safe_record(Event.HOST_DEVICE_EVENTS_SUPPRESSED, count=suppressed,
                              window_seconds=self.budget.window)

    def _safe_record(self, action: Event, **fields: Any) -> None:
        try:
            self.record(action, **fields)
        except Exception:  # the log reports its own failures (seclog.write_failed)
            log.exception("recording %s failed", action)
