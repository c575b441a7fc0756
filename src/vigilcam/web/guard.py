"""Who is calling, and may they: the web edge's enforcement of the permission matrix.

Serves IoT-1005-1 5.1.2.1 (enforcement equals the documented matrix: every route names its
permission and goes through ``guard``), 5.1.1.3 (state-changing requests need the session's
CSRF token and a fresh single-use nonce, so a captured request cannot be replayed) and
5.1.3.1 (a session that still holds the setup secret reaches only the password change).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response
from starlette.websockets import WebSocket

from vigilcam.auth.permissions import MATRIX, Permission, Role
from vigilcam.auth.sessions import COOKIE_NAME, ApiToken, Session
from vigilcam.viewers.revocation import Admission, admit

if TYPE_CHECKING:
    from vigilcam.app import Device

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PUBLIC = "public"
ANY_SESSION = "any_session"  # reachable with a restricted (must-change) session too
Requirement = Permission | str


@dataclass(frozen=True)
class Principal:
    username: str
    role: Role
    session: Session | None
    token: ApiToken | None
    restricted: bool

    def may(self, permission: Permission) -> bool:
        if self.token is not None and permission not in self.token.scopes:
            return False
        return permission in MATRIX[self.role]

    @property
    def session_key(self) -> str:
        if self.session is not None:
            return self.session.id_hash
        assert self.token is not None
        return "token:" + self.token.id


def error(status: int, message: str, **extra: object) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


def device_of(conn: HTTPConnection) -> Device:
    return conn.app.state.device  # type: ignore[no-any-return]


def client_address(conn: HTTPConnection) -> str:
    return conn.client.host if conn.client else "unknown"


def identify(conn: HTTPConnection) -> Principal | None:
    device = device_of(conn)
    auth = conn.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        token = device.sessions.lookup_token(auth[7:].strip())
        if token is None:
            return None
        user = device.accounts.get(token.username)
        if user is None or user.disabled or user.must_change:
            return None
        return Principal(user.username, user.role, None, token, False)
    session = device.sessions.lookup(conn.cookies.get(COOKIE_NAME))
    if session is None:
        return None
    user = device.accounts.get(session.username)
    if user is None or user.disabled:
        device.sessions.end(session.id_hash)
        return None
    return Principal(user.username, user.role, session, None, session.restricted)


def authorize(conn: HTTPConnection, requirement: Requirement) -> Principal | JSONResponse:
    """Return the caller, or the refusal to send (401, 403, 409)."""
    principal = identify(conn)
    if principal is None:
        return error(401, "login required")
    if principal.restricted and requirement != ANY_SESSION and (
        requirement != Permission.CHANGE_OWN_PASSWORD
    ):
        return error(403, "password change required", password_change_required=True)
    if isinstance(requirement, Permission) and not principal.may(requirement):
        return error(403, "your role does not allow this")
    method = conn.scope.get("method", "GET")
    if method not in SAFE_METHODS and principal.session is not None:
        device = device_of(conn)
        if not device.sessions.csrf_ok(principal.session, conn.headers.get("x-csrf-token")):
            return error(403, "missing or wrong CSRF token")
    if method not in SAFE_METHODS:
        nonce = conn.headers.get("x-request-nonce")
        if not device_of(conn).sessions.consume_nonce(principal.session_key, nonce):
            return error(409, "missing or reused request nonce (replayed request refused)")
    return principal


def admission_of(conn: HTTPConnection, principal: Principal,
                 permission: Permission) -> Admission | None:
    """What a stream ``principal`` opens now is re-checked against while it runs: the web
    session or API token it came with (``vigilcam.viewers.revocation``)."""
    if principal.session is not None:
        return admit(device_of(conn).accounts, principal.username, permission, "session",
                     principal.session.id_hash)
    assert principal.token is not None
    return admit(device_of(conn).accounts, principal.username, permission, "token",
                 principal.token.id)


Handler = Callable[[Request, Principal], Awaitable[Response]]


SocketHandler = Callable[[WebSocket, Principal], Awaitable[None]]


def socket_guard(requirement: Permission,
                 handler: SocketHandler) -> Callable[[WebSocket], Awaitable[None]]:
    """The route's requirement for a WebSocket: refused before the handshake (policy
    violation, 1008) like a request gets its 401/403."""
    async def endpoint(ws: WebSocket) -> None:
        outcome = authorize(ws, requirement)
        if isinstance(outcome, Response):
            await ws.close(code=1008)
            return
        await handler(ws, outcome)

    endpoint.__name__ = handler.__name__
    endpoint.__doc__ = handler.__doc__
    return endpoint


def guard(requirement: Requirement, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        outcome = authorize(request, requirement)
        if isinstance(outcome, Response):
            return outcome
        return await handler(request, outcome)

    endpoint.__name__ = handler.__name__
    endpoint.__doc__ = handler.__doc__
    return endpoint
