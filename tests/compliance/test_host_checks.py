"""Host checks read real Linux file formats: serial logins, sshd password login, debug
services (IoT-1005-1 5.5.1.1, TAICS 5.1.1.1)."""

from __future__ import annotations

from pathlib import Path

from vigilcam.compliance.checks_host import judge_host
from vigilcam.compliance.host_facts import HostRoot, inspect_host, sshd_config_values
from vigilcam.compliance.model import Verdict

LISTEN_23 = ("   0: 00000000:0017 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0"
             "        0 4242 1 0000000000000000 100 0 0 10 0\n")


def add_process(host: HostRoot, pid: int, *argv: str) -> None:
    folder = host.proc / str(pid)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "cmdline").write_bytes(b"\0".join(a.encode() for a in argv) + b"\0")


def test_clean_host_passes(clean_host):
    result = judge_host(inspect_host(clean_host), clean_host)
    assert result.verdict == Verdict.PASS, result.evidence
    assert "sshd is not running or enabled" in result.evidence


def test_serial_getty_process_and_unit_and_inittab(clean_host):
    add_process(clean_host, 700, "/sbin/agetty", "-o", "-p -- \\u", "--keep-baud", "115200,57600",
                "ttyAMA0", "vt220")
    wants = clean_host.etc / "systemd" / "system" / "getty.target.wants"
    (wants / "serial-getty@ttyS0.service").symlink_to("/lib/systemd/system/serial-getty@.service")
    (clean_host.etc / "inittab").write_text("# comment\nT0:23:respawn:/sbin/getty -L ttyS1 "
                                            "115200 vt100\n")
    found = inspect_host(clean_host)
    text = " ".join(found.problems)
    assert "ttyAMA0" in text and "serial-getty@ttyS0.service" in text and "ttyS1" in text
    result = judge_host(found, clean_host)
    assert result.verdict == Verdict.FAIL and "systemctl mask" in result.todo


def test_masked_serial_getty_is_fine(clean_host):
    wants = clean_host.etc / "systemd" / "system" / "getty.target.wants"
    (wants / "serial-getty@ttyS0.service").symlink_to("/lib/systemd/system/serial-getty@.service")
    (clean_host.etc / "systemd" / "system" / "serial-getty@ttyS0.service").symlink_to("/dev/null")
    assert inspect_host(clean_host).problems == []


def test_kernel_console_on_serial_under_systemd(clean_host):
    (clean_host.proc / "cmdline").write_text("console=tty0 console=ttyS0,115200 quiet\n")
    found = inspect_host(clean_host)
    assert any("kernel console on ttyS0" in p for p in found.problems)
    (clean_host.proc / "1" / "comm").write_text("busybox\n")
    found = inspect_host(clean_host)
    assert found.problems == [] and any("output only" in n for n in found.notes)


def test_sshd_password_login(clean_host):
    add_process(clean_host, 800, "sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups")
    ssh = clean_host.etc / "ssh"
    (ssh / "sshd_config.d").mkdir(parents=True)
    (ssh / "sshd_config").write_text("Include /etc/ssh/sshd_config.d/*.conf\n"
                                     "PasswordAuthentication no\n")
    (ssh / "sshd_config.d" / "50-cloud.conf").write_text("PasswordAuthentication yes\n")
    assert sshd_config_values(clean_host)["passwordauthentication"] == "yes"  # first wins
    assert any("accepts password" in p for p in inspect_host(clean_host).problems)
    (ssh / "sshd_config.d" / "50-cloud.conf").write_text("# nothing\n")
    found = inspect_host(clean_host)
    assert found.problems == [] and "sshd (running) accepts keys only" in found.notes
    (ssh / "sshd_config").write_text("# defaults: OpenSSH allows passwords\n")
    assert any("accepts password" in p for p in inspect_host(clean_host).problems)


def test_debug_services(clean_host):
    add_process(clean_host, 900, "/usr/bin/gdbserver", ":2345", "/usr/bin/app")
    (clean_host.proc / "net" / "tcp").write_text(
        (clean_host.proc / "net" / "tcp").read_text() + LISTEN_23)
    text = " ".join(inspect_host(clean_host).problems)
    assert "gdbserver" in text and "telnet port open: tcp 0.0.0.0:23" in text


def test_real_host_is_inspected_without_error():
    host = HostRoot(Path("/"))
    result = judge_host(inspect_host(host), host)
    assert result.verdict in (Verdict.PASS, Verdict.FAIL) and result.evidence
