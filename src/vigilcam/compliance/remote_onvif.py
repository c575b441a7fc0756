"""Remote audit of another camera's ONVIF: anonymous answers, plain HTTP, replay, stale Created.

Owns the ONVIF probes of ``vigilcam audit --target``. Serves IoT-1005-1 5.1.1.3 (a captured
ONVIF request must not work twice, nor after its time window), 5.1.2.1 (no device data without
credentials) and 5.4.2.2 (no ONVIF over plain HTTP, where credentials and digests travel in
clear). The many ONVIF servers in use answer without credentials or check a digest without a
nonce cache; these probes show which.

Bounds: only the target's HTTPS port and the plain HTTP ports the port probe found open; two
anonymous requests per endpoint (GetDeviceInformation, GetUsers: both read-only); with
``--i-own-this-device`` and an ONVIF credential the owner supplies (``--onvif-user`` and the
``VIGILCAM_AUDIT_ONVIF_PASSWORD`` environment variable, never a command-line argument) three
more: one fresh GetDeviceInformation, the same envelope again, one with Created 10 minutes old.
Nothing is ever changed on the target.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from vigilcam.compliance.remote_wire import HttpAnswer, Target, http_request

PATH = "/onvif/device_service"
_NS = {"s": "http://www.w3.org/2003/05/soap-envelope",
       "tds": "http://www.onvif.org/ver10/device/wsdl"}
_WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
_WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
_DIGEST = ("http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
           "#PasswordDigest")
STALE_S = 600


@dataclass
class OnvifSeen:
    endpoints: list[str] = field(default_factory=list)  # where a SOAP answer came from
    plaintext_ports: list[int] = field(default_factory=list)
    anonymous: list[str] = field(default_factory=list)  # "where: Operation" answered 200
    credential_accepted: bool | None = None  # None: not tried
    replay_accepted: bool | None = None
    stale_accepted: bool | None = None
    detail: list[str] = field(default_factory=list)

    @property
    def found(self) -> bool:
        return bool(self.endpoints)


def _security(user: str, password: str, created: str) -> str:
    nonce = secrets.token_bytes(16)
    # SHA-1 is fixed by the WS-Security UsernameToken Profile this probe speaks.
    digest = hashlib.sha1(nonce + created.encode() + password.encode()).digest()  # noqa: S324
    return (f'<wsse:Security xmlns:wsse="{_WSSE}" xmlns:wsu="{_WSU}"><wsse:UsernameToken>'
            f"<wsse:Username>{user}</wsse:Username><wsse:Password Type=\"{_DIGEST}\">"
            f"{base64.b64encode(digest).decode()}</wsse:Password><wsse:Nonce>"
            f"{base64.b64encode(nonce).decode()}</wsse:Nonce><wsu:Created>{created}"
            "</wsu:Created></wsse:UsernameToken></wsse:Security>")


def envelope(operation: str, security: str = "") -> bytes:
    header = f"<s:Header>{security}</s:Header>" if security else ""
    return (f'<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="{_NS["s"]}" '
            f'xmlns:tds="{_NS["tds"]}">{header}<s:Body><tds:{operation}/></s:Body>'
            "</s:Envelope>").encode()


def _created(offset_s: float = 0.0) -> str:
    return (datetime.now(UTC) + timedelta(seconds=offset_s)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _post(target: Target, port: int, tls: bool, body: bytes) -> HttpAnswer | None:
    return http_request(target.host, port, tls, "POST", PATH,
                        {"Content-Type": "application/soap+xml; charset=utf-8"}, body)


def _soap(answer: HttpAnswer | None) -> bool:
    return answer is not None and b"Envelope" in answer.body[:4096]


def _answered(answer: HttpAnswer | None, operation: str) -> bool:
    return (answer is not None and answer.status == 200
            and f"{operation}Response".encode() in answer.body)


def probe_onvif(target: Target, plain_ports: list[int], *, tls: bool = True, owner: bool,
                credential: tuple[str, str] | None) -> OnvifSeen:
    seen = OnvifSeen()
    places = ([(target.port, True)] if tls else []) + [(p, False) for p in plain_ports]
    for port, tls in places:
        where = f"{'https' if tls else 'http'}://{target.host}:{port}{PATH}"
        for operation in ("GetDeviceInformation", "GetUsers"):
            answer = _post(target, port, tls, envelope(operation))
            if not _soap(answer):
                break  # no ONVIF here
            if where not in seen.endpoints:
                seen.endpoints.append(where)
                if not tls:
                    seen.plaintext_ports.append(port)
            if _answered(answer, operation):
                seen.anonymous.append(f"{where}: {operation}")
    if not (owner and credential and f"https://{target.host}:{target.port}{PATH}"
            in seen.endpoints):
        return seen
    user, password = credential
    fresh = envelope("GetDeviceInformation", _security(user, password, _created()))
    seen.credential_accepted = _answered(_post(target, target.port, True, fresh),
                                         "GetDeviceInformation")
    if not seen.credential_accepted:
        seen.detail.append("the ONVIF credential given was refused; replay not judged")
        return seen
    seen.replay_accepted = _answered(_post(target, target.port, True, fresh),
                                     "GetDeviceInformation")
    stale = envelope("GetDeviceInformation", _security(user, password, _created(-STALE_S)))
    seen.stale_accepted = _answered(_post(target, target.port, True, stale),
                                    "GetDeviceInformation")
    return seen
