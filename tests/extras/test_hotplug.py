"""TAICS 5.1.1.2: USB and storage hot-plug events reach the security log."""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from vigilcam.hostevents.monitor import HotplugMonitor
from vigilcam.hostevents.uevent import (
    EventBudget,
    UeventError,
    details,
    hotplug_action,
    parse_uevent,
)

USB = "/devices/pci0000:00/0000:00:14.0/usb1/1-2"
DISK = "/devices/pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0/host3/target3:0:0/3:0:0:0/block/sdb"


def kernel(action: str, devpath: str, **props: str) -> bytes:
    fields = {"ACTION": action, "DEVPATH": devpath, **props, "SEQNUM": "4242"}
    return f"{action}@{devpath}\0".encode() + b"".join(
        f"{k}={v}\0".encode() for k, v in fields.items())


USB_ADD = kernel("add", USB, SUBSYSTEM="usb", MAJOR="189", MINOR="3", DEVNAME="bus/usb/001/004",
                 DEVTYPE="usb_device", PRODUCT="781/5567/100", TYPE="0/0/0", BUSNUM="001",
                 DEVNUM="004")
USB_IF = kernel("add", USB + "/1-2:1.0", SUBSYSTEM="usb", DEVTYPE="usb_interface",
                PRODUCT="781/5567/100", INTERFACE="8/6/80")
DISK_ADD = kernel("add", DISK, SUBSYSTEM="block", MAJOR="8", MINOR="16", DEVNAME="sdb",
                  DEVTYPE="disk", DISKSEQ="9")
PART_ADD = kernel("add", DISK + "/sdb1", SUBSYSTEM="block", DEVNAME="sdb1", DEVTYPE="partition")


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.seen = threading.Event()

    def __call__(self, action: str, **fields: Any) -> None:
        self.events.append((action, fields))
        self.seen.set()


def test_parse_kernel_uevent() -> None:
    ev = parse_uevent(USB_ADD)
    assert (ev.action, ev.devpath, ev.subsystem, ev.devtype) == ("add", USB, "usb", "usb_device")
    assert ev.devname == "bus/usb/001/004" and not ev.synthetic
    assert hotplug_action(ev) == "host.device_added"
    d = details(ev, {"vendor": "SanDisk", "product": "Cruzer\x1b[31m Blade\n"})
    assert d["vendor_id"] == "0781" and d["product_id"] == "5567"
    assert d["vendor"] == "SanDisk" and d["product"] == "Cruzer[31m Blade"  # no ESC, no newline
    assert d["kernel_seq"] == "4242"


@pytest.mark.parametrize("data, action", [
    (USB_ADD, "host.device_added"),
    (USB_ADD.replace(b"add", b"remove"), "host.device_removed"),
    (USB_IF, None),  # one record per device, not per interface
    (DISK_ADD, "host.device_added"),
    (PART_ADD, None),
    (USB_ADD.replace(b"add", b"bind"), None),
    (kernel("add", "/devices/virtual/block/loop0", SUBSYSTEM="block", DEVTYPE="disk"), None),
    (kernel("change", "/devices/virtual/net/lo", SUBSYSTEM="net"), None),
])
def test_policy(data: bytes, action: str | None) -> None:
    assert hotplug_action(parse_uevent(data)) == action


@pytest.mark.parametrize("data, message", [
    (b"libudev\0\xfe\xed\xca\xfe" + b"\0" * 32, "udev re-broadcast"),
    (b"ACTION=add\0", "no ACTION@DEVPATH"),
    (b"add@/x\0SUB SYSTEM=usb\0", "malformed"),
    (b"add@/x\0ACTION=remove\0", "disagree"),
    (b"add@/x\0" + b"A=1\0" * 5000, "too long"),
    (b"add@/x\0" + b"".join(b"K%d=1\0" % i for i in range(200)), "more than"),
])
def test_parser_refuses_garbage(data: bytes, message: str) -> None:
    with pytest.raises(UeventError, match=message):
        parse_uevent(data)


