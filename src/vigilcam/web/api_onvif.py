"""The Device page's ONVIF switch: see and set whether ONVIF (and WS-Discovery) is on.

Serves IoT-1005-1 5.2.2.1 (the owner turns a network service on; off by default), 5.1.2.1
(only a role with ``configure_services`` may change it) and TAICS 5.2.8.1 (each change is a
``config.onvif_changed`` security event, like the CLI's).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vigilcam.auth.permissions import Permission as P
from vigilcam.platform.events import Event
from vigilcam.web.errors import parse_body
from vigilcam.web.guard import Principal, client_address, device_of
from vigilcam.web.route_spec import RouteSpec
from vigilcam.web.schemas import Body


class OnvifBody(Body):
    enabled: bool
    discovery: bool = False


def _public(request: Request) -> dict[str, object]:
    device = device_of(request)
    state = device.services.onvif_switch.current()
    return {"enabled": state.enabled, "discovery": state.discovery,
            "device_service": "/onvif/device_service",
            "https_port": device.settings.https_port}


async def onvif_get(request: Request, principal: Principal) -> Response:
    """Whether ONVIF is on; where clients find it."""
    return JSONResponse(_public(request))


async def onvif_set(request: Request, principal: Principal) -> Response:
    """Turn ONVIF (and WS-Discovery, from the next start) on or off."""
    body = await parse_body(request, OnvifBody)
    device = device_of(request)
    state = device.services.onvif_switch.set(enabled=body.enabled,
                                  discovery=body.discovery and body.enabled)
    device.record(Event.CONFIG_ONVIF_CHANGED, user=principal.username,
                  source=client_address(request), enabled=state.enabled,
                  discovery=state.discovery)
    return JSONResponse(_public(request))


ONVIF_ROUTES: list[RouteSpec] = [
    RouteSpec("GET", "/api/v1/onvif", P.VIEW_DEVICE, onvif_get,
              summary="Whether ONVIF Profile S (and WS-Discovery) is on"),
    RouteSpec("PUT", "/api/v1/onvif", P.CONFIGURE_SERVICES, onvif_set, OnvifBody,
              summary="Turn ONVIF (and WS-Discovery) on or off"),
]
