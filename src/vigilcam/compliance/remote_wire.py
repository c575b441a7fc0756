"""The remote audit's wire: one bounded client for HTTP/1.x and RTSP replies to another camera.

Owns the target (``https://HOST[:PORT]`` and nothing else), the probing TLS context, the
connect and read limits and the reply parser that the remote audit (``remote``), its
slow-client probe (``remote_slow``) and its ONVIF probe (``remote_onvif``) share. Serves the
bounds the remote audit promises (docs/audit.md): short timeouts, bounded replies.
"""

from __future__ import annotations

import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

CONNECT_TIMEOUT = 1.5
IO_TIMEOUT = 4.0


class TargetError(ValueError):
    """The target URL is not something the audit can probe."""


@dataclass(frozen=True)
class Target:
    host: str
    port: int

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"https://{host}:{self.port}"


def parse_target(url: str) -> Target:
    """``https://HOST[:PORT]`` (or a bare host) -> Target; anything else is refused."""
    text = url.strip()
    if "://" not in text:
        text = "https://" + text
    parts = urlsplit(text)
    if parts.scheme != "https":
        raise TargetError(f"target must be an https:// URL (got {parts.scheme}://); the audit "
                          "probes plain ports by itself")
    if not parts.hostname:
        raise TargetError(f"no host in target {url!r}")
    if parts.username or parts.password:
        raise TargetError("do not put credentials in the target URL")
    try:
        port = parts.port or 443
    except ValueError:
        raise TargetError(f"bad port in target {url!r}") from None
    return Target(parts.hostname, port)


@dataclass
class HttpAnswer:
    status: int
    headers: dict[str, str]
    body: bytes = b""

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


def insecure_tls() -> ssl.SSLContext:
    """A probing client that accepts anything, to see what a weak server offers.

    Deliberately not from platform.tls: it must talk to servers vigilcam's policy refuses.
    It never carries a credential except in the owner-approved login probes.
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    ctx.set_ciphers("ALL:@SECLEVEL=0")
    return ctx


def connect(host: str, port: int, tls: bool, timeout: float = IO_TIMEOUT) -> socket.socket:
    raw = socket.create_connection((host, port), timeout=CONNECT_TIMEOUT)
    raw.settimeout(timeout)
    if not tls:
        return raw
    try:
        return insecure_tls().wrap_socket(raw, server_hostname=host)
    except (OSError, ssl.SSLError):
        raw.close()
        raise


def read_reply(sock: socket.socket, limit: int = 256 * 1024) -> bytes:
    """Read a reply with headers and Content-Length body (bounded), or until close."""
    data = b""
    deadline = time.monotonic() + IO_TIMEOUT
    while len(data) < limit and time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except (TimeoutError, ssl.SSLError, OSError):
            break
        if not chunk:
            break
        data += chunk
        head, sep, body = data.partition(b"\r\n\r\n")
        if sep:
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    try:
                        length = int(value.strip())
                    except ValueError:
                        length = 0
            if len(body) >= length:
                break
    return data


def parse_reply(data: bytes) -> HttpAnswer | None:
    """Status line and headers of an HTTP/1.x or RTSP/1.0 reply."""
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    first = lines[0].split(" ", 2)
    if len(first) < 2 or not first[0].startswith(("HTTP/", "RTSP/")):
        return None
    try:
        status = int(first[1])
    except ValueError:
        return None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return HttpAnswer(status, headers, body)


def http_request(host: str, port: int, tls: bool, method: str, path: str,
                 headers: dict[str, str] | None = None, body: bytes = b"") -> HttpAnswer | None:
    hostname = f"[{host}]" if ":" in host else host
    lines = [f"{method} {path} HTTP/1.1", f"Host: {hostname}:{port}", "Connection: close",
             "User-Agent: vigilcam-audit"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body or method in ("POST", "PUT"):
        lines.append(f"Content-Length: {len(body)}")
    try:
        with connect(host, port, tls) as sock:
            sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
            return parse_reply(read_reply(sock))
    except (OSError, ssl.SSLError):
        return None


def rtsp_describe(host: str, port: int, tls: bool, path: str) -> HttpAnswer | None:
    hostname = f"[{host}]" if ":" in host else host
    request = (f"DESCRIBE rtsp://{hostname}:{port}{path} RTSP/1.0\r\nCSeq: 2\r\n"
               "Accept: application/sdp\r\nUser-Agent: vigilcam-audit\r\n\r\n")
    try:
        with connect(host, port, tls) as sock:
            sock.sendall(request.encode())
            return parse_reply(read_reply(sock))
    except (OSError, ssl.SSLError):
        return None
