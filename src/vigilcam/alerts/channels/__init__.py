"""Alert channels: email (SMTP/TLS), HTTPS webhook (HMAC-signed), MQTT over TLS, ntfy and
apprise push.

Owns turning a stored channel row plus its vault secret into a sender. Serves IoT-1005-1
5.8.1.1 and 5.4.2.1 (every channel is TLS, contexts from ``vigilcam.platform.tls``).
"""

from __future__ import annotations

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


def build_sender(row: ChannelRow, secret: bytes | None, device_id: str,
                 attachments: Attachments | None = None) -> Sender:
    """A sender for a stored channel; raises ValueError/ChannelError when it cannot be built."""
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


__all__ = ["KINDS", "ChannelError", "Sender", "Target", "build_sender", "parse_target"]
