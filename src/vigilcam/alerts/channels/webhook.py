"""HTTPS webhook channel: JSON body signed with HMAC-SHA256 over timestamp + "." + body.

Owns the webhook request. Serves IoT-1005-1 5.8.1.1 (alert with device ID), 5.4.2.1 (HTTPS
only, certificate verified: ``https.py``) and 5.1.1.3 (the signature binds a timestamp, so
receivers refuse replays). The HMAC key lives in the vault; it never appears in the request or
a log.
"""

from __future__ import annotations

import ssl
import time

from vigilcam.alerts.channels import base
from vigilcam.alerts.channels.https import HttpsPoster, parse_https
from vigilcam.alerts.rules import Alert
from vigilcam.alerts.signature import ALERT_ID_HEADER, DEVICE_HEADER, HEADER, sign


class WebhookSender:
    def __init__(self, target: base.Target, key: bytes, ctx: ssl.SSLContext) -> None:
        if not key:
            raise base.ChannelError("webhook channel has no HMAC key in the vault")
        self.target, self._key = target, key
        self._https = HttpsPoster(target, ctx)

    async def send(self, alert: Alert) -> None:
        body = alert.to_json().encode()
        await self._https.post(body, {
            "Content-Type": "application/json",
            "User-Agent": "vigilcam-alerts",
            HEADER: sign(self._key, body, int(time.time())),
            ALERT_ID_HEADER: alert.alert_id,
            DEVICE_HEADER: alert.device_id,
        })

    async def close(self) -> None:
        await self._https.close()


def parse(url: str) -> base.Target:
    return parse_https("webhook", url)


def build(delivery: base.Delivery) -> WebhookSender:
    return WebhookSender(parse(delivery.stored_url), delivery.secret or b"",
                         base.tls_context(delivery.ca_pem))


KIND = base.ChannelKind("webhook", parse, build, secret="hmac")
