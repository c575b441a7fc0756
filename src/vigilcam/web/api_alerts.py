"""API handlers for alert channels: list with status, add, remove, send a test alert.

Owns ``ALERT_ROUTES`` (all need Permission.MANAGE_ALERTS). Serves IoT-1005-1 5.8.1.1 (the owner
configures and tests alert channels, and sees per-channel delivery status and failures),
5.5.2.1 (bodies typed, bounded, unknown fields refused) and 5.4.1.2 (a channel's password or
token goes to the vault; the webhook HMAC key is answered once and never again).

The running ``AlertService`` is found at ``device.services.alerts``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vigilcam.auth.permissions import Permission
from vigilcam.web.errors import ApiError, parse_body
from vigilcam.web.guard import Principal, client_address, device_of
from vigilcam.web.route_spec import RouteSpec

if TYPE_CHECKING:
    from vigilcam.alerts.service import AlertService


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ChannelCreateBody(_Body):
    kind: Literal["webhook", "email", "mqtt", "ntfy", "apprise"]
    url: str = Field(min_length=8, max_length=2048)
    password: str | None = Field(default=None, min_length=1, max_length=1024,
                                 description="SMTP/MQTT password or ntfy token (to the vault)")
    ca_pem: str | None = Field(default=None, min_length=1, max_length=65536,
                               description="PEM of a private CA that signed the peer")
    categories: list[Literal["config", "motion"]] = Field(default_factory=list, max_length=2)
    allow_local_target: bool = Field(
        default=False, description="allow a destination on the device itself or link-local")


class AlertTestBody(_Body):
    channel_id: str | None = Field(default=None, min_length=1, max_length=64,
                                   pattern=r"^ch_[0-9a-f]{12}$")


def _service(request: Request) -> AlertService:
    service = device_of(request).services.alerts
    if service is None:
        raise ApiError(503, "the alert service is not running")
    return service  # type: ignore[no-any-return]


async def channels_list(request: Request, principal: Principal) -> Response:
    """Alert channels with delivery status (last success, last error, pending, failing)."""
    service = _service(request)
    return JSONResponse({"channels": service.list_channels(),
                         "alerts_without_channel": service.no_channel_alerts})


async def channels_create(request: Request, principal: Principal) -> Response:
    """Add a channel; a webhook's HMAC key is in this answer only (shown once)."""
    service = _service(request)
    body = await parse_body(request, ChannelCreateBody)
    try:
        channel_id, shown = service.add_channel(
            body.kind, body.url, password=body.password, ca_pem=body.ca_pem,
            categories=list(body.categories), by=principal.username,
            source=client_address(request), allow_local=body.allow_local_target)
    except ValueError as exc:
        raise ApiError(422, str(exc)) from None
    channel = next(c for c in service.list_channels() if c["id"] == channel_id)
    return JSONResponse({"channel": channel, "hmac_key": shown}, status_code=201)


async def channels_delete(request: Request, principal: Principal) -> Response:
    """Remove a channel and its pending queue."""
    channel_id = request.path_params["channel_id"]
    if not isinstance(channel_id, str) or len(channel_id) > 64:
        raise ApiError(404, "no such alert channel")
    if not _service(request).remove_channel(channel_id, by=principal.username,
                                            source=client_address(request)):
        raise ApiError(404, "no such alert channel")
    return JSONResponse({"ok": True})


async def alerts_test(request: Request, principal: Principal) -> Response:
    """Send a test alert now to one channel or all; answers per-channel results."""
    service = _service(request)
    body = await parse_body(request, AlertTestBody)
    try:
        results = await service.send_test(body.channel_id, by=principal.username,
                                          source=client_address(request))
    except KeyError:
        raise ApiError(404, "no such alert channel") from None
    if not results:
        raise ApiError(409, "no alert channel configured")
    return JSONResponse({"results": results, "ok": all(r["ok"] for r in results)})


ALERT_ROUTES: list[RouteSpec] = [
    RouteSpec("GET", "/api/v1/alerts/channels", Permission.MANAGE_ALERTS, channels_list,
              summary="Alert channels and their delivery status"),
    RouteSpec("POST", "/api/v1/alerts/channels", Permission.MANAGE_ALERTS, channels_create,
              ChannelCreateBody, summary="Add an alert channel (webhook HMAC key shown once)"),
    RouteSpec("DELETE", "/api/v1/alerts/channels/{channel_id}", Permission.MANAGE_ALERTS,
              channels_delete, summary="Remove an alert channel"),
    RouteSpec("POST", "/api/v1/alerts/test", Permission.MANAGE_ALERTS, alerts_test,
              AlertTestBody, summary="Send a test alert"),
]
