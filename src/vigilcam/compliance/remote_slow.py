"""Remote audit, slow-client probe: does a camera stay available while one address holds
connections with request heads it never finishes (slowloris)?

Owns the probe behind the remote check of IoT-1005-1 5.6.1.1 (``remote_judge.slow_clients``);
it runs only with ``--i-own-this-device``, since it spends the camera's connection budget for
the probing address for a while.

Bounds (an audit must never become an attack): at most ``SLOW_CONNECTIONS`` (64) TLS
connections, opened once, each sending one partial request head of 60 bytes and nothing more;
one other request while they are held (from a second local address when the target is on
loopback, else from the same address); the probe waits at most ``SLOW_CUT_WAIT_S`` for the
camera to cut them, then closes whatever is left and makes one last request to see that the
address is served again. About 70 connections in all, within ``SLOW_CUT_WAIT_S`` + ~10 s.
"""

from __future__ import annotations

import contextlib
import ipaddress
import secrets
import select
import socket
import ssl
import time
from dataclasses import dataclass, field

from vigilcam.compliance.remote_wire import (
    CONNECT_TIMEOUT,
    IO_TIMEOUT,
    HttpAnswer,
    Target,
    insecure_tls,
    parse_reply,
    read_reply,
)

SLOW_CONNECTIONS = 64
SLOW_CUT_WAIT_S = 30.0  # a camera that has not cut a stalled head by then has no deadline
PARTIAL_HEAD = b"GET / HTTP/1.1\r\nHost: camera\r\nUser-Agent: vigilcam-audit\r\nX-Slow: "


@dataclass
class SlowClientsSeen:
    tried: int = 0
    held: int = 0  # TLS completed and the partial head sent
    refused: int = 0  # reset or closed before the TLS handshake finished
    other_source: str = ""  # local address the "other" request came from
    other: HttpAnswer | None = None  # the other request, while the partial heads were held
    cut_after: list[float] = field(default_factory=list)  # seconds from open to the cut
    still_open: int = 0  # held connections the camera had not cut after the wait
    waited_s: float = 0.0
    after: HttpAnswer | None = None  # a request from the probing address after the cuts


def _open(target: Target, source: str | None) -> ssl.SSLSocket:
    raw = socket.create_connection((target.host, target.port), timeout=CONNECT_TIMEOUT,
                                   source_address=(source, 0) if source else None)
    raw.settimeout(IO_TIMEOUT)
    try:
        return insecure_tls().wrap_socket(raw, server_hostname=target.host)
    except (OSError, ssl.SSLError):
        raw.close()
        raise


def _request(target: Target, source: str | None) -> HttpAnswer | None:
    try:
        with _open(target, source) as sock:
            sock.sendall(b"GET /.well-known/security.txt HTTP/1.1\r\nHost: camera\r\n"
                         b"Connection: close\r\nUser-Agent: vigilcam-audit\r\n\r\n")
            return parse_reply(read_reply(sock))
    except (OSError, ssl.SSLError):
        return None


def _other_source(target: Target) -> str | None:
    """A second loopback address when the target is on loopback (one host, many sources)."""
    try:
        ip = ipaddress.ip_address(target.host)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv4Address) and ip.is_loopback:
        return f"127.{secrets.randbelow(200) + 20}.{secrets.randbelow(250) + 1}.1"
    return None


def _wait_for_cuts(held: list[tuple[ssl.SSLSocket, float]], wait: float,
                   seen: SlowClientsSeen) -> None:
    start = time.monotonic()
    open_ = dict(held)
    while open_ and time.monotonic() - start < wait:
        ready, _, _ = select.select(list(open_), [], [], 0.25)
        for sock in ready:
            try:
                sock.setblocking(False)
                sock.recv(4096)
            except (ssl.SSLWantReadError, BlockingIOError):
                continue  # a TLS 1.3 session ticket, no application data
            except (OSError, ssl.SSLError):
                pass
            # EOF, a reset or an answer (408 and close): the camera ended the stalled head
            seen.cut_after.append(time.monotonic() - open_.pop(sock))
            sock.close()
    seen.still_open = len(open_)
    seen.waited_s = time.monotonic() - start
    for sock in open_:
        with contextlib.suppress(OSError):
            sock.close()


def probe_slow_clients(target: Target, *, connections: int = SLOW_CONNECTIONS,
                       wait: float | None = None) -> SlowClientsSeen:
    """Hold ``connections`` partial heads from this address; see who is served and when the
    camera cuts them (bounded as the module says)."""
    seen = SlowClientsSeen()
    held: list[tuple[ssl.SSLSocket, float]] = []
    try:
        for _ in range(min(connections, SLOW_CONNECTIONS)):
            seen.tried += 1
            try:
                sock = _open(target, None)
                sock.sendall(PARTIAL_HEAD)
            except (OSError, ssl.SSLError):
                seen.refused += 1
                continue
            held.append((sock, time.monotonic()))
        seen.held = len(held)
        other = _other_source(target)
        seen.other_source = other or "the probing address"
        seen.other = _request(target, other)
        _wait_for_cuts(held, SLOW_CUT_WAIT_S if wait is None else wait, seen)
        held = []
    finally:
        for sock, _ in held:
            with contextlib.suppress(OSError):
                sock.close()
    seen.after = _request(target, None)
    return seen
