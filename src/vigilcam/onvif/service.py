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

Steps 3-4 are ``gate.py``'s; the state kept between requests is the ``OnvifEdge`` the
composition builds once and binds the routes to (``onvif_routes``).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from vigilcam.auth.permissions import allowed

from . import ops_device, ops_events, ops_media
from .context import Call, Operation
from .edge import OnvifEdge
from .snapshot import snapshot_endpoint
from .soap import NS, SoapFault, envelope, fault_envelope, parse_envelope

log = logging.getLogger("vigilcam.onvif")

__all__ = ["all_operations", "lookup", "onvif_routes", "soap_endpoint"]

CONTENT_TYPE = "application/soap+xml; charset=utf-8"
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


async def soap_endpoint(request: Request, edge: OnvifEdge) -> Response:
    device = edge.device
    if not edge.switch.current().enabled:
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
            caller = edge.gate.authenticate(parsed, source)
            if not allowed(caller.role, op.permission):
                raise SoapFault("Sender", ("ter:NotAuthorized",),
                                "your role does not allow this operation")
        base, host = _base_url(request, device)
        server = request.scope.get("server") or ("", 0)
        call = Call(device, parsed, caller, base, host, tail, str(server[0] or ""),
                    events=edge.events)
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


def onvif_routes(edge: OnvifEdge) -> list[BaseRoute]:
    """The ONVIF paths for the HTTPS listener, bound to ``edge`` (the composition mounts them
    with ``web.server.create_app(device, mounts=...)``)."""

    async def soap(request: Request) -> Response:
        return await soap_endpoint(request, edge)

    async def snapshot(request: Request) -> Response:
        return await snapshot_endpoint(request, edge)

    paths = [ops_device.DEVICE_PATH, ops_device.MEDIA_PATH, ops_device.EVENTS_PATH,
             ops_events.SUBSCRIPTION_PATH + "{sub_id}"]
    routes: list[BaseRoute] = [Route(p, soap, methods=["POST"]) for p in paths]
    routes.append(Route(ops_media.SNAPSHOT_PATH + "/{token}.jpg", snapshot, methods=["GET"]))
    return routes
