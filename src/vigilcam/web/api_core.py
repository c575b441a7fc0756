"""API handlers of the device core: session, password, device, users, tokens, security log.

Serves IoT-1005-1 5.1.1.1 and 5.2.3.4 (device ID, model and version over the API), 5.1.2.1
(user and role management), 5.1.2.2 (429 with Retry-After when throttled), 5.1.3.1 (forced
change of the setup secret), 5.3.1.4 (support period), TAICS 5.2.8.1 (the log shown to and
exported by admins).
"""

from __future__ import annotations

import math

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vigilcam.auth import one_time
from vigilcam.auth.accounts import AccountError
from vigilcam.auth.permissions import MATRIX, Permission, Role
from vigilcam.auth.sessions import token_scopes_allowed
from vigilcam.platform.events import Event
from vigilcam.web.errors import ApiError, parse_body, validate
from vigilcam.web.guard import Principal, client_address, device_of, error
from vigilcam.web.schemas import (
    LoginBody,
    LogQuery,
    PasswordChangeBody,
    TokenCreateBody,
    UserCreateBody,
    UserUpdateBody,
)
from vigilcam.web.session_cookie import clear_session_cookie, set_session_cookie


def _session_body(principal_name: str, role: Role, restricted: bool, csrf: str) -> dict:
    return {
        "username": principal_name,
        "role": role.value,
        "password_change_required": restricted,
        "csrf_token": csrf,
        "permissions": sorted(p.value for p in MATRIX[role]),
    }


async def login(request: Request) -> Response:
    """Log in with user name and password; sets the session cookie."""
    device = device_of(request)
    body = await parse_body(request, LoginBody)
    result = await device.auth.login(body.username, body.password, client_address(request))
    if result.status == "throttled":
        retry = max(1, math.ceil(result.retry_after))
        return JSONResponse(
            {"error": "too many failed attempts; try again later", "retry_after": retry},
            status_code=429, headers={"Retry-After": str(retry)},
        )
    if result.status != "ok" or result.user is None or result.session is None:
        return error(401, "wrong user name or password")
    assert result.cookie is not None
    response = JSONResponse(
        _session_body(result.user.username, result.user.role, result.session.restricted,
                      result.session.csrf)
    )
    set_session_cookie(response, result.cookie, device.settings.sessions.absolute_timeout_s)
    return response


async def whoami(request: Request, principal: Principal) -> Response:
    """The current session: user, role, permissions, CSRF token."""
    csrf = principal.session.csrf if principal.session else ""
    return JSONResponse(_session_body(principal.username, principal.role, principal.restricted,
                                      csrf))


async def logout(request: Request, principal: Principal) -> Response:
    """End this session."""
    device = device_of(request)
    if principal.session:
        device.sessions.end(principal.session.id_hash)
    device.record(Event.AUTH_LOGOUT, user=principal.username, source=client_address(request))
    response = JSONResponse({"ok": True})
    clear_session_cookie(response)
    return response


async def logout_everywhere(request: Request, principal: Principal) -> Response:
    """End every session of the calling user."""
    device = device_of(request)
    ended = device.sessions.end_all(principal.username)
    device.record(Event.AUTH_LOGOUT_ALL, user=principal.username, source=client_address(request),
                  sessions=ended)
    response = JSONResponse({"ok": True, "sessions_ended": ended})
    clear_session_cookie(response)
    return response


async def change_password(request: Request, principal: Principal) -> Response:
    """Change one's own password (required first with the setup secret)."""
    device = device_of(request)
    body = await parse_body(request, PasswordChangeBody)
    if principal.session is None:
        raise ApiError(403, "API tokens cannot change passwords")
    try:
        cookie, session = await device.auth.change_password(
            principal.session, body.current_password, body.new_password, client_address(request)
        )
    except AccountError as exc:
        raise ApiError(422, str(exc)) from None
    device.password_changed(principal.username)
    user = device.accounts.get(principal.username)
    assert user is not None
    response = JSONResponse(_session_body(user.username, user.role, False, session.csrf))
    set_session_cookie(response, cookie, device.settings.sessions.absolute_timeout_s)
    return response


async def device_info(request: Request, principal: Principal) -> Response:
    """Model, version, device ID, serial, certificate fingerprint, support period."""
    return JSONResponse(device_of(request).describe())


async def users_list(request: Request, principal: Principal) -> Response:
    """All users with role and state."""
    return JSONResponse({"users": [u.public() for u in device_of(request).accounts.list()]})


async def users_create(request: Request, principal: Principal) -> Response:
    """Add a user; answers a one-time password to hand over (changed at first login)."""
    device = device_of(request)
    body = await parse_body(request, UserCreateBody)
    try:
        user, secret = one_time.add_user(device.accounts, device.record, body.username,
                                         body.role, by=principal.username,
                                         source=client_address(request))
    except AccountError as exc:
        raise ApiError(409 if "exists" in str(exc) else 422, str(exc)) from None
    return JSONResponse({**user.public(), "one_time_password": secret}, status_code=201)


