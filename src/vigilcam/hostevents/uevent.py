"""Kernel uevent parsing and the hot-plug policy: which events reach the security log.

Owns turning a NETLINK_KOBJECT_UEVENT datagram into data and deciding what is a hot-plug of an
external port. Pure: no sockets, no files. Serves TAICS TS 5100-2-1 5.1.1.2.

A kernel uevent is ``ACTION@DEVPATH\\0`` followed by ``KEY=VALUE\\0`` fields (ACTION, DEVPATH,
SUBSYSTEM, DEVTYPE, DEVNAME, PRODUCT, SEQNUM ...). udev's re-broadcasts start with ``libudev\\0``
and are refused here: only the kernel's own message is evidence.

Policy:
- ``usb`` events of DEVTYPE ``usb_device`` (one per device plugged, not one per interface)
  and ``block`` events of DEVTYPE ``disk`` (one per storage medium, not per partition);
- ACTION ``add`` -> ``host.device_added``, ``remove`` -> ``host.device_removed``;
- devices under ``/devices/virtual/`` (loop, zram, device-mapper) are not ports and are
  ignored unless the caller asks for them.
- Text from the device (names, serial) is untrusted: control characters are dropped and every
  value is capped, so a hostile USB descriptor cannot forge or flood log fields.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from vigilcam.platform.events import Event

MAX_DATAGRAM = 8192
MAX_FIELDS = 128
MAX_VALUE = 128
ACTIONS: dict[str, Event] = {"add": Event.HOST_DEVICE_ADDED, "remove": Event.HOST_DEVICE_REMOVED}
WATCHED = {("usb", "usb_device"), ("block", "disk")}


class UeventError(ValueError):
    """Not a kernel uevent (the message says why)."""


@dataclass(frozen=True)
class Uevent:
    action: str
    devpath: str
    props: dict[str, str] = field(default_factory=dict)

    @property
    def subsystem(self) -> str:
        return self.props.get("SUBSYSTEM", "")

    @property
    def devtype(self) -> str:
        return self.props.get("DEVTYPE", "")

    @property
    def devname(self) -> str:
        return self.props.get("DEVNAME", "")

    @property
    def synthetic(self) -> bool:
        """Triggered by writing to a sysfs ``uevent`` file, not by a plug."""
        return "SYNTH_UUID" in self.props


def clean(text: str, limit: int = MAX_VALUE) -> str:
    """Untrusted text made safe for one log field: printable, single line, bounded."""
    return "".join(ch for ch in text if ch.isprintable())[:limit].strip()


def parse_uevent(data: bytes) -> Uevent:
    """Parse one kernel uevent datagram; raise UeventError for anything else."""
    if len(data) > MAX_DATAGRAM:
        raise UeventError(f"uevent too long ({len(data)} bytes)")
    if data.startswith(b"libudev\0"):
        raise UeventError("udev re-broadcast, not a kernel uevent")
    parts = data.split(b"\0")
    header = parts[0].decode("utf-8", "replace")
    action, at, devpath = header.partition("@")
    if not at or not action or not devpath.startswith("/"):
        raise UeventError(f"no ACTION@DEVPATH header: {clean(header, 40)!r}")
    props: dict[str, str] = {}
    for raw in parts[1:]:
        if not raw:
            continue
        if len(props) >= MAX_FIELDS:
            raise UeventError(f"uevent has more than {MAX_FIELDS} fields")
        key, eq, value = raw.decode("utf-8", "replace").partition("=")
        if not eq or not key.isascii() or not key.replace("_", "").isalnum():
            raise UeventError(f"malformed uevent field: {clean(key, 40)!r}")
        props[key] = value
    if props.get("ACTION", action) != action or props.get("DEVPATH", devpath) != devpath:
        raise UeventError("uevent header and fields disagree")
    return Uevent(action, devpath, props)


def hotplug_action(event: Uevent, *, include_virtual: bool = False) -> Event | None:
    """The security-log action for this uevent, or None when it is not a port hot-plug."""
    if (event.subsystem, event.devtype) not in WATCHED:
        return None
    if not include_virtual and event.devpath.startswith("/devices/virtual/"):
        return None
    return ACTIONS.get(event.action)


def details(event: Uevent, attrs: dict[str, str] | None = None) -> dict[str, object]:
    """The log record's details: what was plugged, as far as the kernel and sysfs tell."""
    out: dict[str, object] = {
        "subsystem": event.subsystem,
        "devtype": event.devtype,
        "devpath": clean(event.devpath, 256),
    }
    if event.devname:
        out["devname"] = clean(event.devname)
    product = event.props.get("PRODUCT", "")  # usb: "vid/pid/bcdDevice" in hex
    ids = product.split("/")
    if len(ids) >= 2 and all(_is_hex(x) for x in ids[:2]):
        out["vendor_id"], out["product_id"] = ids[0].zfill(4), ids[1].zfill(4)
    for key, value in (attrs or {}).items():
        text = clean(value)
        if text:
            out[key] = text
    if event.synthetic:
        out["synthetic"] = True
    if "SEQNUM" in event.props:
        out["kernel_seq"] = clean(event.props["SEQNUM"], 20)
    return out


def _is_hex(text: str) -> bool:
    return 0 < len(text) <= 4 and all(c in "0123456789abcdefABCDEF" for c in text)


class EventBudget:
    """At most ``limit`` log records per ``window`` seconds; a flapping device is summarised.

    ``allow()`` says whether to log this event; ``take_suppressed()`` hands back (once) how many
    were held back when the window ends, so the log still says that something happened.
    """

    def __init__(self, limit: int = 60, window: float = 60.0) -> None:
        self.limit = limit
        self.window = window
        self._start: float | None = None
        self._count = 0
        self._suppressed = 0

    def allow(self, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        if self._start is None or now - self._start >= self.window:
            self._start, self._count = now, 0
        self._count += 1
        if self._count > self.limit:
            self._suppressed += 1
            return False
        return True

    def take_suppressed(self, now: float | None = None) -> int:
        now = time.monotonic() if now is None else now
        if self._suppressed and self._start is not None and now - self._start >= self.window:
            count, self._suppressed = self._suppressed, 0
            return count
        return 0
