"""Host checks: consoles and debug services a physical or local attacker could reach.

Owns the verdict on the Linux host vigilcam runs on, for IoT-1005-1 5.5.1.1 (no unauthenticated
debug access through physical interfaces) and TAICS 5.1.1.1 (physical ports cannot reach the OS
by default). vigilcam itself has no debug endpoint or console; what the host still offers
(serial logins, password sshd, debug services) is read by ``host_facts``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vigilcam.compliance.host_facts import HostFindings, HostRoot
from vigilcam.compliance.model import Result

if TYPE_CHECKING:
    from vigilcam.compliance.state import LocalContext

TODO = ("Disable the serial login and debug services as docs/setup-guide.md "
        "('Host hardening') shows: `systemctl mask serial-getty@ttyS0.service`, remove "
        "telnetd/gdbserver, set `PasswordAuthentication no` in /etc/ssh/sshd_config.")


def judge_host(found: HostFindings, host: HostRoot) -> Result:
    if found.problems:
        return Result.failed(TODO, *found.problems, *found.notes)
    return Result.passed(
        f"host {host.root}: no login on a serial port, no telnet/gdbserver/adb, "
        "no password sshd", "vigilcam has no debug endpoint or console", *found.notes)


def no_debug_access(ctx: LocalContext) -> Result:
    """IoT-1005-1 5.5.1.1 and TAICS 5.1.1.1 (one inspection, two clauses)."""
    return judge_host(ctx.host_findings(), ctx.host)
