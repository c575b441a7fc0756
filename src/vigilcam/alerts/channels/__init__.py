"""Alert channels: email (SMTP/TLS), HTTPS webhook (HMAC-signed), MQTT over TLS, ntfy and
apprise push.

Owns turning a stored channel row plus its vault secret into a sender. Serves IoT-1005-1
5.8.1.1 and 5.4.2.1 (every channel is TLS, contexts from ``vigilcam.platform.tls``).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from vigilcam.alerts.channels.base import (
    KINDS,
    ChannelError,
    Sender,
    Target,
    parse_target,
    tls_context,
)
from vigilcam.alerts.evidence import Attachments
from vigilcam.alerts.outbox import ChannelRow
from vigilcam.alerts.rules import Alert
from vigilcam.platform.egress import EgressRefused, check_destination_async


class DestinationGuard:
    """Checks the destination (``vigilcam.platform.egress``) before every delivery."""

    def __init__(self, inner: Sender, host: str, port: int, allow_local: bool) -> None:
        self.inner, self.host, self.port, self.allow_local = inner, host, port, allow_local

    async def send(self, alert: Alert) -> None:
        try:
            await check_destination_async(self.host, self.port, allow_local=self.allow_local)
        except EgressRefused as exc:
            raise ChannelError(str(exc)) from None
        await self.inner.send(alert)

    async def close(self) -> None:
        await self.inner.close()


def destination_of(row: ChannelRow, secret: bytes | None) -> tuple[str, int]:
    """(host, port) a channel delivers to; for apprise the host inside the vault's URL."""
    if row.kind == "apprise":
        parts = urlsplit((secret or b"").decode(errors="replace"))
        try:
            return parts.hostname or "", parts.port or 0
        except ValueError:
            return parts.hostname or "", 0
    target = parse_target(row.kind, row.target)
    return target.host, target.port


def build_sender(row: ChannelRow, secret: bytes | None, device_id: str,
                 attachments: Attachments | None = None) -> Sender:
    """A sender for a stored channel, its destination checked before every delivery; raises
    ValueError/ChannelError when it cannot be built."""
    host, port = destination_of(row, secret)
    return DestinationGuard(_build(row, secret, device_id, attachments), host, port,
                            bool(row.options.get("allow_local")))


def _build(row: ChannelRow, secret: bytes | None, device_id: str,
           attachments: Attachments | None) -> Sender:
    if row.kind == "apprise":  # the stored target is redacted; the vault holds the real URL
        from vigilcam.alerts.channels.apprise_push import AppriseSender

        return AppriseSender(secret, attachments)
    target = parse_target(row.kind, row.target)
    ctx = tls_context(row.options.get("ca_pem"))
    if row.kind == "webhook":
        from vigilcam.alerts.channels.webhook import WebhookSender

        return WebhookSender(target, secret or b"", ctx)
    if row.kind == "email":
        from vigilcam.alerts.channels.smtp import EmailSender

        return EmailSender(target, secret, ctx, attachments)
    if row.kind == "mqtt":
        from vigilcam.alerts.channels.mqtt import MqttSender

        return MqttSender(target, secret, ctx, f"vigilcam-{device_id[:8]}-{row.id[:8]}")
    from vigilcam.alerts.channels.ntfy import NtfySender

    return NtfySender(target, secret, ctx)


__all__ = ["KINDS", "ChannelError", "Sender", "Target", "build_sender", "destination_of",
           "parse_target"]
