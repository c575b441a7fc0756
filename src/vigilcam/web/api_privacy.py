"""Your data over HTTPS: the inventory, erase everything, telemetry statement, privacy masks.

Serves IoT-1005-1 5.7.1.1 (the owner sees every kind of personal data kept, where, why and for
how long, and can erase it: one action, a typed confirmation, a report of what was deleted),
5.7.1.2 (telemetry: none, and the API says so for the audit), 5.1.3.1 / TAICS 5.1.3.2 (after
erase only a fresh admin remains, with a NEW random setup secret that must be changed),
docs/privacy.md 'Privacy masks' (applied before encoding and kept across restarts) and
IoT-1005-1 5.5.2.1 (bounded bodies, unknown fields refused).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vigilcam.auth.permissions import Permission as P
from vigilcam.media.masks import MaskSet
from vigilcam.platform.events import Event
from vigilcam.privacy import masks_store
from vigilcam.privacy.erase import erase_all_personal_data
from vigilcam.privacy.inventory import NOT_PERSONAL, data_inventory, measure
from vigilcam.privacy.telemetry import telemetry_statement
from vigilcam.web.errors import ApiError, parse_body
from vigilcam.web.guard import Principal, client_address, device_of
from vigilcam.web.route_spec import RouteSpec
from vigilcam.web.schemas import Body
from vigilcam.web.session_cookie import clear_session_cookie


class EraseBody(Body):
    confirm: Literal["ERASE"]


class MasksBody(Body):
    masks: list[dict[str, Any]] = Field(max_length=32)


def _no_query(request: Request) -> None:
    if request.query_params:
        raise ApiError(400, "this endpoint takes no query parameters")


async def inventory(request: Request, principal: Principal) -> Response:
    """Every kind of personal data kept: what, where, why, how long; and how much now."""
    _no_query(request)
    device = device_of(request)
    max_age = device.settings.recording.max_age_days
    kinds = data_inventory(device.paths, device.settings.log_retention_days, max_age)
    stored = measure(device)
    items = []
    for kind in kinds:
        item = kind.to_json()
        item["stored"] = stored.get(kind.id)
        items.append(item)
    return JSONResponse({"data_dir": str(device.paths.root), "items": items,
                         "not_personal": NOT_PERSONAL, "telemetry": telemetry_statement()})


async def erase(request: Request, principal: Principal) -> Response:
    """Erase all personal data (body {"confirm": "ERASE"}). Every session ends, this one too."""
    await parse_body(request, EraseBody)
    device = device_of(request)
    report = await erase_all_personal_data(device, by=principal.username,
                                           source=client_address(request))
    body = report.to_json(with_secret=True)
    body["next"] = ("Log in as 'admin' with the new setup secret (shown once, also in the "
                    "setup-secret file of the data dir) and choose a new password.")
    response = JSONResponse(body)
    clear_session_cookie(response)
    return response


async def telemetry(request: Request, principal: Principal) -> Response:
    """What telemetry is sent: none (IoT-1005-1 5.7.1.2)."""
    _no_query(request)
    return JSONResponse(telemetry_statement())


async def masks_get(request: Request, principal: Principal) -> Response:
    """The privacy masks (normalized rectangles and polygons)."""
    _no_query(request)
    device = device_of(request)
    try:
        saved = masks_store.load(device.paths.root)
    except masks_store.MaskStoreError as exc:
        raise ApiError(500, str(exc)) from None
    media = device.services.media
    applied = media is not None and media.masks.masks == MaskSet.from_config(saved).masks
    return JSONResponse({"masks": saved, "applied": applied})


async def masks_set(request: Request, principal: Principal) -> Response:
    """Replace the privacy masks; applied before encoding from the next frame on."""
    body = await parse_body(request, MasksBody)
    device = device_of(request)
    try:
        clean = masks_store.validate(body.masks)
    except ValueError as exc:
        raise ApiError(422, str(exc)) from None
    media = device.services.media
    applied = False
    restart = False
    if media is not None:
        try:
            media.masks = clean
            applied = True
        except ValueError:
            restart = True  # a pass-through source switches to re-encoding at restart
    masks_store.save(device.paths.root, clean)
    device.record(Event.PRIVACY_MASKS_CHANGED, user=principal.username,
                  source=client_address(request), masks=len(clean), applied=applied)
    return JSONResponse({"masks": clean, "applied": applied, "restart_required": restart})


PRIVACY_ROUTES: list[RouteSpec] = [
    RouteSpec("GET", "/api/v1/privacy/inventory", P.VIEW_DEVICE, inventory,
              summary="Every kind of personal data kept: what, where, why, how long"),
    RouteSpec("POST", "/api/v1/privacy/erase", P.ERASE_DATA, erase, EraseBody,
              summary="Erase all personal data (confirm: ERASE); a fresh admin remains"),
    RouteSpec("GET", "/api/v1/privacy/telemetry", P.VIEW_DEVICE, telemetry,
              summary="Telemetry sent by the device: none"),
    RouteSpec("GET", "/api/v1/privacy/masks", P.CONFIGURE_MEDIA, masks_get,
              summary="Privacy masks"),
    RouteSpec("PUT", "/api/v1/privacy/masks", P.CONFIGURE_MEDIA, masks_set, MasksBody,
              summary="Set privacy masks (blacked out before encoding)"),
]