async def users_update(request: Request, principal: Principal) -> Response:
    """Change a user's role or disable/enable it; ends its sessions on any change."""
    device = device_of(request)
    name = request.path_params["username"]
    body = await parse_body(request, UserUpdateBody)
    if device.accounts.get(name) is None:
        raise ApiError(404, f"no user named {name!r}")
    try:
        if body.role is not None:
            before = device.accounts.get(name)
            device.accounts.set_role(name, body.role)
            device.record(Event.USER_ROLE_CHANGED, user=principal.username,
                          source=client_address(request), target=name,
                          old=before.role.value if before else None, new=body.role.value)
        if body.disabled is not None:
            device.accounts.set_disabled(name, body.disabled)
            device.record(Event.USER_DISABLED if body.disabled else Event.USER_ENABLED,
                          user=principal.username, source=client_address(request), target=name)
    except AccountError as exc:
        raise ApiError(409, str(exc)) from None
    if name != principal.username:
        device.sessions.end_all(name)  # privilege change: that user logs in again
    user = device.accounts.get(name)
    assert user is not None
    return JSONResponse(user.public())


async def users_reset_password(request: Request, principal: Principal) -> Response:
    """Give a user a one-time password (must be changed at next login)."""
    device = device_of(request)
    name = request.path_params["username"]
    if device.accounts.get(name) is None:
        raise ApiError(404, f"no user named {name!r}")
    secret = one_time.reset_password(device.accounts, device.sessions, device.throttle,
                                     device.record, name, by=principal.username,
                                     source=client_address(request))
    return JSONResponse({"username": name, "one_time_password": secret})


def _log_query(request: Request) -> LogQuery:
    allowed = set(LogQuery.model_fields)
    params = dict(request.query_params)
    unknown = set(params) - allowed
    if unknown:
        raise ApiError(422, f"unknown query parameter {sorted(unknown)[0]!r}")
    return validate(LogQuery, params)


async def log_list(request: Request, principal: Principal) -> Response:
    """Security log records, newest first, filtered."""
    q = _log_query(request)
    events = device_of(request).seclog.query(
        since=q.since, until=q.until, action=q.action, user=q.user, result=q.result,
        limit=q.limit,
    )
    return JSONResponse({"records": [e.__dict__ for e in events]})


async def log_export(request: Request, principal: Principal) -> Response:
    """Export the filtered log as CSV or JSON (the export itself is logged)."""
    device = device_of(request)
    q = _log_query(request)
    events = device.seclog.query(
        since=q.since, until=q.until, action=q.action, user=q.user, result=q.result,
        limit=q.limit,
    )
    device.record(Event.SECLOG_EXPORTED, user=principal.username, source=client_address(request),
                  format=q.format, records=len(events))
    text = device.seclog.export(q.format, events)
    media = "text/csv" if q.format == "csv" else "application/json"
    return Response(text, media_type=media, headers={
        "content-disposition": f'attachment; filename="vigilcam-security-log.{q.format}"'})


async def log_verify(request: Request, principal: Principal) -> Response:
    """Verify the whole hash chain now."""
    device = device_of(request)
    report = device.seclog.verify()
    device.record(Event.SECLOG_VERIFIED, result="ok" if report.ok else "failure",
                  user=principal.username, source=client_address(request),
                  records=report.records)
    return JSONResponse({"ok": report.ok, "records": report.records, "problems": report.problems})


async def tokens_list(request: Request, principal: Principal) -> Response:
    """API tokens (never their values)."""
    tokens = device_of(request).sessions.list_tokens()
    return JSONResponse({"tokens": [
        {"id": t.id, "username": t.username, "label": t.label,
         "scopes": sorted(s.value for s in t.scopes), "expires": t.expires} for t in tokens]})


async def tokens_create(request: Request, principal: Principal) -> Response:
    """Create a scoped API token for the calling user; its value is shown once."""
    device = device_of(request)
    body = await parse_body(request, TokenCreateBody)
    scopes = frozenset(body.scopes) - {Permission.MANAGE_USERS, Permission.MANAGE_TOKENS}
    if not token_scopes_allowed(principal.role, scopes) or scopes != frozenset(body.scopes):
        raise ApiError(422, "a token cannot hold user or token management, or exceed your role")
    raw, token = device.sessions.create_token(principal.username, body.label, scopes,
                                              body.ttl_days * 86400)
    device.record(Event.TOKEN_CREATED, user=principal.username, source=client_address(request),
                  token_id=token.id, scopes=sorted(s.value for s in scopes))
    return JSONResponse({"id": token.id, "token": raw, "expires": token.expires}, status_code=201)


async def tokens_revoke(request: Request, principal: Principal) -> Response:
    """Revoke an API token."""
    device = device_of(request)
    token_id = request.path_params["token_id"]
    if not device.sessions.revoke_token(token_id):
        raise ApiError(404, "no such token")
    device.record(Event.TOKEN_REVOKED, user=principal.username, source=client_address(request),
                  token_id=token_id)
    return JSONResponse({"ok": True})
