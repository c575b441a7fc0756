"""What every alert channel shares: the sender interface, target parsing, the TLS context.

Owns channel URL validation (only TLS schemes; no credential in a URL, it goes to the vault;
an apprise URL is itself the secret and is judged by ``apprise_push``)
and where channel TLS contexts come from (``vigilcam.platform.tls.client_context``, with the
owner's private CA when one was given). Serves IoT-1005-1 5.4.2.1 / 5.4.2.2 (alerts and their
credentials only over TLS >= 1.2) and 5.5.2.1 (input validated with clear errors).
"""

from __future__ import annotations

import re
import ssl
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import parse_qs, quote, unquote, urlsplit

from vigilcam.alerts.rules import Alert
from vigilcam.platform.tls import client_context

KINDS = ("webhook", "email", "mqtt", "ntfy", "apprise")
SEND_TIMEOUT_S = 20.0
_EMAIL = re.compile(r"^[^@\s,<>]{1,64}@[A-Za-z0-9.-]{1,253}$")
_TOPIC = re.compile(r"^[A-Za-z0-9_./-]{1,200}$")
_NTFY_TOPIC = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class ChannelError(Exception):
    """A delivery failed; the message says why (never contains a secret)."""


class Sender(Protocol):
    async def send(self, alert: Alert) -> None: ...
    async def close(self) -> None: ...


@dataclass(frozen=True)
class Target:
    """A parsed, validated channel target: what is stored (no secret) and what is used."""

    kind: str
    url: str  # normalised, without credentials
    host: str
    port: int
    username: str | None
    path: str
    extra: dict[str, Any]


def _host_port(parts: Any, default_port: int) -> tuple[str, int]:
    host = parts.hostname
    if not host:
        raise ValueError("the URL needs a host name")
    try:
        port = parts.port or default_port
    except ValueError:
        raise ValueError("the URL port is not a number between 1 and 65535") from None
    return host, port


def parse_target(kind: str, url: str) -> Target:
    """Validate a channel URL; raise ValueError with a message the owner can act on."""
    if kind not in KINDS:
        raise ValueError(f"unknown channel kind {kind!r} (use {', '.join(KINDS)})")
    if len(url) > 2048 or any(c.isspace() for c in url):
        raise ValueError("the URL is too long or contains spaces")
    if kind == "apprise":
        from vigilcam.alerts.channels.apprise_push import redacted

        shown, service = redacted(url)
        return Target(kind, shown, service, 0, None, "", {})
    parts = urlsplit(url)
    if parts.fragment and kind != "mqtt":
        raise ValueError("the URL must not have a #fragment")
    if parts.password is not None:
        raise ValueError("do not put a password in the URL; give it with --password-stdin "
                         "(it is stored encrypted in the vault)")
    scheme = parts.scheme.lower()
    user = unquote(parts.username) if parts.username else None
    if kind in ("webhook", "ntfy"):
        if scheme != "https":
            raise ValueError(f"a {kind} URL must start with https:// (TLS only)")
        if user:
            raise ValueError("a user name in an https URL is not supported")
        host, port = _host_port(parts, 443)
        path = parts.path or "/"
        if kind == "ntfy" and not _NTFY_TOPIC.match(path.strip("/")):
            raise ValueError("an ntfy URL is https://server/topic (topic: letters, digits, _ -)")
        query = f"?{parts.query}" if parts.query else ""
        return Target(kind, f"https://{_netloc(host, port, 443)}{path}{query}", host, port,
                      None, path, {})
    if kind == "email":
        if scheme == "smtps":
            mode, default_port = "tls", 465
        elif scheme in ("smtp+starttls", "smtp"):
            if scheme == "smtp":
                raise ValueError("plain smtp:// is refused; use smtps:// (implicit TLS) or "
                                 "smtp+starttls:// (STARTTLS required)")
            mode, default_port = "starttls", 587
        else:
            raise ValueError("an email URL is smtps://user@host:465?to=owner@example.org or "
                             "smtp+starttls://user@host:587?to=...")
        host, port = _host_port(parts, default_port)
        args = parse_qs(parts.query)
        to = [a.strip() for v in args.get("to", []) for a in v.split(",") if a.strip()]
        if not to:
            raise ValueError("an email URL needs ?to=address (comma-separated for several)")
        sender = (args.get("from") or [f"vigilcam@{host}"])[0]
        for address in [*to, sender]:
            if not _EMAIL.match(address):
                raise ValueError(f"not an email address: {address!r}")
        if len(to) > 20:
            raise ValueError("at most 20 recipients")
        user_part = f"{quote(user, safe='')}@" if user else ""
        q = "to=" + ",".join(to) + (f"&from={sender}" if "from" in args else "")
        return Target(kind, f"{scheme}://{user_part}{_netloc(host, port, default_port)}?{q}",
                      host, port, user, "", {"mode": mode, "to": to, "from": sender})
    # mqtt
    if scheme != "mqtts":
        raise ValueError("an MQTT URL must be mqtts://[user@]host[:8883]/topic (TLS only)")
    host, port = _host_port(parts, 8883)
    topic = parts.path.lstrip("/") or "vigilcam/alerts"
    if not _TOPIC.match(topic) or "+" in url or "#" in url or parts.query:
        raise ValueError("the MQTT topic may hold letters, digits and _ . / - (no wildcards)")
    user_part = f"{quote(user, safe='')}@" if user else ""
    return Target(kind, f"mqtts://{user_part}{_netloc(host, port, 8883)}/{topic}", host, port,
                  user, topic, {})


def _netloc(host: str, port: int, default: int) -> str:
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
