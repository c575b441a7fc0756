"""The update status and actions over HTTPS: GET status, POST check, POST install.

Serves IoT-1005-1 5.3.1.3 (the API and UI show the current version, last check, available
update and the result of the last install) and 5.3.1.1 (an admin can start an install; the
A/B installer rolls back by itself). ``web/catalogue.py`` adds
``update_routes(P.MANAGE_UPDATES)``; the service is ``device.services.update``.
Blocking work (TUF over HTTPS, the health-check boot) runs in a worker thread.
"""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vigilcam.auth.permissions import Permission
from vigilcam.update.errors import RefusalKind, UpdateError
from vigilcam.update.service import UpdateService
from vigilcam.web.errors import ApiError
from vigilcam.web.guard import Principal, client_address, device_of
from vigilcam.web.route_spec import RouteSpec


def _service(request: Request) -> UpdateService:
    service = device_of(request).services.update
    if not isinstance(service, UpdateService):
        raise ApiError(503, "the update service is not running")
    return service


def _no_query(request: Request) -> None:
    if request.query_params:
        raise ApiError(400, "this endpoint takes no query parameters")


def _error(exc: UpdateError) -> ApiError:
    if exc.kind is RefusalKind.CONFIG:
        return ApiError(409, str(exc))
    return ApiError(502, f"update refused: {exc}")


async def status(request: Request, principal: Principal) -> Response:
    """Installed version, slot, last check and its result, available update, last install."""
    _no_query(request)
    return JSONResponse(_service(request).status())


async def check(request: Request, principal: Principal) -> Response:
    """Ask the update repository now (TUF-verified); the answer is also in the status."""
    _no_query(request)
    service = _service(request)
    try:
        release = await asyncio.to_thread(service.check, user=principal.username,
                                          source=client_address(request))
    except UpdateError as exc:
        raise _error(exc) from None
    return JSONResponse({"available_version": release.version if release else None,
                         "status": service.status()})


async def install(request: Request, principal: Principal) -> Response:
    """Install the newest release into the inactive slot; rolled back if it fails its check.

    On a packaged device the camera cannot write its install root: the install is handed to
    the updater unit (202), which records the outcome in the status."""
    _no_query(request)
    service = _service(request)
    if service.installs_elsewhere():  # the packaged unit: the updater unit installs
        asked = service.request_install(user=principal.username, source=client_address(request))
        return JSONResponse({"result": "requested", "requested_at": asked["at"],
                             "detail": "vigilcam-update.service installs it now; the status "
                                       "shows the result", "status": service.status()},
                            status_code=202)
    try:
        outcome = await asyncio.to_thread(service.install, user=principal.username,
                                          source=client_address(request))
    except UpdateError as exc:
        raise _error(exc) from None
    if outcome is None:
        return JSONResponse({"result": "up_to_date", "status": service.status()})
    return JSONResponse({"result": outcome.result, "version": outcome.version,
                         "slot": outcome.slot, "detail": outcome.detail,
                         "status": service.status()}, status_code=200 if outcome.ok else 500)


def update_routes(manage: Permission, view: Permission = Permission.VIEW_DEVICE
                  ) -> list[RouteSpec]:
    return [
        RouteSpec("GET", "/api/v1/update", view, status,
                  summary="Update status: version, last check, available update, last install"),
        RouteSpec("POST", "/api/v1/update/check", manage, check,
                  summary="Check the signed update repository now"),
        RouteSpec("POST", "/api/v1/update/install", manage, install,
                  summary="Install the newest signed release (A/B slots, automatic rollback)"),
    ]
