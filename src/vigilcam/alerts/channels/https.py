"""HTTPS delivery for the channels that POST one request per alert (webhook, ntfy).

Owns how an alert channel speaks HTTPS: an https:// target only (no user name in it), the TLS
context from ``base.tls_context`` (certificate verified), no redirect followed (it could carry
the alert and its signature or token elsewhere), no proxy or CA taken from the environment, the
send timeout, and that only a 2xx answer counts as delivered. Serves IoT-1005-1 5.4.2.1 (HTTPS
only) and 5.8.1.1 (a refused or failed POST is retried from the outbox, never lost).
"""

from __future__ import annotations

import ssl

import httpx

from vigilcam.alerts.channels import base


def parse_https(kind: str, url: str) -> base.Target:
    """An https:// target: TLS only, no user name, path and query kept."""
    parts = base.split_url(url)
    if parts.scheme.lower() != "https":
        raise ValueError(f"a {kind} URL must start with https:// (TLS only)")
    if parts.username:
        raise ValueError("a user name in an https URL is not supported")
    host, port = base.host_port(parts, 443)
    path = parts.path or "/"
    query = f"?{parts.query}" if parts.query else ""
    return base.Target(kind, f"https://{base.netloc(host, port, 443)}{path}{query}", host, port,
                       None, path, {})


class HttpsPoster:
    """POSTs to one target; a failure or a non-2xx answer is a ``ChannelError``."""

    def __init__(self, target: base.Target, ctx: ssl.SSLContext) -> None:
        self.target = target
        self._client = httpx.AsyncClient(verify=ctx, timeout=base.SEND_TIMEOUT_S,
                                         follow_redirects=False, trust_env=False)

    async def post(self, content: bytes, headers: dict[str, str]) -> None:
        kind, host = self.target.kind, self.target.host
        try:
            response = await self._client.post(self.target.url, content=content, headers=headers)
        except httpx.HTTPError as exc:
            raise base.delivery_failed(f"{kind} {host}", exc) from None
        if not 200 <= response.status_code < 300:
            raise base.ChannelError(f"{kind} {host} answered HTTP {response.status_code}")

    async def close(self) -> None:
        await self._client.aclose()
