"""Route and socket specs: the record every entry of the route table is made of.

Owns what a route declares (method, path, the permission it requires, handler, request body
schema, summary), so the route table, the OpenAPI document, the roles document and the
permission walk test read one shape without importing each other. Serves IoT-1005-1 5.1.2.1
(each route states its permission) and 5.5.2.1 (the documented body schema is the enforced one).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from pydantic import BaseModel
from starlette.responses import Response

from vigilcam.auth.permissions import Permission
from vigilcam.web.guard import Requirement

__all__ = ["RouteSpec", "SocketSpec"]


@dataclass(frozen=True)
class RouteSpec:
    method: str
    path: str
    requirement: Requirement
    handler: Callable[..., Awaitable[Response]]
    body: type[BaseModel] | None = None
    summary: str = ""
    tags: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class SocketSpec:
    path: str
    requirement: Permission
    handler: Callable[..., Awaitable[None]]
    summary: str = ""

