"""The core route table and the Starlette routes built from every route spec.

Serves IoT-1005-1 5.1.2.1: this table and ``auth.permissions.MATRIX`` are the single source
for ``docs/roles.md`` and for the test that walks every route with every role. A route is added
here (or in a feature module's list, gathered by ``catalogue``) or nowhere; ``build_routes``
wraps each handler in the guard of its requirement. The spec records are in ``route_spec``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute

from vigilcam.auth.permissions import Permission
from vigilcam.web import api_core, ui
from vigilcam.web.guard import ANY_SESSION, PUBLIC, guard, socket_guard
from vigilcam.web.route_spec import RouteSpec, SocketSpec
from vigilcam.web.schemas import (
    LoginBody,
    PasswordChangeBody,
    TokenCreateBody,
    UserCreateBody,
    UserUpdateBody,
)
from vigilcam.web.ui_assets import UiAssets

P = Permission


CORE_ROUTES: list[RouteSpec] = [
    RouteSpec("GET", "/", PUBLIC, ui.index, summary="Browser UI (login page names model and "
              "version)"),
    RouteSpec("GET", "/.well-known/security.txt", PUBLIC, ui.security_txt,
              summary="Vulnerability disclosure contact (RFC 9116)"),
    RouteSpec("GET", "/api/v1/openapi.json", PUBLIC, ui.openapi, summary="This API description"),
    RouteSpec("POST", "/api/v1/session", PUBLIC, api_core.login, LoginBody),
    RouteSpec("GET", "/api/v1/session", ANY_SESSION, api_core.whoami),
    RouteSpec("DELETE", "/api/v1/session", ANY_SESSION, api_core.logout),
    RouteSpec("POST", "/api/v1/session/password", P.CHANGE_OWN_PASSWORD,
              api_core.change_password, PasswordChangeBody),
    RouteSpec("DELETE", "/api/v1/sessions", P.CHANGE_OWN_PASSWORD, api_core.logout_everywhere),
    RouteSpec("GET", "/api/v1/device", P.VIEW_DEVICE, api_core.device_info),
    RouteSpec("GET", "/api/v1/users", P.MANAGE_USERS, api_core.users_list),
    RouteSpec("POST", "/api/v1/users", P.MANAGE_USERS, api_core.users_create, UserCreateBody),
    RouteSpec("PATCH", "/api/v1/users/{username}", P.MANAGE_USERS, api_core.users_update,
              UserUpdateBody),
    RouteSpec("POST", "/api/v1/users/{username}/reset-password", P.MANAGE_USERS,
              api_core.users_reset_password),
    RouteSpec("GET", "/api/v1/log", P.VIEW_SECURITY_LOG, api_core.log_list),
    RouteSpec("GET", "/api/v1/log/export", P.EXPORT_SECURITY_LOG, api_core.log_export),
    RouteSpec("GET", "/api/v1/log/verify", P.VIEW_SECURITY_LOG, api_core.log_verify),
    RouteSpec("GET", "/api/v1/tokens", P.MANAGE_TOKENS, api_core.tokens_list),
    RouteSpec("POST", "/api/v1/tokens", P.MANAGE_TOKENS, api_core.tokens_create,
              TokenCreateBody),
    RouteSpec("DELETE", "/api/v1/tokens/{token_id}", P.MANAGE_TOKENS, api_core.tokens_revoke),
]


def build_routes(
    specs: list[RouteSpec], sockets: list[SocketSpec], static_dir: str
) -> list[BaseRoute]:
    routes: list[BaseRoute] = []
    for spec in specs:
        endpoint: Callable[[Request], Awaitable[Response]]
        if spec.requirement == PUBLIC:
            endpoint = spec.handler
        else:
            endpoint = guard(spec.requirement, spec.handler)
        routes.append(Route(spec.path, endpoint, methods=[spec.method]))
    for sock in sockets:
        routes.append(WebSocketRoute(sock.path, socket_guard(sock.requirement, sock.handler)))
    routes.append(Mount("/static", UiAssets(directory=static_dir), name="static"))
    return routes
