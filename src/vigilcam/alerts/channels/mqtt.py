"""MQTT channel: publish the alert JSON with QoS 1 over TLS (mqtts), via aiomqtt.

Owns the MQTT publish. Serves IoT-1005-1 5.8.1.1 (alert with the device ID to the owner's
home automation), 5.4.2.1 / 5.4.2.2 (TLS only; the broker password comes from the vault). A
publish counts as delivered only after the broker's PUBACK (QoS 1).
"""

from __future__ import annotations

import re
import ssl
from urllib.parse import quote, unquote

import aiomqtt

from vigilcam.alerts.channels import base
from vigilcam.alerts.rules import Alert

_TOPIC = re.compile(r"^[A-Za-z0-9_./-]{1,200}$")


def parse(url: str) -> base.Target:
    """mqtts://[user@]host[:8883]/topic; the password goes to the vault."""
    parts = base.split_url(url, fragment_allowed=True)  # a '#' is refused below as a wildcard
    if parts.scheme.lower() != "mqtts":
        raise ValueError("an MQTT URL must be mqtts://[user@]host[:8883]/topic (TLS only)")
    user = unquote(parts.username) if parts.username else None
    host, port = base.host_port(parts, 8883)
    topic = parts.path.lstrip("/") or "vigilcam/alerts"
    if not _TOPIC.match(topic) or "+" in url or "#" in url or parts.query:
        raise ValueError("the MQTT topic may hold letters, digits and _ . / - (no wildcards)")
    user_part = f"{quote(user, safe='')}@" if user else ""
    shown = f"mqtts://{user_part}{base.netloc(host, port, 8883)}/{topic}"
    return base.Target("mqtt", shown, host, port, user, topic, {})


class MqttSender:
    def __init__(self, target: base.Target, password: bytes | None, ctx: ssl.SSLContext,
                 client_id: str) -> None:
        self.target, self._ctx, self._client_id = target, ctx, client_id
        self._password = password.decode() if password else None

    async def send(self, alert: Alert) -> None:
        try:
            async with aiomqtt.Client(
                self.target.host, self.target.port, username=self.target.username,
                password=self._password, identifier=self._client_id, tls_context=self._ctx,
                timeout=base.SEND_TIMEOUT_S,
            ) as client:
                await client.publish(self.target.path, alert.to_json().encode(), qos=1,
                                     timeout=base.SEND_TIMEOUT_S)
        except (aiomqtt.MqttError, OSError, ssl.SSLError) as exc:
            raise base.delivery_failed(f"mqtt {self.target.host}", exc) from None

    async def close(self) -> None:
        return None


def build(delivery: base.Delivery) -> MqttSender:
    client_id = f"vigilcam-{delivery.device_id[:8]}-{delivery.channel_id[:8]}"
    return MqttSender(parse(delivery.stored_url), delivery.secret,
                      base.tls_context(delivery.ca_pem), client_id)


KIND = base.ChannelKind("mqtt", parse, build)
