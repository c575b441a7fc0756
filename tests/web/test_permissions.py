"""IoT-1005-1 5.1.2.1: every route x role is enforced exactly as the matrix says, docs agree."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support import make_client, nonce
from vigilcam.auth.permissions import MATRIX, Permission, Role
from vigilcam.auth.sessions import COOKIE_NAME
from vigilcam.compliance.roles_doc import render
from vigilcam.web.catalogue import all_route_specs, all_socket_specs
from vigilcam.web.guard import ANY_SESSION, PUBLIC

REPO = Path(__file__).resolve().parents[2]


def test_roles_doc_matches_code():
    generated = render(all_route_specs(), all_socket_specs())
    on_disk = (REPO / "docs" / "roles.md").read_text()
    assert on_disk == generated, "docs/roles.md drifted: run python -m vigilcam.compliance.roles_doc"


def test_every_permission_is_used_or_reserved():
    used = {s.requirement for s in all_route_specs()} | {s.requirement for s in all_socket_specs()}
    assert Permission.MANAGE_USERS in used and Permission.VIEW_SECURITY_LOG in used


def _expected(requirement, role):
    if requirement == PUBLIC:
        return "allowed"
    if role is None:
        return 401
    if requirement == ANY_SESSION:
        return "allowed"
    return "allowed" if requirement in MATRIX[role] else 403


@pytest.mark.parametrize("role", [None, Role.VIEWER, Role.OPERATOR, Role.ADMIN],
                         ids=["anonymous", "viewer", "operator", "admin"])
def test_walk_every_route(device, role):
    with make_client(device) as client:
        for spec in all_route_specs():
            cookies = {}
            csrf = ""
            if role is not None:
                name = f"walk-{role.value}"
                if device.accounts.get(name) is None:
                    device.accounts.add(name, role, "x" * 20, must_change=False,
                                        check_policy=False)
                raw, session = device.sessions.create(name, "127.0.0.1", restricted=False)
                cookies = {COOKIE_NAME: raw}
                csrf = session.csrf
            path = re.sub(r"{\w+}", "nobody", spec.path)
            client.cookies.clear()
            for k, v in cookies.items():
                client.cookies.set(k, v)
            kwargs = {}
            if spec.method not in ("GET", "HEAD"):
                kwargs["headers"] = {"X-CSRF-Token": csrf, "X-Request-Nonce": nonce()}
                if spec.body is not None:
                    kwargs["json"] = {}
            response = client.request(spec.method, path, **kwargs)
            expected = _expected(spec.requirement, role)
            where = f"{spec.method} {spec.path} as {role}"
            if expected == "allowed":
                assert response.status_code not in (401, 403), (where, response.text)
            else:
                assert response.status_code == expected, (where, response.text)
            assert "Traceback" not in response.text


def test_restricted_session_reaches_only_password_change(provisioned, device):
    _, secret = provisioned
    with make_client(device) as client:
        r = client.post("/api/v1/session", json={"username": "admin", "password": secret})
        assert r.status_code == 200 and r.json()["password_change_required"] is True
        for spec in all_route_specs():
            if spec.method != "GET" or "{" in spec.path or spec.requirement in (PUBLIC,
                                                                                  ANY_SESSION):
                continue
            blocked = client.get(spec.path)
            assert blocked.status_code == 403, spec.path
            assert blocked.json()["password_change_required"] is True


def test_every_feature_route_list_is_served():
    """A route list written in a web/api_*.py module but left out of the catalogue is a bug."""
    import importlib
    import pkgutil

    import vigilcam.web as web
    from vigilcam.web.route_spec import RouteSpec

    served = {(s.method, s.path) for s in all_route_specs()}
    for info in pkgutil.iter_modules(web.__path__):
        if not info.name.startswith("api_"):
            continue
        module = importlib.import_module(f"vigilcam.web.{info.name}")
        for name, value in vars(module).items():
            if isinstance(value, list) and value and all(isinstance(v, RouteSpec)
                                                         for v in value):
                missing = [(s.method, s.path) for s in value if (s.method, s.path) not in served]
                assert not missing, f"{info.name}.{name} not in the catalogue: {missing}"
