"""Generates ``docs/roles.md`` from the permission matrix and the route table.

Serves IoT-1005-1 5.1.2.1 (permissions documented; the document cannot drift from the code:
a test regenerates it and compares).
Run ``python -m vigilcam.compliance.roles_doc > docs/roles.md``.
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
        "`python -m vigilcam.compliance.roles_doc`; a test fails when this file and the code",
        "differ.",
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
    out += _onvif_section()
    return "\n".join(out) + "\n"


def _onvif_section() -> list[str]:
    """ONVIF authenticates inside SOAP; each operation names its permission (onvif/)."""
    from vigilcam.onvif.service import all_operations

    out = ["", "## ONVIF operations (when ONVIF is on)", "",
           "Every path below is a 404 while ONVIF is off. The snapshot URI",
           "`GET /onvif/snapshot/{main,sub}.jpg` requires `take_snapshot`.", "",
           "| Service path | Operation | Requires |", "|---|---|---|"]
    for path, name, op in all_operations():
        need = f"`{op.permission}`" if op.permission else "nobody (public)"
        out.append(f"| `{path}` | {name} | {need} |")
    return out


def main() -> None:
    from vigilcam.web.catalogue import all_route_specs, all_socket_specs

    print(render(all_route_specs(), all_socket_specs()), end="")


if __name__ == "__main__":
    main()
