"""What an ONVIF operation handler is given: the device, the caller and the request.

Owns the shape of a handler call and the operation table type. Serves IoT-1005-1 5.1.2.1 (each
operation names the permission it needs; the table in ``service.py`` is checked against the
matrix in ``auth.permissions`` before any handler runs).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from vigilcam.auth.permissions import Permission

from .pullpoint import EventHub
from .soap import SoapRequest


@dataclass(frozen=True)
class Caller:
    username: str
    role: str
    source: str


@dataclass(frozen=True)
class Call:
    device: Any  # vigilcam.app.Device
    request: SoapRequest
    caller: Caller | None  # None only for the one public operation
    base_url: str  # https://host:port, validated
    host: str  # host part of base_url (no brackets, no port)
    path_tail: str  # e.g. the subscription id for /onvif/subscription/{id}
    local_ip: str = ""  # the camera's address on the connection the request came in on
    events: EventHub | None = None  # the edge's event hub, once the runtime started it


Handler = Callable[[Call], Awaitable[str]]


@dataclass(frozen=True)
class Operation:
    handler: Handler
    permission: Permission | None  # None: answered without credentials
