"""Alert channels: the table of kinds (email over SMTP/TLS, HMAC-signed HTTPS webhook, MQTT
over TLS, ntfy and apprise push) and the one way a stored channel becomes a sender.

Owns which channel kinds exist (``CHANNEL_KINDS``: kind -> parse, build, vault secret,
destination; each row lives in its kind's module) and turning a stored channel row plus its
vault secret into a sender whose destination is checked before every delivery
(``vigilcam.platform.egress``). Serves IoT-1005-1 5.8.1.1 and 5.4.2.1 (every channel is TLS,
contexts from ``vigilcam.platform.tls``).
"""

from __future__ import annotations

from vigilcam.alerts.channels import apprise_push, mqtt, ntfy, smtp, webhook
from vigilcam.alerts.channels.base import (
    SEND_TIMEOUT_S,
    ChannelError,
    ChannelKind,
    Delivery,
    Sender,
    Target,
)
from vigilcam.alerts.evidence import Attachments
from vigilcam.alerts.outbox import ChannelRow
from vigilcam.alerts.rules import Alert
from vigilcam.platform.egress import EgressRefused, check_destination_async

CHANNEL_KINDS: dict[str, ChannelKind] = {
    kind.name: kind for kind in (webhook.KIND, smtp.KIND, mqtt.KIND, ntfy.KIND, apprise_push.KIND)
}
KINDS = tuple(CHANNEL_KINDS)


def kind_of(name: str) -> ChannelKind:
    """The table row of a kind; ValueError naming the kinds there are."""
    try:
        return CHANNEL_KINDS[name]
    except KeyError:
        raise ValueError(f"unknown channel kind {name!r} (use {', '.join(KINDS)})") from None


def parse_target(kind: str, url: str) -> Target:
    """Validate a channel URL; raise ValueError with a message the owner can act on."""
    return kind_of(kind).parse(url)


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
    return kind_of(row.kind).destination(row.target, secret)


def build_sender(row: ChannelRow, secret: bytes | None, device_id: str,
                 attachments: Attachments | None = None) -> Sender:
    """A sender for a stored channel, its destination checked before every delivery; raises
    ValueError/ChannelError when it cannot be built."""
    kind = kind_of(row.kind)
    host, port = kind.destination(row.target, secret)
    sender = kind.build(Delivery(row.target, secret, row.options.get("ca_pem"), device_id,
                                 row.id, attachments))
    return DestinationGuard(sender, host, port, bool(row.options.get("allow_local")))


__all__ = ["CHANNEL_KINDS", "KINDS", "SEND_TIMEOUT_S", "ChannelError", "ChannelKind", "Sender",
           "Target", "build_sender", "destination_of", "kind_of", "parse_target"]
