"""IoT-1005-1 5.2.2.1 / 5.4.2.2: only HTTPS by default; the optional plain listener only redirects."""

from __future__ import annotations

import socket

import httpx
import pytest

from tests.support import free_port, start_server


def listening_ports(pid: int) -> set[int]:
    inodes = set()
    import os
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in open(table).read().splitlines()[1:]:
            parts = line.split()
            if parts[3] == "0A" and parts[9] in inodes:
                ports.add(int(parts[1].split(":")[1], 16))
    return ports


@pytest.mark.peer
def test_default_listens_on_https_only(server):
    assert listening_ports(server.proc.pid) == {server.port}


@pytest.mark.peer
def test_plain_listener_only_redirects(tmp_path):
    plain = free_port()
    srv = start_server(tmp_path / "data", "--http-redirect-port", str(plain))
    try:
        assert listening_ports(srv.proc.pid) == {srv.port, plain}
        with httpx.Client(base_url=f"http://127.0.0.1:{plain}") as c:
            r = c.get("/api/v1/device", headers={"Authorization": "Basic YWRtaW46YWRtaW4="})
            assert r.status_code == 301
            assert r.headers["location"] == f"https://127.0.0.1:{srv.port}/api/v1/device"
            assert c.post("/api/v1/session", json={"username": "admin", "password": "x"}
                          ).status_code == 405
            assert "set-cookie" not in r.headers
    finally:
        srv.kill()


def test_no_plaintext_answers_on_https_port(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        s.sendall(b"GET /api/v1/device HTTP/1.0\r\n\r\n")
        s.settimeout(5)
        try:
            data = s.recv(1000)
        except (ConnectionResetError, TimeoutError):
            data = b""
    assert b"model" not in data
