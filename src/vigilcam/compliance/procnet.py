"""Which sockets a process listens on, read from /proc (no psutil).

Owns finding the running ``vigilcam run`` process of a data dir and listing its listening
sockets, for the "only necessary services" check (IoT-1005-1 5.2.2.1) and the host's debug
services (IoT-1005-1 5.5.1.1, TAICS 5.1.1.1). Parsers are pure functions over the text of
``/proc/net/{tcp,tcp6,udp,udp6}``; the ``proc`` root is a parameter so tests can feed files.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path

TCP_LISTEN = "0A"
UDP_UNCONNECTED = "07"
_TABLES = ("tcp", "tcp6", "udp", "udp6")


@dataclass(frozen=True)
class Listener:
    proto: str  # tcp | tcp6 | udp | udp6
    address: str
    port: int
    inode: int

    @property
    def transport(self) -> str:
        return "udp" if self.proto.startswith("udp") else "tcp"

    def __str__(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{self.transport} {host}:{self.port}"


def decode_address(hex_addr: str) -> tuple[str, int]:
    """``0100007F:1F90`` -> ("127.0.0.1", 8080); IPv6 is four little-endian 32-bit words."""
    host_hex, _, port_hex = hex_addr.partition(":")
    raw = bytes.fromhex(host_hex)
    if len(raw) not in (4, 16):
        raise ValueError(f"bad /proc/net address {hex_addr!r}")
    host = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    ip = ipaddress.ip_address(host)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return str(ip), int(port_hex, 16)


def parse_proc_net(text: str, proto: str) -> list[Listener]:
    """Listening TCP sockets, or bound unconnected UDP sockets, of one /proc/net table."""
    wanted = UDP_UNCONNECTED if proto.startswith("udp") else TCP_LISTEN
    out: list[Listener] = []
    for line in text.splitlines()[1:]:
        cols = line.split()
        if len(cols) < 10 or cols[3] != wanted:
            continue
        try:
            address, port = decode_address(cols[1])
            inode = int(cols[9])
        except ValueError:
            continue
        if port:
            out.append(Listener(proto, address, port, inode))
    return out


def all_listeners(proc: Path = Path("/proc")) -> list[Listener]:
    out: list[Listener] = []
    for table in _TABLES:
        try:
            text = (proc / "net" / table).read_text()
        except OSError:
            continue
        out += parse_proc_net(text, table)
    return out


def socket_inodes(pid: int, proc: Path = Path("/proc")) -> set[int]:
    inodes: set[int] = set()
    fd_dir = proc / str(pid) / "fd"
    try:
        names = os.listdir(fd_dir)
    except OSError:
        return inodes
    for name in names:
        try:
            target = os.readlink(fd_dir / name)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


def listeners_of(pid: int, proc: Path = Path("/proc")) -> list[Listener]:
    inodes = socket_inodes(pid, proc)
    return [lst for lst in all_listeners(proc) if lst.inode in inodes]


@dataclass
class ServiceProcess:
    pid: int
    argv: list[str]
    environ: dict[str, str] = field(default_factory=dict)
    cli: dict[str, object] = field(default_factory=dict)  # run options given on its command line


def read_argv(pid: int, proc: Path = Path("/proc")) -> list[str]:
    try:
        raw = (proc / str(pid) / "cmdline").read_bytes()
    except OSError:
        return []
    return [a.decode(errors="replace") for a in raw.split(b"\0") if a]


def _read_environ(pid: int, proc: Path) -> dict[str, str]:
    try:
        raw = (proc / str(pid) / "environ").read_bytes()
    except OSError:
        return {}
    env: dict[str, str] = {}
    for item in raw.split(b"\0"):
        key, sep, value = item.decode(errors="replace").partition("=")
        if sep:
            env[key] = value
    return env


def _run_options(argv: list[str]) -> argparse.Namespace | None:
    """The ``run`` options of a vigilcam command line, or None when it is not ``vigilcam run``."""
    if not any("vigilcam" in Path(a).name or a.startswith("vigilcam") for a in argv[:4]):
        return None
    if "run" not in argv:
        return None
    rest = argv[argv.index("run") + 1 :]
    parser = argparse.ArgumentParser(add_help=False, exit_on_error=False)
    parser.add_argument("--data-dir")
    parser.add_argument("--bind")
    for name in ("--https-port", "--http-redirect-port", "--rtsps-port"):
        parser.add_argument(name, type=int)
    parser.add_argument("--source")
    parser.add_argument("--record")
    try:
        opts, _ = parser.parse_known_args(rest)
    except (argparse.ArgumentError, SystemExit):
        return None
    return opts


def find_service(
    data_dir: Path, default_dir: Path, proc: Path = Path("/proc")
) -> ServiceProcess | None:
    """The ``vigilcam run`` process serving ``data_dir``, if one runs."""
    wanted = data_dir.resolve()
    for entry in sorted(proc.iterdir(), key=lambda p: p.name):
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        pid = int(entry.name)
        argv = read_argv(pid, proc)
        opts = _run_options(argv)
        if opts is None:
            continue
        if opts.data_dir:
            where = Path(opts.data_dir)
            if not where.is_absolute():
                try:
                    where = Path(os.readlink(entry / "cwd")) / where
                except OSError:
                    continue
        else:
            where = default_dir
        if where.resolve() != wanted:
            continue
        cli = {k: v for k, v in vars(opts).items() if k != "data_dir" and v is not None}
        return ServiceProcess(pid, argv, _read_environ(pid, proc), cli)
    return None
