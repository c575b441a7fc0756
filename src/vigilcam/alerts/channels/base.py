"""What every alert channel kind shares: the sender interface, the kind record, URL checks, TLS.

Owns the shape of a channel kind (``ChannelKind``: parse, build, where it delivers, what the
vault holds), the URL checks every kind runs first (only TLS schemes; no credential in a URL,
it goes to the vault) and where channel TLS contexts come from
(``vigilcam.platform.tls.client_context``, with the owner's private CA when one was given). The
table of kinds is ``vigilcam.alerts.channels.CHANNEL_KINDS``. Serves IoT-1005-1 5.4.2.1 /
5.4.2.2 (alerts and their credentials only over TLS >= 1.2) and 5.5.2.1 (input validated with
clear errors).
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol
from urllib.parse import SplitResult, urlsplit

from vigilcam.alerts.evidence import Attachments
from vigilcam.alerts.rules import Alert
from vigilcam.platform.tls import client_context

SEND_TIMEOUT_S = 20.0
MAX_URL_CHARS = 2048


class ChannelError(Exception):
    """A delivery failed; the message says why (never contains a secret)."""


def delivery_failed(where: str, exc: BaseException) -> ChannelError:
    """The error for a transport failure: where (kind and host) and the library's reason."""
    return ChannelError(f"{where}: {type(exc).__name__}: {exc}")


class Sender(Protocol):
    async def send(self, alert: Alert) -> None: ...
    async def close(self) -> None: ...


@dataclass(frozen=True)
class Target:
    """A parsed, validated channel target: what is stored (no secret) and what is used."""

    kind: str
    url: str  # normalised and redacted: without credentials, safe to store and show
    host: str
    port: int
    username: str | None
    path: str
    extra: dict[str, Any]


@dataclass(frozen=True)
class Delivery:
    """What a sender is built from: the stored target, the vault's secret, the options."""

    stored_url: str
    secret: bytes | None
    ca_pem: str | None
    device_id: str
    channel_id: str
    attachments: Attachments | None


@dataclass(frozen=True)
class ChannelKind:
    """One row of the channel table.

    ``parse`` validates the owner's URL and returns the target whose ``url`` is the redacted
    form that may be stored and shown (for apprise, whose URL is itself the token, scheme and
    host only); ``build`` makes the sender; ``secret`` says what the vault holds for a channel
    of this kind: a generated HMAC key, the owner's whole URL, or an optional password/token;
    ``locate`` finds the destination in the secret when the stored URL does not hold it.
    """

    name: str
    parse: Callable[[str], Target]
    build: Callable[[Delivery], Sender]
    secret: Literal["hmac", "url", "password"] = "password"
    locate: Callable[[bytes | None], tuple[str, int]] | None = None

    def destination(self, stored_url: str, secret: bytes | None) -> tuple[str, int]:
        """(host, port) a channel of this kind delivers to."""
        if self.locate is not None:
            return self.locate(secret)
        target = self.parse(stored_url)
        return target.host, target.port


def check_url_text(url: str) -> None:
    """Every kind's first check: bounded length, no white space."""
    if len(url) > MAX_URL_CHARS or any(c.isspace() for c in url):
        raise ValueError("the URL is too long or contains spaces")


def split_url(url: str, *, fragment_allowed: bool = False) -> SplitResult:
    """Split a channel URL after the checks every URL kind shares (no password inside)."""
    check_url_text(url)
    parts = urlsplit(url)
    if parts.fragment and not fragment_allowed:
        raise ValueError("the URL must not have a #fragment")
    if parts.password is not None:
        raise ValueError("do not put a password in the URL; give it with --password-stdin "
                         "(it is stored encrypted in the vault)")
    return parts


def host_port(parts: SplitResult, default_port: int) -> tuple[str, int]:
    host = parts.hostname
    if not host:
        raise ValueError("the URL needs a host name")
    try:
        port = parts.port or default_port
    except ValueError:
        raise ValueError("the URL port is not a number between 1 and 65535") from None
    return host, port


def netloc(host: str, port: int, default: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return shown if port == default else f"{shown}:{port}"


def tls_context(ca_pem: str | None) -> ssl.SSLContext:
    """Every channel's TLS context: the platform policy, the owner's CA if one was given."""
    return client_context(cadata=ca_pem) if ca_pem else client_context()


def text_body(alert: Alert) -> str:
    """A plain-text rendering for email and push: every field the owner needs."""
    lines = [
        alert.summary,
        "",
        f"device:   {alert.model} serial {alert.serial}",
        f"device ID: {alert.device_id}",
        f"time:     {alert.time}",
        f"event:    {alert.event} ({alert.severity})",
        f"user:     {alert.user or '-'}",
        f"source:   {alert.source or '-'}",
        f"count:    {alert.count}",
    ]
    if alert.count > 1:
        lines.append(f"between:  {alert.first_time} and {alert.last_time}")
    lines.append(f"alert ID: {alert.alert_id}")
    return "\n".join(lines) + "\n"
