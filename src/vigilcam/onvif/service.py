"""The ONVIF SOAP endpoint: switch, parse, authenticate, authorize, dispatch, answer.

Owns the order in which an ONVIF request is judged. Decides nothing about security itself:
who the caller is comes from the one login procedure (``AuthService``, ``interface="onvif"``)
with a ``verify`` that checks the WS-Security digest (``wsse.py``); what they may do comes from
the permission matrix (``auth.permissions``) through the operation tables. Serves IoT-1005-1
5.2.2.1 (off unless turned on: then every ONVIF path is a plain 404), 5.1.2.2 (throttled like
every login), 5.1.1.3 (replay refused), 5.1.2.1 (role-limited), 5.5.2.1 (bounded input, a
time limit per request, faults instead of traces) and 5.4.2.1 (served only on the HTTPS
listener; every XAddr is ``https://``).

The order, for every request:
1. ONVIF off: 404, as for any path that does not exist.
2. Body bounded and parsed (``soap.py``); the operation looked up by service path, namespace
   and name; unknown: ``ter:ActionNotSupported``.
3. The one public operation (GetSystemDateAndTime) is answered. Every other one needs a
   UsernameToken; none at all: ``ter:NotAuthorized`` without counting (no guess was made).
4. The token goes through the login procedure; its ``verify`` checks, in order, digest
   (constant time), Created window, then (user, nonce) in the replay cache. Anything but a
   verified, fresh, first-seen token is a failed login (counted, recorded, throttled).
5. The role must hold the operation's permission, else ``ter:NotAuthorized``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
import time
from collections.abc import Callable
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from vigilcam.auth.accounts import User
from vigilcam.auth.onvif_credentials import OnvifCredentials
from vigilcam.auth.permissions import allowed
from vigilcam.auth.service import OK, THROTTLED, Check, LoginOutcome

from . import ops_device, ops_events, ops_media
from .context import Call, Caller, Operation
from .soap import NS, SoapFault, envelope, fault_envelope, parse_envelope
from .state import switch_of
from .wsse import ReplayCache, TokenError, check_fresh, parse_token, verify_digest

log = logging.getLogger("vigilcam.onvif")

INTERFACE = "onvif"
CONTENT_TYPE = "application/soap+xml; charset=utf-8"
ANNOUNCE_EVERY_S = 600.0
_HOSTNAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9-]{1,63})*$")

SERVICES: dict[str, tuple[str, dict[str, Operation]]] = {
    ops_device.DEVICE_PATH: (NS["tds"], ops_device.OPERATIONS),
    ops_device.MEDIA_PATH: (NS["trt"], ops_media.OPERATIONS),
    ops_device.EVENTS_PATH: (NS["tev"], ops_events.OPERATIONS),
}


def lookup(path: str, namespace: str, name: str) -> tuple[Operation, str] | None:
    """(operation, path tail) for a request, or None when not offered."""
    if path.startswith(ops_events.SUBSCRIPTION_PATH):
        tail = path[len(ops_events.SUBSCRIPTION_PATH):]
        op = ops_events.SUBSCRIPTION_OPERATIONS.get((namespace, name))
        return (op, tail) if op is not None else None
    service = SERVICES.get(path)
    if service is None or service[0] != namespace:
        return None
    op = service[1].get(name)
    return (op, "") if op is not None else None


def all_operations() -> list[tuple[str, str, Operation]]:
    """(service path, operation name, operation) for the roles document and tests."""
    out = [(path, name, op) for path, (_, ops) in SERVICES.items() for name, op in ops.items()]
    out += [(ops_events.SUBSCRIPTION_PATH + "{id}", name, op)
            for (_, name), op in ops_events.SUBSCRIPTION_OPERATIONS.items()]
    return out


class OnvifGate:
    """Per-device state of the edge: the replay cache and who was announced lately."""

    def __init__(self, device: Any) -> None:
        self.device = device
        conf = device.settings.onvif
        self.window = float(conf.created_window_s)
        self.replay = ReplayCache(self.window)
        self.credentials = OnvifCredentials.of(device)
        self._announced: dict[tuple[str, str], float] = {}

    @classmethod
    def of(cls, device: Any) -> OnvifGate:
        found = device.extras.get("onvif_gate")
        if isinstance(found, OnvifGate):
            return found
        made = cls(device)
        device.extras["onvif_gate"] = made
        return made

    def _due(self, username: str, source: str) -> bool:
        """Each request carries the credential; the login is recorded once per user and
        source every ``ANNOUNCE_EVERY_S`` (like RTSP's once per connection), not per request."""
        return self._announced.get((username, source), 0.0) <= time.monotonic()

    def _announced_now(self, username: str, source: str) -> None:
        now = time.monotonic()
        if len(self._announced) > 10_000:
            self._announced = {k: v for k, v in self._announced.items() if v > now}
        self._announced[(username, source)] = now + ANNOUNCE_EVERY_S

    def authenticate(self, request: Any, source: str) -> Caller:
        """Steps 3-4: the caller, or a :class:`SoapFault` ``ter:NotAuthorized``."""
        security = request.security()
        if security is None:
            raise SoapFault("Sender", ("ter:NotAuthorized",),
                            "WS-Security UsernameToken with PasswordDigest required")
        try:
            token = parse_token(security)
            problem = ""
        except TokenError as exc:
            token, problem = None, str(exc)
        name_elem = security.find(f"{{{NS['wsse']}}}UsernameToken/{{{NS['wsse']}}}Username")
        username = (token.username if token is not None else
                    ((name_elem.text or "").strip() if name_elem is not None else ""))[:64]

        def verify(user: User | None) -> Check:
            if token is None:
                return problem or "malformed token"
            secret = self.credentials.find(user.username) if user is not None else None
            if not verify_digest(token, secret):
                return False
            try:
                check_fresh(token, time.time(), self.window)
            except TokenError as exc:
                return str(exc)
            verdict = self.replay.remember(token.username, token.nonce)
            if verdict == "replay":
                return "replay"
            if verdict == "full":
                return "too many requests in the time window"
            return True

        due = self._due(username, source)
        outcome = _login(self.device, username, source, verify, announce=due)
        if outcome.status == OK and due:
            self._announced_now(username, source)
        if outcome.status == THROTTLED:
            retry = max(1, int(outcome.retry_after + 0.999))
            raise SoapFault("Sender", ("ter:NotAuthorized",),
                            f"too many failed logins; retry after {retry} s", 429)
        if outcome.status != OK or outcome.user is None:
            reason = outcome.reason or problem
            text = "not authorized" + (f": {reason}" if reason in (
                "replay", "Created is outside the accepted time window",
                "Nonce and Created required", "only PasswordDigest is accepted") else "")
            raise SoapFault("Sender", ("ter:NotAuthorized",), text)
        # A web password still to be changed does not matter here: the ONVIF credential is
        # never a default or one-time secret (it is random and made per user, 5.1.3.1).
        user = outcome.user
        return Caller(user.username, user.role.value, source)


def _login(device: Any, username: str, source: str, verify: Callable[[User | None], Check],
           announce: bool) -> LoginOutcome:
    """The one login procedure (``AuthService.authenticate_now``), interface ``onvif``."""
    outcome: LoginOutcome = device.auth.authenticate_now(username, source, INTERFACE, verify,
                                                         announce=announce)
    return outcome


def _base_url(request: Request, device: Any) -> tuple[str, str]:
    """(https://host:port, host) from configuration or the request's validated Host."""
    conf = device.settings.onvif
    port = device.settings.https_port
    host = conf.advertised_host
    if not host:
        raw = request.headers.get("host", "")
        if raw.startswith("["):
            end = raw.find("]")
            host, rest = raw[1:end] if end > 0 else "", raw[end + 1:] if end > 0 else ""
        else:
            host, _, rest = raw.partition(":")
            rest = ":" + rest if rest else ""
        if rest.startswith(":") and rest[1:].isdigit() and 0 < int(rest[1:]) < 65536:
            port = int(rest[1:])
        elif rest:
            host = ""
        elif raw:
            port = 443
    try:
        ip = ipaddress.ip_address(host)
        shown = f"[{ip}]" if ip.version == 6 else str(ip)
    except ValueError:
        if not _HOSTNAME.match(host or ""):
            raise SoapFault("Sender", ("ter:InvalidArgVal",),
                            "the request's Host header is not a valid host name") from None
        shown = host
    base = f"https://{shown}" + ("" if port == 443 else f":{port}")
    return base, host


def _answer(body: bytes, status: int = 200, headers: dict[str, str] | None = None,
            action: str = "") -> Response:
    ctype = CONTENT_TYPE + (f'; action="{action}"' if action else "")
    response = Response(body, status_code=status, headers=headers)
    response.headers["content-type"] = ctype
    return response


def _fault(fault: SoapFault) -> Response:
    headers = {}
    if fault.status == 429:
        headers["Retry-After"] = "".join(c for c in fault.reason if c.isdigit()) or "1"
    return _answer(fault_envelope(fault), 400 if fault.status == 429 else fault.status, headers)


async def soap_endpoint(request: Request) -> Response:
    device = request.app.state.device
    if not switch_of(device).current().enabled:
        raise HTTPException(404, "Not Found")
    conf = device.settings.onvif
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype not in ("application/soap+xml", "text/xml", "application/xml"):
        return _fault(SoapFault("Sender", ("ter:InvalidArgs",),
                                "send SOAP 1.2 as application/soap+xml", 415))
    source = request.client.host if request.client else "unknown"
    try:
        body = await asyncio.wait_for(_read(request, conf.max_body_bytes), conf.request_timeout_s)
        parsed = parse_envelope(body, max_bytes=conf.max_body_bytes)
        found = lookup(request.url.path, parsed.namespace, parsed.operation)
        if found is None:
            raise SoapFault("Receiver", ("ter:ActionNotSupported",),
                            f"{parsed.operation[:64]} is not supported", 500)
        op, tail = found
        caller = None
        if op.permission is not None:
            caller = OnvifGate.of(device).authenticate(parsed, source)
            if not allowed(caller.role, op.permission):
                raise SoapFault("Sender", ("ter:NotAuthorized",),
                                "your role does not allow this operation")
        base, host = _base_url(request, device)
        server = request.scope.get("server") or ("", 0)
        call = Call(device, parsed, caller, base, host, tail, str(server[0] or ""))
        limit = conf.request_timeout_s + (70.0 if parsed.operation == "PullMessages" else 0.0)
        answer = await asyncio.wait_for(op.handler(call), limit)
        return _answer(envelope(answer),
                       action=f"{parsed.namespace}/{parsed.operation[:64]}Response")
    except SoapFault as fault:
        return _fault(fault)
    except TimeoutError:
        return _fault(SoapFault("Receiver", ("ter:Action",), "request took too long", 500))
    except Exception:  # noqa: BLE001 - a client gets a fault, never a trace; the trace is logged
        log.exception("ONVIF request failed")
        return _fault(SoapFault("Receiver", ("ter:Action",), "internal error; it was logged",
                                500))


async def _read(request: Request, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise SoapFault("Sender", ("ter:InvalidArgs",), "request too large", 413)
        chunks.append(chunk)
    return b"".join(chunks)


def onvif_routes() -> list[BaseRoute]:
    from .snapshot import snapshot_endpoint

    paths = [ops_device.DEVICE_PATH, ops_device.MEDIA_PATH, ops_device.EVENTS_PATH,
             ops_events.SUBSCRIPTION_PATH + "{sub_id}"]
    routes: list[BaseRoute] = [Route(p, soap_endpoint, methods=["POST"]) for p in paths]
    routes.append(Route(ops_media.SNAPSHOT_PATH + "/{token}.jpg", snapshot_endpoint,
                        methods=["GET"]))
    return routes
