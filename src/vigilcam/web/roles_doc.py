"""Generates ``docs/roles.md`` from the permission matrix and the route table.

Serves IoT-1005-1 5.1.2.1 (permissions documented; the document cannot drift from the code:
a test regenerates it and compares). Run ``python -m vigilcam.web.roles_doc > docs/roles.md``.
"""

from __future__ import annotations

from vigilcam.auth.permissions import DESCRIPTIONS, MATRIX, Permission, Role
from vigilcam.web.guard import ANY_SESSION, PUBLIC
from vigilcam.web.route_spec import RouteSpec, SocketSpec


def render(routes: list[RouteSpec], sockets: list[SocketSpec]) -> str:
    roles = list(Role)
    out = [
        "# Roles and permissions",
        "",
        "Generated from `vigilcam/auth/permissions.py` and `vigilcam/web/routes.py` by",
        "`python -m vigilcam.web.roles_doc`; a test fails when this file and the code differ.",
        "IoT-1005-1 5.1.2.1.",
        "",
        "## Permissions by role",
        "",
        "| Permission | What it allows | " + " | ".join(r.value for r in roles) + " |",
        "|---|---|" + "---|" * len(roles),
    ]
    for perm in Permission:
        marks = " | ".join("yes" if perm in MATRIX[r] else "no" for r in roles)
        out.append(f"| `{perm.value}` | {DESCRIPTIONS[perm]} | {marks} |")
    out += [
        "",
        "A session that still holds a one-time password (the setup secret or a reset password)",
        "reaches only `GET/DELETE /api/v1/session` and `POST /api/v1/session/password` until",
        "the password is changed. API tokens carry a subset of their owner's permissions and",
        "can never manage users or tokens.",
        "",
        "## Routes",
        "",
        "| Method | Path | Requires |",
        "|---|---|---|",
    ]
    for spec in routes:
        if spec.requirement == PUBLIC:
            need = "nobody (public)"
        elif spec.requirement == ANY_SESSION:
            need = "any logged-in session"
        else:
            need = f"`{spec.requirement}`"
        out.append(f"| {spec.method} | `{spec.path}` | {need} |")
    for sock in sockets:
        out.append(f"| WebSocket | `{sock.path}` | `{sock.requirement}` |")
    return "\n".join(out) + "\n"


def main() -> None:
    from vigilcam.web.catalogue import all_route_specs, all_socket_specs

    print(render(all_route_specs(), all_socket_specs()), end="")


if __name__ == "__main__":
    main()
