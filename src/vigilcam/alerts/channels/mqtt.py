"""MQTT channel: publish the alert JSON with QoS 1 over TLS (mqtts), via aiomqtt.

Owns the MQTT publish. Serves IoT-1005-1 5.8.1.1 (alert with the device ID to the owner's
home automation), 5.4.2.1 / 5.4.2.2 (TLS only; the broker password comes from the vault). A
publish counts as delivered only after the broker's PUBACK (QoS 1).
"""

from __future__ import annotations

import ssl

import aiomqtt

from vigilcam.alerts.channels.base import SEND_TIMEOUT_S, ChannelError, Target
from vigilcam.alerts.rules import Alert


class MqttSender:
    def __init__(self, target: Target, password: bytes | None, ctx: ssl.SSLContext,
                 client_id: str) -> None:
        self.target, self._ctx, self._client_id = target, ctx, client_id
        self._password = password.decode() if password else None

    async def send(self, alert: Alert) -> None:
        try:
            async with aiomqtt.Client(
                self.target.host, self.target.port, username=self.target.username,
                password=self._password, identifier=self._client_id, tls_context=self._ctx,
                timeout=SEND_TIMEOUT_S,
            ) as client:
                await client.publish(self.target.path, alert.to_json().encode(), qos=1,
                                     timeout=SEND_TIMEOUT_S)
        except (aiomqtt.MqttError, OSError, ssl.SSLError) as exc:
            raise ChannelError(f"mqtt {self.target.host}: {type(exc).__name__}: {exc}") from None

    async def close(self) -> None:
        return None
