"""API handlers for motion zones and sensitivity.

Owns ``DETECTION_ROUTES``: read the motion settings (VIEW_LIVE) and replace them
(CONFIGURE_MEDIA). Serves docs/detection.md 'Motion zones and sensitivity' (applied at the
next analysed frame and kept across restarts), IoT-1005-1 5.5.2.1 (typed, bounded bodies,
unknown fields refused, clear 422 errors) and TAICS 5.2.8.1 (every change is a
``config.motion_changed`` security event naming who and from where).

The running ``DetectionService`` is found at ``device.services.detection``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vigilcam import motion_settings
from vigilcam.auth.permissions import Permission as P
from vigilcam.platform.events import Event
from vigilcam.web.errors import ApiError, parse_body
from vigilcam.web.guard import Principal, client_address, device_of
from vigilcam.web.route_spec import RouteSpec


class MotionZoneBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    rect: list[float] | None = Field(default=None, min_length=4, max_length=4,
                                     description="[x0, y0, x1, y1], fractions 0..1")
    polygon: list[list[float]] | None = Field(default=None, min_length=3, max_length=64)


class MotionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sensitivity: float = Field(ge=0, le=1, description="0 least sensitive .. 1 most")
    zones: list[MotionZoneBody] = Field(default_factory=list,
                                        max_length=motion_settings.MAX_ZONES,
                                        description="none: the whole picture")


def _answer(settings: motion_settings.MotionSettings, applied: bool) -> Response:
    return JSONResponse({**settings.as_json(), "applied": applied})


async def motion_get(request: Request, principal: Principal) -> Response:
    """Motion zones and sensitivity in force."""
    device = device_of(request)
    detection = device.services.detection
    if detection is not None:
        return _answer(detection.motion_settings, True)
    try:
        return _answer(motion_settings.load(device.paths.root), False)
    except motion_settings.MotionSettingsError as exc:
        raise ApiError(500, str(exc)) from None


async def motion_set(request: Request, principal: Principal) -> Response:
    """Replace motion zones and sensitivity; saved, and applied from the next analysed frame."""
    body = await parse_body(request, MotionBody)
    device = device_of(request)
    raw = {"sensitivity": body.sensitivity,
           "zones": [z.model_dump(exclude_none=True) for z in body.zones]}
    try:
        settings = motion_settings.validate(raw)
    except ValueError as exc:
        raise ApiError(422, str(exc)) from None
    motion_settings.save(device.paths.root, settings)
    detection = device.services.detection
    if detection is not None:
        detection.configure_motion(settings)
    device.record(Event.CONFIG_MOTION_CHANGED, user=principal.username,
                  source=client_address(request), sensitivity=settings.sensitivity,
                  zones=[z.name for z in settings.zones])
    return _answer(settings, detection is not None)


DETECTION_ROUTES: list[RouteSpec] = [
    RouteSpec("GET", "/api/v1/motion", P.VIEW_LIVE, motion_get,
              summary="Motion zones and sensitivity"),
    RouteSpec("PUT", "/api/v1/motion", P.CONFIGURE_MEDIA, motion_set, MotionBody,
              summary="Set motion zones and sensitivity (applied now, kept across restarts)"),
]
