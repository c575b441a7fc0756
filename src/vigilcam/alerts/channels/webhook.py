"""HTTPS webhook channel: JSON body signed with HMAC-SHA256 over timestamp + "." + body.

Owns the webhook request. Serves IoT-1005-1 5.8.1.1 (alert with device ID), 5.4.2.1 (HTTPS
only, certificate verified) and 5.1.1.3 (the signature binds a timestamp, so receivers refuse
replays). The HMAC key lives in the vault; it never appears in the request or a log.
"""

from __future__ import annotations

import ssl
import time

import httpx

from vigilcam.alerts.channels.base import (
    SEND_TIMEOUT_S,
    ChannelError,
    ChannelKind,
    Delivery,
    Target,
    parse_https,
    tls_context,
)
from vigilcam.alerts.rules import Alert
from vigilcam.alerts.signature import ALERT_ID_HEADER, DEVICE_HEADER, HEADER, sign


class WebhookSender:
    def __init__(self, target: Target, key: bytes, ctx: ssl.SSLContext) -> None:
        if not key:
            raise ChannelError("webhook channel has no HMAC key in the vault")
        self.target, self._key = target, key
        self._client = httpx.AsyncClient(verify=ctx, timeout=SEND_TIMEOUT_S,
                                         follow_redirects=False, trust_env=False)

    async def send(self, alert: Alert) -> None:
        body = alert.to_json().encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "vigilcam-alerts",
            HEADER: sign(self._key, body, int(time.time())),
            ALERT_ID_HEADER: alert.alert_id,
            DEVICE_HEADER: alert.device_id,
        }
        try:
            response = await self._client.post(self.target.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise ChannelError(f"webhook {self.target.host}: {type(exc).__name__}: {exc}") from None
        if not 200 <= response.status_code < 300:
            raise ChannelError(f"webhook {self.target.host} answered HTTP {response.status_code}")

    async def close(self) -> None:
        await self._client.aclose()


def parse(url: str) -> Target:
    return parse_https("webhook", url)


def build(delivery: Delivery) -> WebhookSender:
    target = parse(delivery.stored_url)
    return WebhookSender(target, delivery.secret or b"", tls_context(delivery.ca_pem))


KIND = ChannelKind("webhook", parse, build, secret="hmac")
