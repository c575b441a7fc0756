"""Fixtures of the audit tests: a clean host tree, the local audit runner."""

from __future__ import annotations

from pathlib import Path

import pytest

from vigilcam.compliance.host_facts import HostRoot


@pytest.fixture
def clean_host(tmp_path: Path) -> HostRoot:
    """A host with no serial login, no sshd and no debug service (real file layout)."""
    return make_clean_host(tmp_path / "host")


def make_clean_host(root: Path) -> HostRoot:
    (root / "proc" / "1").mkdir(parents=True)
    (root / "proc" / "1" / "comm").write_text("systemd\n")
    (root / "proc" / "1" / "cmdline").write_bytes(b"/sbin/init\0")
    (root / "proc" / "cmdline").write_text("quiet console=tty0\n")
    (root / "proc" / "net").mkdir()
    header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
    for table in ("tcp", "tcp6", "udp", "udp6"):
        (root / "proc" / "net" / table).write_text(header)
    wants = root / "etc" / "systemd" / "system" / "getty.target.wants"
    wants.mkdir(parents=True)
    (wants / "getty@tty1.service").symlink_to("/lib/systemd/system/getty@.service")
    return HostRoot(root)
