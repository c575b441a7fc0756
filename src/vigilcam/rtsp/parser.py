"""RTSP/1.0 request parsing and response building (RFC 2326), pure and strictly bounded.

Owns what bytes from an RTSP client are accepted. Serves IoT-1005-1 5.5.2.1 (input validated in
syntax and content; the parser is fuzzed by ``tests/rtsp/test_parser.py``): malformed
requests, oversized headers and unknown methods get a clear error, never a crash.

Invariants:
- :class:`RequestReader` never holds more than ``Limits.max_head + Limits.max_body`` bytes of
  one request, nor more than one interleaved frame (at most 65535 + 4 bytes).
- Every refusal is an :class:`RtspError` carrying the status to answer (400, 413, 414, 431,
  501, 505) and a message; the connection is closed after answering it, because the byte
  stream can no longer be trusted to be in sync.
- Accepted requests have: a known method, a bounded ASCII request-URI, version RTSP/1.0,
  exactly one decimal CSeq, at most ``max_headers`` header lines without folding or control
  characters, and a body of exactly Content-Length bytes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

__all__ = [
    "Interleaved",
    "Limits",
    "METHODS",
    "REASONS",
    "RequestReader",
    "RtspError",
    "RtspRequest",
    "build_response",
    "request_path",
]

METHODS = frozenset(
    {
        "OPTIONS", "DESCRIBE", "SETUP", "PLAY", "PAUSE", "TEARDOWN", "GET_PARAMETER",
        "SET_PARAMETER",
    }
)
"""Methods this server implements; other well-formed tokens are answered 501."""

REASONS: dict[int, str] = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Request Entity Too Large",
    414: "Request-URI Too Long",
    431: "Request Header Fields Too Large",
    453: "Not Enough Bandwidth",
    454: "Session Not Found",
    455: "Method Not Valid in This State",
    459: "Aggregate Operation Not Allowed",
    461: "Unsupported Transport",
    500: "Internal Server Error",
    501: "Not Implemented",
    503: "Service Unavailable",
    505: "RTSP Version Not Supported",
}

_METHOD_RE = re.compile(rb"[A-Z][A-Z_]{0,31}")
_TOKEN_RE = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,64}")
_URI_RE = re.compile(rb"[\x21-\x7e]+")
_VALUE_BAD = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")


@dataclass(frozen=True)
class Limits:
    max_request_line: int = 2048
    max_head: int = 8192
    max_headers: int = 32
    max_header_line: int = 2048
    max_body: int = 4096


class RtspError(Exception):
    """A request that must be refused with ``status``; ``cseq`` when it could be read."""

    def __init__(self, status: int, message: str, cseq: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.cseq = cseq


@dataclass(frozen=True)
class RtspRequest:
    method: str
    uri: str
    cseq: int
    headers: tuple[tuple[str, str], ...]  # (lower-case name, value) in arrival order
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """The value of the first header ``name`` (case-insensitive), or None."""
        key = name.lower()
        for k, v in self.headers:
            if k == key:
                return v
        return None

    def all(self, name: str) -> list[str]:
        key = name.lower()
        return [v for k, v in self.headers if k == key]


@dataclass(frozen=True)
class Interleaved:
    """A ``$``-framed binary message from the client (RTCP receiver reports): ignored."""

    channel: int
    payload: bytes = field(repr=False)


def _parse_cseq(values: list[str]) -> int | None:
    if len(values) != 1:
        return None
    v = values[0].strip()
    if not v.isascii() or not v.isdigit() or len(v) > 9:
        return None
    return int(v)


def parse_head(head: bytes, limits: Limits = Limits()) -> tuple[RtspRequest, int]:
    """Parse a request head (without the final CRLF CRLF); return the request and body length.

    The body is attached by :class:`RequestReader`.
    """
    lines = head.split(b"\r\n")
    request_line = lines[0]
    if len(request_line) > limits.max_request_line:
        raise RtspError(414, "request line too long")
    parts = request_line.split(b" ")
    if len(parts) != 3:
        raise RtspError(400, "request line must be: METHOD URI RTSP/1.0")
    raw_method, raw_uri, raw_version = parts
    if not _METHOD_RE.fullmatch(raw_method):
        raise RtspError(400, "malformed method")
    if not _URI_RE.fullmatch(raw_uri):
        raise RtspError(400, "malformed request URI")
    if not raw_version.startswith(b"RTSP/"):
        raise RtspError(400, "not an RTSP request")
    header_lines = lines[1:]
    if len(header_lines) > limits.max_headers:
        raise RtspError(431, f"more than {limits.max_headers} header lines")
    headers: list[tuple[str, str]] = []
    for line in header_lines:
        if len(line) > limits.max_header_line:
            raise RtspError(431, "header line too long")
        if not line or line[:1] in (b" ", b"\t"):
            raise RtspError(400, "empty or folded header line")
        name, sep, value = line.partition(b":")
        if not sep or not _TOKEN_RE.fullmatch(name):
            raise RtspError(400, "malformed header line")
        if _VALUE_BAD.search(value):
            raise RtspError(400, "control character in header value")
        try:
            text = value.decode("utf-8").strip(" \t")
        except UnicodeDecodeError:
            raise RtspError(400, "header value is not UTF-8") from None
        headers.append((name.decode("ascii").lower(), text))
    cseq = _parse_cseq([v for k, v in headers if k == "cseq"])
    if cseq is None:
        raise RtspError(400, "exactly one numeric CSeq header is required")
    if raw_version != b"RTSP/1.0":
        raise RtspError(505, "only RTSP/1.0 is supported", cseq)
    method = raw_method.decode("ascii")
    if method not in METHODS:
        raise RtspError(501, f"method {method} is not implemented", cseq)
    lengths = [v for k, v in headers if k == "content-length"]
    length = 0
    if lengths:
        if len(lengths) != 1 or not lengths[0].isascii() or not lengths[0].isdigit() \
                or len(lengths[0]) > 9:
            raise RtspError(400, "malformed Content-Length", cseq)
        length = int(lengths[0])
        if length > limits.max_body:
            raise RtspError(413, f"body larger than {limits.max_body} bytes", cseq)
    request = RtspRequest(method, raw_uri.decode("ascii"), cseq, tuple(headers))
    return request, length


class RequestReader:
    """Incremental reader: ``feed()`` bytes, then take requests / interleaved frames in order."""

    def __init__(self, limits: Limits = Limits()) -> None:
        self.limits = limits
        self._buf = bytearray()
        self._pending: tuple[RtspRequest, int] | None = None
        self._failed: RtspError | None = None

    @property
    def buffered(self) -> int:
        """Bytes held that do not yet make a complete message (for the header timeout)."""
        return len(self._buf)

    def feed(self, data: bytes) -> None:
        if self._failed is not None:
            return
        self._buf += data

    def next(self) -> RtspRequest | Interleaved | None:
        """The next complete message, None when more bytes are needed; raises RtspError."""
        if self._failed is not None:
            raise self._failed
        try:
            return self._next()
        except RtspError as exc:
            self._failed = exc
            self._buf.clear()
            raise

    def drain(self) -> Iterable[RtspRequest | Interleaved]:
        while (msg := self.next()) is not None:
            yield msg

    def _next(self) -> RtspRequest | Interleaved | None:
        buf = self._buf
        if self._pending is not None:
            request, length = self._pending
            if len(buf) < length:
                return None
            body = bytes(buf[:length])
            del buf[:length]
            self._pending = None
            return RtspRequest(request.method, request.uri, request.cseq, request.headers, body)
        while buf.startswith(b"\r\n"):  # stray CRLF between messages (RFC 2326 tolerates)
            del buf[:2]
        if not buf:
            return None
        if buf[0] == 0x24:  # "$": interleaved binary data (RFC 2326 10.12)
            if len(buf) < 4:
                return None
            size = int.from_bytes(buf[2:4], "big")
            if len(buf) < 4 + size:
                return None
            frame = Interleaved(buf[1], bytes(buf[4 : 4 + size]))
            del buf[: 4 + size]
            return frame
        end = buf.find(b"\r\n\r\n", 0, self.limits.max_head + 4)
        if end < 0:
            first = buf.find(b"\r\n", 0, self.limits.max_request_line + 2)
            if first < 0 and len(buf) > self.limits.max_request_line:
                raise RtspError(414, "request line too long")
            if len(buf) > self.limits.max_head:
                raise RtspError(431, f"request head larger than {self.limits.max_head} bytes")
            return None
        head = bytes(buf[:end])
        del buf[: end + 4]
        request, length = parse_head(head, self.limits)
        if length:
            self._pending = (request, length)
            return self._next()
        return request


def request_path(uri: str) -> str:
    """The decoded path of a request-URI (absolute rtsp(s):// URI or an absolute path).

    Raises RtspError(400) for other schemes, ``..`` segments or non-printable characters.
    """
    if uri == "*":
        return "*"
    if uri.startswith("/"):
        path = uri.split("?", 1)[0]
    else:
        try:
            parts = urlsplit(uri)
        except ValueError:
            raise RtspError(400, "malformed request URI") from None
        if parts.scheme.lower() not in ("rtsp", "rtsps"):
            raise RtspError(400, "request URI must be rtsps://HOST:PORT/PATH")
        path = parts.path or "/"
    try:
        decoded = unquote(path, errors="strict") if "%" in path else path
    except UnicodeDecodeError:
        raise RtspError(400, "request path is not UTF-8") from None
    if not decoded.isprintable() or "/../" in decoded + "/" or "\\" in decoded:
        raise RtspError(400, "malformed request path")
    return decoded


def build_response(
    status: int,
    cseq: int | None,
    headers: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
    reason: str | None = None,
) -> bytes:
    """An RTSP/1.0 response; ``reason`` overrides the standard phrase (e.g. privacy mode)."""
    phrase = reason or REASONS.get(status, "Error")
    lines = [f"RTSP/1.0 {status} {phrase}"]
    if cseq is not None:
        lines.append(f"CSeq: {cseq}")
    lines.append("Server: vigilcam")
    for name, value in headers:
        if "\r" in value or "\n" in value or "\r" in name or "\n" in name:
            raise ValueError("header injection refused")
        lines.append(f"{name}: {value}")
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + body
