"""Listening sockets and the service process, read from /proc (IoT-1005-1 5.2.2.1)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from vigilcam.compliance.procnet import decode_address, find_service, listeners_of, parse_proc_net

TCP = """  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:20FB 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 111 1 0
   1: 0100007F:9C40 0100007F:20FB 01 00000000:00000000 00:00000000 00000000     0        0 222 1 0
"""
UDP6 = """  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  10: 00000000000000000000000000000000:0E1C 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 333 2 0 0
"""


def test_decode_addresses():
    assert decode_address("0100007F:1F90") == ("127.0.0.1", 8080)
    assert decode_address("00000000000000000000000001000000:0050") == ("::1", 80)
    assert decode_address("0000000000000000FFFF00000100007F:01BB") == ("127.0.0.1", 443)
    with pytest.raises(ValueError):
        decode_address("ZZ:01")


def test_parse_tables():
    tcp = parse_proc_net(TCP, "tcp")
    assert [(s.address, s.port, s.inode) for s in tcp] == [("127.0.0.1", 8443, 111)]
    udp = parse_proc_net(UDP6, "udp6")
    assert str(udp[0]) == "udp [::]:3612"


def test_listeners_of_this_process():
    with socket.socket() as tcp, socket.socket(socket.AF_INET6) as tcp6, \
            socket.socket(type=socket.SOCK_DGRAM) as udp, socket.socket() as client_only:
        tcp.bind(("127.0.0.1", 0))
        tcp.listen()
        tcp6.bind(("::1", 0))
        tcp6.listen()
        udp.bind(("127.0.0.1", 0))
        client_only.bind(("127.0.0.1", 0))  # bound, not listening: not a service
        found = {(s.transport, s.port) for s in listeners_of(os.getpid())}
        assert ("tcp", tcp.getsockname()[1]) in found
        assert ("tcp", tcp6.getsockname()[1]) in found
        assert ("udp", udp.getsockname()[1]) in found
        assert ("tcp", client_only.getsockname()[1]) not in found


def test_find_service_by_data_dir(tmp_path):
    proc = tmp_path / "proc"
    data = tmp_path / "data"
    data.mkdir()

    def process(pid: int, *argv: str) -> None:
        (proc / str(pid)).mkdir(parents=True)
        (proc / str(pid) / "cmdline").write_bytes("\0".join(argv).encode() + b"\0")
        (proc / str(pid) / "environ").write_bytes(b"VIGILCAM_HTTPS_PORT=9443\0")
        os.symlink(tmp_path, proc / str(pid) / "cwd")

    process(10, "/usr/bin/python3", "-m", "vigilcam.cli", "run", "--data-dir", "/elsewhere")
    process(11, "/usr/bin/vim", "run", "--data-dir", str(data))
    process(12, "/opt/vigilcam/bin/vigilcam", "run", "--data-dir", "data",
            "--http-redirect-port", "8080")
    svc = find_service(data, Path("/var/lib/vigilcam"), proc)
    assert svc is not None and svc.pid == 12
    assert svc.cli == {"http_redirect_port": 8080}
    assert svc.environ["VIGILCAM_HTTPS_PORT"] == "9443"
    assert find_service(tmp_path / "other", Path("/var/lib/vigilcam"), proc) is None