def test_budget_caps_and_summarises() -> None:
    budget = EventBudget(limit=3, window=10)
    assert [budget.allow(now=t) for t in (0, 1, 2, 3, 4)] == [True, True, True, False, False]
    assert budget.take_suppressed(now=5) == 0
    assert budget.take_suppressed(now=10) == 2 and budget.take_suppressed(now=11) == 0
    assert budget.allow(now=11)


def test_monitor_thread_records_names_from_sysfs_and_on_remove(tmp_path: Path) -> None:
    usb_dir = tmp_path / USB.lstrip("/")
    usb_dir.mkdir(parents=True)
    (usb_dir / "manufacturer").write_text("SanDisk\n")
    (usb_dir / "product").write_text("Cruzer Blade\n")
    (usb_dir / "serial").write_text("4C530001\n")
    ours, kernel_side = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    rec = Recorder()
    mon = HotplugMonitor(rec, sys_root=tmp_path, open_socket=lambda: ours)
    mon.start()
    try:
        for data in (USB_IF, b"garbage", USB_ADD):
            kernel_side.send(data)
        assert rec.seen.wait(5)
        (usb_dir / "product").unlink()  # sysfs forgets the device once it is gone
        rec.seen.clear()
        kernel_side.send(USB_ADD.replace(b"add", b"remove"))
        assert rec.seen.wait(5)
    finally:
        mon.stop()
        kernel_side.close()
    assert not mon.running and mon.dropped == 1
    assert [a for a, _ in rec.events] == ["host.device_added", "host.device_removed"]
    for _, fields in rec.events:
        assert fields["product"] == "Cruzer Blade" and fields["vendor"] == "SanDisk"
        assert fields["serial"] == "4C530001" and fields["devname"] == "bus/usb/001/004"


def test_record_failure_does_not_kill_the_monitor(tmp_path: Path) -> None:
    calls: list[str] = []

    def broken(action: str, **fields: Any) -> None:
        calls.append(action)
        raise OSError("disk full")

    mon = HotplugMonitor(broken, sys_root=tmp_path)
    assert mon.handle(USB_ADD) == "host.device_added"
    assert mon.handle(DISK_ADD) == "host.device_added" and len(calls) == 2


def test_flood_is_summarised(tmp_path: Path) -> None:
    rec = Recorder()
    mon = HotplugMonitor(rec, sys_root=tmp_path, budget=EventBudget(limit=2, window=0.2))
    for _ in range(5):
        mon.handle(USB_ADD)
    time.sleep(0.25)
    mon._summarise()
    assert [a for a, _ in rec.events] == ["host.device_added"] * 2 + [
        "host.device_events_suppressed"]
    assert rec.events[-1][1]["count"] == 3


@pytest.mark.peer
def test_real_netlink_kernel_event_and_forgery_dropped() -> None:
    """A real kernel uevent (synthetic 'add' on loop0) arrives; a forged one is dropped."""
    if os.geteuid() != 0 or not os.access("/sys/block/loop0/uevent", os.W_OK):
        pytest.skip("needs root and /sys/block/loop0 to trigger a kernel uevent")
    rec = Recorder()
    mon = HotplugMonitor(rec, include_virtual=True)
    mon.start()
    try:
        forger = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, 15)
        forger.bind((0, 0))
        forger.sendto(kernel("add", "/devices/virtual/block/loop7", SUBSYSTEM="block",
                             DEVTYPE="disk", DEVNAME="loop7"), (0, 1))
        forger.close()
        Path("/sys/block/loop0/uevent").write_text("add")
        assert rec.seen.wait(5)
    finally:
        mon.stop()
    devs = [f.get("devname") for _, f in rec.events]
    assert "loop0" in devs and "loop7" not in devs
    loop0 = next(f for _, f in rec.events if f.get("devname") == "loop0")
    assert loop0["synthetic"] is True and mon.dropped >= 1

