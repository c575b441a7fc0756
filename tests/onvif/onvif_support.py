"""Helpers for the ONVIF tests: hand-made SOAP envelopes with WS-Security UsernameTokens
(so a test can replay one byte for byte, drop its Nonce or age its Created), an in-process
client, and an in-process HTTPS server for the real client library."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.support import STRONG
from vigilcam.app import Device
from vigilcam.auth.permissions import Role
from vigilcam.onvif.edge import OnvifEdge

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "tds": "http://www.onvif.org/ver10/device/wsdl",
    "trt": "http://www.onvif.org/ver10/media/wsdl",
    "tev": "http://www.onvif.org/ver10/events/wsdl",
}
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
DIGEST = ("http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
          "#PasswordDigest")
SOAP = "application/soap+xml; charset=utf-8"


def created_now(offset_s: float = 0.0, zulu: bool = True) -> str:
    t = datetime.now(UTC) + timedelta(seconds=offset_s)
    text = t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}"
    return text + ("Z" if zulu else "+00:00")


def token(user: str, secret: str, *, created: str | None = None, nonce: bytes | None = None,
          with_nonce: bool = True, with_created: bool = True, ptype: str = DIGEST) -> str:
    created = created or created_now()
    nonce = nonce if nonce is not None else secrets.token_bytes(16)
    digest = base64.b64encode(hashlib.sha1(nonce + created.encode() + secret.encode()
                                           ).digest()).decode()
    if ptype != DIGEST:
        digest = secret
    parts = [f"<wsse:Username>{user}</wsse:Username>",
             f'<wsse:Password Type="{ptype}">{digest}</wsse:Password>']
    if with_nonce:
        parts.append(f'<wsse:Nonce EncodingType="http://docs.oasis-open.org/wss/2004/01/'
                     f'oasis-200401-wss-soap-message-security-1.0#Base64Binary">'
                     f"{base64.b64encode(nonce).decode()}</wsse:Nonce>")
    if with_created:
        parts.append(f"<wsu:Created>{created}</wsu:Created>")
    return (f'<wsse:Security xmlns:wsse="{WSSE}" xmlns:wsu="{WSU}"><wsse:UsernameToken>'
            + "".join(parts) + "</wsse:UsernameToken></wsse:Security>")


def envelope(body: str, security: str = "", prefix_ns: str = "tds") -> bytes:
    header = f"<s:Header>{security}</s:Header>" if security else ""
    return (f'<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="{NS["s"]}" '
            f'xmlns:{prefix_ns}="{NS[prefix_ns]}">{header}<s:Body>{body}</s:Body>'
            "</s:Envelope>").encode()


SECRETS_FILE = "secrets.json"


def secrets_of(device: Device) -> dict[str, str]:
    """The ONVIF credentials the session template made (``conftest.open_copy`` puts them
    next to the copied data dir)."""
    return json.loads((device.paths.root.parent / SECRETS_FILE).read_text())


def make_user(device: Device, name: str, role: Role) -> str:
    """A user with an ONVIF credential; returns the credential."""
    device.accounts.add(name, role, STRONG, must_change=False, check_policy=False)
    return device.services.onvif_credentials.get_or_create(name)


def enable(device: Device, on: bool = True) -> None:
    device.services.onvif_switch.set(enabled=on)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def https_server(device: Device, onvif: OnvifEdge | None = None) -> AsyncIterator[int]:
    """The real HTTPS listener (uvicorn + the device's TLS) in this event loop, with the ONVIF
    endpoints of ``onvif`` (a fresh edge when None), composed as ``Runtime`` does."""
    from vigilcam.onvif.service import onvif_routes
    from vigilcam.web.server import HttpsServer, create_app

    edge = onvif or OnvifEdge.for_device(device)
    server = HttpsServer(device, create_app(device, mounts=onvif_routes(edge)))
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started or task.done():
            break
        await asyncio.sleep(0.02)
    if task.done():
        task.result()
    try:
        yield device.settings.https_port
    finally:
        server.stop()
        await asyncio.wait_for(task, 10)


def wsdl_dir() -> Path:
    import onvif

    return Path(os.path.dirname(onvif.__file__)) / "wsdl"
