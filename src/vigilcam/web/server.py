"""Builds the Starlette application and serves it over TLS with uvicorn.

Serves IoT-1005-1 5.4.2.1 (HTTPS only; the TLS context comes from ``platform.tls``),
5.2.2.1 (the plain-HTTP listener is off unless configured, and then only redirects) and
5.6.1.1 (both listeners accept through ``listeners.guarded``: a per-source connection budget
before TLS, a TLS handshake deadline, then ``head_deadline`` for each request head and body;
uvicorn's ``limit_concurrency`` answers 503 beyond ``https_max``; docs/listeners.md).
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from vigilcam.listeners.budget import ConnectionBudget
from vigilcam.listeners.guarded import GuardedListener, bind_listening_socket
from vigilcam.platform import tls
from vigilcam.platform.config import ListenerSettings
from vigilcam.web.catalogue import all_route_specs, all_socket_specs
from vigilcam.web.errors import ApiError, on_api_error, on_http_error, on_unexpected
from vigilcam.web.head_deadline import HeadDeadlineProtocol
from vigilcam.web.headers import SecurityHeadersMiddleware
from vigilcam.web.routes import build_routes
from vigilcam.web.ui import STATIC_DIR
from vigilcam.web.work_gate import WorkGate

if TYPE_CHECKING:
    from vigilcam.app import Device


def create_app(device: Device, mounts: Sequence[BaseRoute] = ()) -> SecurityHeadersMiddleware:
    """The web edge's application; ``mounts`` are another edge's routes served on the same
    HTTPS listener (ONVIF: it authenticates inside SOAP with WS-Security, so its paths are not
    in the route table; each operation names its permission in vigilcam.onvif, IoT-1005-1
    5.1.2.1)."""
    specs = all_route_specs()
    app = Starlette(
        routes=[*build_routes(specs, all_socket_specs(), str(STATIC_DIR)), *mounts],
        exception_handlers={
            ApiError: on_api_error,
            HTTPException: on_http_error,
            Exception: on_unexpected,
        },
    )
    app.state.device = device
    app.state.route_specs = specs
    app.state.export_gate = WorkGate(total=2, per_user=1)
    return SecurityHeadersMiddleware(app, device.settings.max_body_bytes)


def _uvicorn_config(app: Any, host: str, port: int, limits: ListenerSettings,
                    **kw: object) -> uvicorn.Config:
    return uvicorn.Config(
        app, host=host, port=port, server_header=False, date_header=True, access_log=False,
        log_level="warning", proxy_headers=False, lifespan="off", ws_max_size=64 * 1024,
        timeout_keep_alive=int(limits.keep_alive_s), limit_concurrency=limits.https_max,
        http="h11", **kw,  # type: ignore[arg-type]
    )


class GuardedServer(uvicorn.Server):
    """uvicorn, accepting through :class:`GuardedListener` and parsing with the head deadline.

    Only ``startup`` differs from uvicorn's: its ``loop.create_server`` has no per-source
    budget and no way to bound the TLS handshake; the rest (ticks, graceful shutdown) is
    uvicorn's own.
    """

    def __init__(self, config: uvicorn.Config, limits: ListenerSettings, max_total: int) -> None:
        super().__init__(config)
        self.limits = limits
        # Hard ceiling: uvicorn's limit_concurrency answers 503 up to it, beyond it the
        # connection is refused before TLS.
        self.budget = ConnectionBudget(limits.https_per_source, max_total)

    async def startup(self, sockets: list[Any] | None = None) -> None:
        await self.lifespan.startup()
        config = self.config
        try:
            sock = bind_listening_socket(config.host, config.port, config.backlog)
        except OSError as exc:
            logging.getLogger("uvicorn.error").error(exc)
            sys.exit(3)  # as uvicorn does when it cannot bind

        def protocol() -> asyncio.Protocol:
            return HeadDeadlineProtocol(config=config, server_state=self.server_state,
                                        app_state=self.lifespan.state,
                                        head_timeout=self.limits.head_timeout_s,
                                        body_timeout=self.limits.body_timeout_s)

        listener = GuardedListener(sock, protocol, self.budget, ssl_context=config.ssl,
                                   handshake_timeout=self.limits.handshake_timeout_s)
        await listener.start()
        self.servers = [listener]  # type: ignore[list-item]
        self.started = True


class HttpsServer:
    """The HTTPS (and WSS) listener, with the optional redirect-only plain listener."""

    def __init__(self, device: Device, app: Any) -> None:
        self.device = device
        limits = device.settings.listeners
        config = _uvicorn_config(app, device.settings.bind, device.settings.https_port, limits)
        config.load()
        # One home for TLS: replace uvicorn's own context with ours.
        config.ssl = tls.server_context(
            device.tls.cert_file, device.tls.key_file, device.tls.key_password
        )
        self.server = GuardedServer(config, limits, limits.https_max + limits.https_per_source)
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
                                    device.settings.http_redirect_port, limits)
            rconf.load()
            self.redirect = GuardedServer(rconf, limits, 4 * limits.https_per_source)

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
