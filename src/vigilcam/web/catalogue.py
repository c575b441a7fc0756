"""Every route and socket of the web edge, core and feature ones, in one list.

Owns which API surfaces exist, so the roles document, the OpenAPI document, the permission
walk test and the server all see the same set (IoT-1005-1 5.1.2.1).
"""

from __future__ import annotations

from vigilcam.web.routes import CORE_ROUTES, RouteSpec, SocketSpec


def all_route_specs() -> list[RouteSpec]:
    return [*CORE_ROUTES]


def all_socket_specs() -> list[SocketSpec]:
    return []
