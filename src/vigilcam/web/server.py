"""Builds the Starlette application and serves it over TLS with uvicorn.

Serves IoT-1005-1 5.4.2.1 (HTTPS only; the TLS context comes from ``platform.tls``),
5.2.2.1 (the plain-HTTP listener is off unless configured, and then only redirects).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from vigilcam.onvif.service import onvif_routes
from vigilcam.platform import tls
from vigilcam.web.catalogue import all_route_specs, all_socket_specs
from vigilcam.web.errors import ApiError, on_api_error, on_http_error, on_unexpected
from vigilcam.web.headers import SecurityHeadersMiddleware
from vigilcam.web.routes import build_routes
from vigilcam.web.ui import STATIC_DIR
from vigilcam.web.work_gate import WorkGate

if TYPE_CHECKING:
    from vigilcam.app import Device


def create_app(device: Device) -> SecurityHeadersMiddleware:
    specs = all_route_specs()
    device.route_specs = specs
    app = Starlette(
        # ONVIF authenticates inside SOAP (WS-Security), so its paths are not in the route
        # table; each operation names its permission in vigilcam.onvif (IoT-1005-1 5.1.2.1).
        routes=[*build_routes(specs, all_socket_specs(), str(STATIC_DIR)), *onvif_routes()],
        exception_handlers={
            ApiError: on_api_error,
            HTTPException: on_http_error,
            Exception: on_unexpected,
        },
    )
    app.state.device = device
    app.state.export_gate = WorkGate(total=2, per_user=1)
    return SecurityHeadersMiddleware(app, device.settings.max_body_bytes)


def _uvicorn_config(app: Any, host: str, port: int, **kw: object) -> uvicorn.Config:
    return uvicorn.Config(
        app, host=host, port=port, server_header=False, date_header=True, access_log=False,
        log_level="warning", proxy_headers=False, lifespan="off", ws_max_size=64 * 1024,
        timeout_keep_alive=30, limit_concurrency=512, **kw,  # type: ignore[arg-type]
    )


class HttpsServer:
    """The HTTPS (and WSS) listener, with the optional redirect-only plain listener."""

    def __init__(self, device: Device, app: Any) -> None:
        self.device = device
        config = _uvicorn_config(app, device.settings.bind, device.settings.https_port)
        config.load()
        # One home for TLS: replace uvicorn's own context with ours.
        config.ssl = tls.server_context(
            device.tls.cert_file, device.tls.key_file, device.tls.key_password
        )
        self.server = uvicorn.Server(config)
        self.redirect: uvicorn.Server | None = None
        if device.settings.http_redirect_port:
            https_port = device.settings.https_port

            async def redirect(request: Request) -> Response:
                host = (request.url.hostname or "localhost").strip("[]")
                if ":" in host:
                    host = f"[{host}]"
                return RedirectResponse(
                    f"https://{host}:{https_port}{request.url.path}", status_code=301
                )

            plain = Starlette(routes=[Route("/{path:path}", redirect, methods=["GET", "HEAD"])])
            rconf = _uvicorn_config(plain, device.settings.bind,
                                    device.settings.http_redirect_port)
            self.redirect = uvicorn.Server(rconf)

    async def serve(self) -> None:
        tasks = [self.server.serve()]
        if self.redirect is not None:
            tasks.append(self.redirect.serve())
        await asyncio.gather(*tasks)

    @property
    def started(self) -> bool:
        return self.server.started

    def stop(self) -> None:
        self.server.should_exit = True
        if self.redirect is not None:
            self.redirect.should_exit = True


logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
