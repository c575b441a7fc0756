"""OpenAPI 3.1 description of the API, built from the route table and the request schemas.

Serves IoT-1005-1 5.5.2.1 (the documented schema is the one enforced) and 5.1.2.1 (each
operation states the permission it needs).
"""

from __future__ import annotations

import re
from typing import Any

from vigilcam import product
from vigilcam.web.guard import ANY_SESSION, PUBLIC
from vigilcam.web.route_spec import RouteSpec


def build_openapi(specs: list[RouteSpec]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = {}
    for spec in specs:
        op: dict[str, Any] = {
            "summary": spec.summary or (spec.handler.__doc__ or "").strip().split("\n")[0],
            "operationId": f"{spec.method.lower()}_{spec.handler.__name__}",
            "responses": {
                "200": {"description": "done"},
                "400": {"description": "malformed request"},
                "422": {"description": "invalid field"},
            },
        }
        if spec.requirement == PUBLIC:
            op["security"] = []
            if spec.path == "/api/v1/session":
                op["responses"]["401"] = {"description": "wrong user name or password"}
                op["responses"]["429"] = {"description": "throttled; see Retry-After"}
        else:
            needed = "any logged-in session" if spec.requirement == ANY_SESSION else (
                f"permission {spec.requirement}")
            op["description"] = f"Requires {needed}."
            op["responses"]["401"] = {"description": "login required"}
            op["responses"]["403"] = {"description": "not allowed for this role"}
        if spec.method not in ("GET", "HEAD") and spec.requirement != PUBLIC:
            op["parameters"] = [
                {"name": "X-CSRF-Token", "in": "header", "required": False,
                 "schema": {"type": "string"}, "description": "session's CSRF token (cookies)"},
                {"name": "X-Request-Nonce", "in": "header", "required": True,
                 "schema": {"type": "string", "minLength": 16, "maxLength": 128},
                 "description": "fresh random value; a reused one is refused (replay)"},
            ]
        params = re.findall(r"{(\w+)}", spec.path)
        if params:
            op.setdefault("parameters", []).extend(
                {"name": p, "in": "path", "required": True, "schema": {"type": "string",
                                                                        "maxLength": 64}}
                for p in params
            )
        if spec.body is not None:
            name = spec.body.__name__
            schemas[name] = spec.body.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(schemas[name].pop("$defs", {}))
            op["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}
                },
            }
        paths.setdefault(spec.path, {})[spec.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": f"{product.MODEL} API", "version": product.VERSION},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "__Host-vigilcam"},
                "token": {"type": "http", "scheme": "bearer"},
            },
        },
        "security": [{"session": []}, {"token": []}],
    }
