"""Push channel via ntfy over HTTPS (a plain POST to https://server/topic).

Owns the ntfy request: title, priority and tags from the alert, the text body, and an optional
access token from the vault as a Bearer header. Serves IoT-1005-1 5.8.1.1 (push to the owner's
phone) and 5.4.2.1 (HTTPS only, certificate verified: ``https.py``).
"""

from __future__ import annotations

import re
import ssl

from vigilcam.alerts.channels import base
from vigilcam.alerts.channels.https import HttpsPoster, parse_https
from vigilcam.alerts.rules import Alert
from vigilcam.alerts.signature import ALERT_ID_HEADER, DEVICE_HEADER

_TOPIC = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_PRIORITY = {"critical": "5", "warning": "4", "info": "3"}


def _ascii(text: str) -> str:
    return text.encode("ascii", "replace").decode()[:200]


class NtfySender:
    def __init__(self, target: base.Target, token: bytes | None, ctx: ssl.SSLContext) -> None:
        self.target = target
        self._token = token.decode() if token else None
        self._https = HttpsPoster(target, ctx)

    async def send(self, alert: Alert) -> None:
        headers = {
            "Title": _ascii(f"{alert.model} {alert.serial}: {alert.title}"),
            "Priority": _PRIORITY.get(alert.severity, "3"),
            "Tags": _ascii(f"vigilcam,{alert.category},{alert.severity}"),
            ALERT_ID_HEADER: alert.alert_id,
            DEVICE_HEADER: alert.device_id,
            "Content-Type": "text/plain; charset=utf-8",
        }
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        await self._https.post(base.text_body(alert).encode(), headers)

    async def close(self) -> None:
        await self._https.close()


def parse(url: str) -> base.Target:
    target = parse_https("ntfy", url)
    if not _TOPIC.match(target.path.strip("/")):
        raise ValueError("an ntfy URL is https://server/topic (topic: letters, digits, _ -)")
    return target


def build(delivery: base.Delivery) -> NtfySender:
    return NtfySender(parse(delivery.stored_url), delivery.secret,
                      base.tls_context(delivery.ca_pem))


KIND = base.ChannelKind("ntfy", parse, build)
