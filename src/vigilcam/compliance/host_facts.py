"""Host facts: what runs and is configured on the Linux host vigilcam runs on (pure reading).

Owns reading, from a host root, the consoles and debug services a physical or local attacker
could reach: a login prompt (getty) on a serial port (ttyS*, ttyAMA*, ttyUSB*...), the kernel
console on a serial port under systemd (its generator starts a login there), sshd accepting
passwords, and debug services (telnetd, gdbserver, adbd, or something on their ports). The
verdict on these facts is ``checks_host``'s; the audit state caches them once per run. Serves
IoT-1005-1 5.5.1.1 and TAICS 5.1.1.1.

The host root is a parameter (``HostRoot``) so tests drive these readers with real file formats
in a temporary tree; the audit passes ``/``.
"""

from __future__ import annotations

import glob
import re
from dataclasses import dataclass, field
from pathlib import Path

from vigilcam.compliance.procnet import all_listeners, read_argv

SERIAL_TTY = re.compile(r"^(?:/dev/)?(tty(?:S|AMA|USB|ACM|MFD|PS|mxc|O|SAC|HS)\d+|hvc\d+)$")
GETTYS = {"agetty", "getty", "mingetty", "mgetty", "fgetty", "serial-getty"}
DEBUG_DAEMONS = {"telnetd", "in.telnetd", "utelnetd", "gdbserver", "adbd", "rlogind",
                 "in.rlogind"}
DEBUG_PORTS = {23: "telnet", 2323: "telnet (alternate)", 5555: "Android debug bridge",
               513: "rlogin", 514: "rsh"}

@dataclass(frozen=True)
class HostRoot:
    root: Path = Path("/")

    @property
    def proc(self) -> Path:
        return self.root / "proc"

    @property
    def etc(self) -> Path:
        return self.root / "etc"


@dataclass
class HostFindings:
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _processes(host: HostRoot) -> list[tuple[int, list[str]]]:
    out: list[tuple[int, list[str]]] = []
    try:
        entries = list(host.proc.iterdir())
    except OSError:
        return out
    for entry in entries:
        if entry.name.isdigit():
            argv = read_argv(int(entry.name), host.proc)
            if argv:
                out.append((int(entry.name), argv))
    return out


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def _masked(host: HostRoot, unit: str) -> bool:
    path = host.etc / "systemd" / "system" / unit
    try:
        return path.is_symlink() and str(path.readlink()) == "/dev/null"
    except OSError:
        return False


def serial_logins(host: HostRoot, processes: list[tuple[int, list[str]]]) -> HostFindings:
    found = HostFindings()
    for pid, argv in processes:
        if Path(argv[0]).name in GETTYS:
            ttys = [a for a in argv[1:] if SERIAL_TTY.match(a)]
            if ttys:
                found.problems.append(f"login prompt on serial port {ttys[0]} "
                                      f"({Path(argv[0]).name}, pid {pid})")
    wants = sorted(glob.glob(str(host.etc / "systemd" / "system" / "*.wants" / "*getty@*")))
    for path in wants:
        unit = Path(path).name
        tty = unit.split("@", 1)[1].removesuffix(".service")
        if SERIAL_TTY.match(tty) and not _masked(host, unit):
            found.problems.append(f"systemd unit {unit} is enabled (a login on {tty})")
    consoles = re.findall(r"console=([A-Za-z]+\d+)", _read(host.proc / "cmdline"))
    serial_consoles = [c for c in consoles if SERIAL_TTY.match(c)]
    init = _read(host.proc / "1" / "comm").strip()
    for tty in serial_consoles:
        unit = f"serial-getty@{tty}.service"
        masked = _masked(host, unit) or _masked(host, "serial-getty@.service")
        if init == "systemd" and not masked:
            found.problems.append(f"kernel console on {tty} under systemd: its getty generator "
                                  f"starts a login there ({unit} is not masked)")
        else:
            found.notes.append(f"kernel messages go to {tty} (output only; init is "
                               f"{init or 'unknown'}, no login started there)")
    for line in _read(host.etc / "inittab").splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "getty" in line:
            words = re.split(r"[\s:]+", line)
            ttys = [w for w in words if SERIAL_TTY.match(w)]
            if ttys:
                found.problems.append(f"/etc/inittab starts a login on {ttys[0]}")
    return found


def sshd_config_values(host: HostRoot) -> dict[str, str]:
    """Effective sshd options (first value wins; Include expanded in place)."""
    values: dict[str, str] = {}

    def walk(path: Path, depth: int) -> None:
        if depth > 4:
            return
        for raw in _read(path).splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            key, _, value = line.partition(" ")
            key, value = key.lower(), value.strip().strip('"')
            if key == "match":
                return  # options after Match apply to some users only
            if key == "include":
                for pattern in value.split():
                    full = pattern if pattern.startswith("/") else f"/etc/ssh/{pattern}"
                    for inc in sorted(glob.glob(str(host.root / full.lstrip("/")))):
                        walk(Path(inc), depth + 1)
                continue
            values.setdefault(key, value.lower())

    walk(host.etc / "ssh" / "sshd_config", 0)
    return values


def ssh_password_login(host: HostRoot, processes: list[tuple[int, list[str]]]) -> HostFindings:
    found = HostFindings()
    running = any(Path(argv[0]).name == "sshd" or argv[0].startswith("sshd:")
                  for _, argv in processes)
    wants = glob.glob(str(host.etc / "systemd" / "system" / "*.wants" / "ssh*.service"))
    if not running and not wants:
        found.notes.append("sshd is not running or enabled")
        return found
    values = sshd_config_values(host)
    where = "running" if running else "enabled"
    if values.get("passwordauthentication", "yes") != "no":
        found.problems.append(f"sshd ({where}) accepts password logins "
                              "(PasswordAuthentication is not 'no')")
    if values.get("permitemptypasswords", "no") == "yes":
        found.problems.append(f"sshd ({where}) permits empty passwords")
    if not found.problems:
        found.notes.append(f"sshd ({where}) accepts keys only")
    return found


def debug_services(host: HostRoot, processes: list[tuple[int, list[str]]]) -> HostFindings:
    found = HostFindings()
    for pid, argv in processes:
        name = Path(argv[0]).name
        if name in DEBUG_DAEMONS:
            found.problems.append(f"debug service {name} runs (pid {pid})")
    for lst in all_listeners(host.proc):
        if lst.transport == "tcp" and lst.port in DEBUG_PORTS:
            found.problems.append(f"{DEBUG_PORTS[lst.port]} port open: {lst}")
    return found


def inspect_host(host: HostRoot) -> HostFindings:
    processes = _processes(host)
    total = HostFindings()
    for part in (serial_logins(host, processes), ssh_password_login(host, processes),
                 debug_services(host, processes)):
        total.problems += part.problems
        total.notes += part.notes
    return total
