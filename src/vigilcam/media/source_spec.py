"""Parse and validate ``--source`` specs into typed values (pure; no IO).

Owns which video sources vigilcam accepts. Only four kinds exist: ``testsrc``,
``file:PATH``, ``v4l2:/dev/videoN`` and ``rtsp://`` / ``rtsps://`` upstream cameras. There is
deliberately no shell-command or pipe source (Frigate's mistake). Upstream credentials are never
part of the spec: they live in the vault (IoT-1005-1 5.4.1.2) and are given separately as
:class:`UpstreamCredentials`, whose ``repr`` hides the password; error messages and
:meth:`RtspSource.redacted` never contain them (IoT-1005-1 5.4.2.2, IoT-1005-1 5.5.2.1
input validation).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import quote

__all__ = [
    "SourceSpec",
    "TestSource",
    "FileSource",
    "V4l2Source",
    "RtspSource",
    "UpstreamCredentials",
    "UpstreamTls",
    "parse_source",
]

_MAX_SPEC_LEN = 2048
_V4L2_RE = re.compile(r"/dev/video[0-9]{1,3}")
_HOST_RE = re.compile(r"(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                      r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*")
_PATH_RE = re.compile(r"/[A-Za-z0-9._~!$&'()*+,;=:%/?\-]*")


@dataclass(frozen=True, slots=True)
class UpstreamCredentials:
    """Username/password for an upstream camera, taken from the vault by the caller."""

    username: str
    password: str = field(repr=False)

    def __post_init__(self) -> None:
        for part in (self.username, self.password):
            if any(ord(c) < 0x20 or ord(c) == 0x7F for c in part):
                raise ValueError("upstream credentials must not contain control characters")


@dataclass(frozen=True, slots=True)
class UpstreamTls:
    """How an ``rtsps://`` upstream's certificate is checked (IoT-1005-1 5.4.2.1).

    Verified by default (FFmpeg itself does not verify unless told to): against ``ca_file``
    when given (pin the camera's own self-signed certificate or CA), else the system trust
    store. The host name or IP in the URL must match the certificate. ``verify=False`` is an
    explicit, insecure opt-out for cameras whose certificate cannot be obtained.
    """

    verify: bool = True
    ca_file: str | None = None

    def __post_init__(self) -> None:
        if self.ca_file is not None and (not self.ca_file or "\x00" in self.ca_file):
            raise ValueError("upstream CA file must be a path")


@dataclass(frozen=True, slots=True)
class TestSource:
    """The built-in moving test pattern."""

    __test__ = False  # not a pytest test class
    kind: Literal["testsrc"] = "testsrc"

    def redacted(self) -> str:
        return "testsrc"


@dataclass(frozen=True, slots=True)
class FileSource:
    """A local video file, played at its own rate in a loop."""

    path: str
    kind: Literal["file"] = "file"

    def redacted(self) -> str:
        return f"file:{self.path}"


@dataclass(frozen=True, slots=True)
class V4l2Source:
    """A Video4Linux2 capture device such as a USB camera."""

    device: str
    kind: Literal["v4l2"] = "v4l2"

    def redacted(self) -> str:
        return f"v4l2:{self.device}"


@dataclass(frozen=True, slots=True)
class RtspSource:
    """An upstream RTSP(S) camera; credentials are not part of it."""

    scheme: Literal["rtsp", "rtsps"]
    host: str  # hostname, IPv4, or IPv6 without brackets
    port: int
    path: str  # starts with "/", may include a query
    kind: Literal["rtsp"] = "rtsp"

    @property
    def _netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def redacted(self) -> str:
        """The URL for logs and events: never contains credentials."""
        return f"{self.scheme}://{self._netloc}{self.path}"

    def url(self, credentials: UpstreamCredentials | None = None) -> str:
        """The URL handed to FFmpeg. Contains the password: never log it or put it in errors."""
        if credentials is None:
            return self.redacted()
        user = quote(credentials.username, safe="")
        pw = quote(credentials.password, safe="")
        return f"{self.scheme}://{user}:{pw}@{self._netloc}{self.path}"


SourceSpec = TestSource | FileSource | V4l2Source | RtspSource


def parse_source(spec: str) -> SourceSpec:
    """Parse a ``--source`` value. Raises ValueError with a message safe to show and log."""
    if not isinstance(spec, str):
        raise ValueError("source must be a string")
    if len(spec) > _MAX_SPEC_LEN:
        raise ValueError(f"source spec is longer than {_MAX_SPEC_LEN} characters")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in spec):
        raise ValueError("source spec must not contain control characters")
    s = spec.strip()
    if s == "testsrc":
        return TestSource()
    if s.startswith("file:"):
        path = s[len("file:"):]
        if not path:
            raise ValueError("file source needs a path: file:PATH")
        if path.startswith("//"):
            raise ValueError("file source takes a local path (file:PATH), not a URL")
        return FileSource(path)
    if s.startswith("v4l2:"):
        device = s[len("v4l2:"):]
        if not _V4L2_RE.fullmatch(device):
            raise ValueError("v4l2 source must name a device like v4l2:/dev/video0")
        return V4l2Source(device)
    lower = s.lower()
    if lower.startswith("rtsp://") or lower.startswith("rtsps://"):
        return _parse_rtsp(s)
    raise ValueError(
        "unsupported source; use testsrc, file:PATH, v4l2:/dev/videoN, "
        "rtsp://host[:port]/path or rtsps://host[:port]/path"
    )


def _parse_rtsp(s: str) -> RtspSource:
    scheme_str, rest = s.split("://", 1)
    scheme: Literal["rtsp", "rtsps"] = "rtsps" if scheme_str.lower() == "rtsps" else "rtsp"
    if "@" in rest:
        # Refused anywhere (a password may hold "/"); echo nothing: the text holds a secret.
        raise ValueError(
            "credentials must not be embedded in the source URL; store them in the vault "
            "as the upstream stream credential"
        )
    slash = rest.find("/")
    netloc, path = (rest, "/") if slash < 0 else (rest[:slash], rest[slash:])
    if "#" in path:
        raise ValueError("rtsp source must not contain a fragment (#)")
    if not _PATH_RE.fullmatch(path):
        raise ValueError("rtsp source path contains characters that are not allowed")
    host, port_str = _split_host_port(netloc)
    default_port = 322 if scheme == "rtsps" else 554
    if port_str is None:
        port = default_port
    else:
        if not port_str.isdigit() or not 1 <= int(port_str) <= 65535:
            raise ValueError("rtsp source port must be a number from 1 to 65535")
        port = int(port_str)
    return RtspSource(scheme=scheme, host=host, port=port, path=path)


def _split_host_port(netloc: str) -> tuple[str, str | None]:
    if not netloc:
        raise ValueError("rtsp source needs a host: rtsp://host[:port]/path")
    if netloc.startswith("["):
        end = netloc.find("]")
        if end < 0:
            raise ValueError("rtsp source has an unterminated IPv6 address")
        host = netloc[1:end]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError("rtsp source has an invalid IPv6 address") from None
        tail = netloc[end + 1:]
        if tail and not tail.startswith(":"):
            raise ValueError("rtsp source has garbage after the IPv6 address")
        return host, (tail[1:] if tail else None)
    host, sep, port = netloc.partition(":")
    if not _HOST_RE.fullmatch(host):
        raise ValueError("rtsp source host is not a valid hostname or IPv4 address")
    return host, (port if sep else None)
