"""Push to any service apprise supports (Telegram, Pushover, Discord, Matrix, Gotify, ...).

Owns the apprise channel: which apprise URLs are accepted and how one alert becomes one apprise
notification (with the tamper before/after pictures attached, from memory, where the service
takes attachments). An apprise URL carries the service's token itself, so the whole URL is the
channel's secret: it lives only in the vault, and the alerts database keeps only its scheme
and (redacted) host. Serves IoT-1005-1 5.8.1.1 (alerts reach the owner's phone through the
service they use), 5.4.1.2 (tokens only in the vault) and 5.4.2.1 (TLS only: a service's plain
scheme is refused when it has a secure one, and turning certificate checks off is refused).

Transport: apprise's own HTTPS client (requests/urllib3, TLS >= 1.2, system or certifi roots,
``REQUESTS_CA_BUNDLE`` honoured). This is the one channel whose TLS context is not built by
``vigilcam.platform.tls``; a private CA is given to it through that environment variable.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import urlsplit

from vigilcam.alerts.channels import base
from vigilcam.alerts.evidence import Attachments
from vigilcam.alerts.rules import Alert

_NOTIFY_TYPE = {"critical": "failure", "warning": "warning", "info": "info"}
_OFF = {"no", "false", "0", "off"}


def _schemes(value: Any) -> set[str]:
    if not value:
        return set()
    return {value} if isinstance(value, str) else set(value)


def _instantiate(url: str) -> Any:
    import apprise

    base.check_url_text(url)
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if not scheme:
        raise ValueError("an apprise URL looks like service://token/... "
                         "(see the apprise documentation for your service)")
    plugin = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    if plugin is None:
        raise ValueError(f"apprise does not understand this {scheme}:// URL "
                         "(unknown service or missing token)")
    plain, secure = _schemes(plugin.protocol), _schemes(plugin.secure_protocol)
    if scheme in plain and secure:
        raise ValueError(f"{scheme}:// sends in clear text; use {sorted(secure)[0]}:// "
                         "(TLS only)")
    if scheme not in secure:
        raise ValueError(f"{scheme}:// has no TLS form in apprise; alerts are sent over TLS only")
    if not plugin.verify_certificate:
        raise ValueError("verify=no is refused: the peer's certificate is always checked")
    return plugin


def redacted(url: str) -> tuple[str, str]:
    """Validate an apprise URL; return (redacted URL for display, service name).

    Raises ValueError with a message the owner can act on.
    """
    plugin = _instantiate(url)
    return _display(str(plugin.url(privacy=True))), str(plugin.service_name)


def _display(private_url: str) -> str:
    """Scheme and host only: apprise's redaction leaves some tokens in paths (json://)."""
    scheme, _, rest = private_url.partition("://")
    host = rest.split("/", 1)[0].split("?", 1)[0].rpartition("@")[2]
    return f"{scheme}://{host}/..."


class AppriseSender:
    """Sends alerts through one apprise URL held in memory (read from the vault)."""

    def __init__(self, secret_url: bytes | None, attachments: Attachments | None = None) -> None:
        self._attachments = attachments
        if not secret_url:
            raise base.ChannelError("the apprise URL is missing from the vault")
        self._url = secret_url.decode()
        self._plugin = _instantiate(self._url)
        self._service = str(self._plugin.service_name)

    def _notify(self, alert: Alert) -> None:
        import apprise
        from apprise.attachment.memory import AttachMemory

        body = base.text_body(alert)
        title = f"{alert.model} {alert.serial}: {alert.title}"
        attach = apprise.AppriseAttachment()
        for item in self._attachments(alert) if self._attachments else []:
            # In memory only: no picture of the scene is ever written to disk.
            attach.add(AttachMemory(content=item.data, name=item.filename,
                                    mimetype=f"{item.maintype}/{item.subtype}"))
        with apprise.LogCapture(level=logging.WARNING) as log:
            ok = self._plugin.notify(body=body, title=title,
                                     notify_type=_NOTIFY_TYPE.get(alert.severity, "info"),
                                     attach=attach if len(attach) else None)
        if not ok:
            raise base.ChannelError(f"apprise {self._service}: {self._reason(log.getvalue())}")

    def _reason(self, logged: str) -> str:
        lines = [ln.strip() for ln in logged.splitlines() if ln.strip()]
        reason = lines[-1] if lines else "the service refused the notification"
        # apprise may quote the URL it used; the token in it must not reach logs or the UI.
        for secret_part in {self._url, *self._url.split("://", 1)[-1].split("/")}:
            if len(secret_part) >= 6:
                reason = reason.replace(secret_part, "***")
        return reason[:300]

    async def send(self, alert: Alert) -> None:
        try:
            async with asyncio.timeout(base.SEND_TIMEOUT_S):
                await asyncio.to_thread(self._notify, alert)
        except TimeoutError:
            raise base.ChannelError(f"apprise {self._service}: no answer within "
                                    f"{base.SEND_TIMEOUT_S:.0f} s") from None

    async def close(self) -> None:
        return None


def parse(url: str) -> base.Target:
    """The redacted target: scheme and host for display, the service name as host."""
    shown, service = redacted(url)
    return base.Target("apprise", shown, service, 0, None, "", {})


def locate(secret_url: bytes | None) -> tuple[str, int]:
    """(host, port) inside the vault's URL: the stored target is redacted."""
    parts = urlsplit((secret_url or b"").decode(errors="replace"))
    try:
        return parts.hostname or "", parts.port or 0
    except ValueError:
        return parts.hostname or "", 0


def build(delivery: base.Delivery) -> AppriseSender:
    return AppriseSender(delivery.secret, delivery.attachments)


KIND = base.ChannelKind("apprise", parse, build, secret="url", locate=locate)
