"""Who an ONVIF caller is: the WS-Security check and the one login procedure behind it.

Owns steps 3-4 of ``service.py``'s order (a UsernameToken required, then judged through
``AuthService`` with a ``verify`` that checks digest, Created window and replay) and how often
an ONVIF login is recorded. Serves IoT-1005-1 5.1.2.2 (throttled like every login) and 5.1.1.3
(replay refused). One gate per device, held by ``OnvifEdge``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from vigilcam.auth.accounts import User
from vigilcam.auth.onvif_credentials import OnvifCredentials
from vigilcam.auth.service import OK, THROTTLED, Check, LoginOutcome

from .context import Caller
from .soap import NS, SoapFault, SoapRequest
from .wsse import ReplayCache, TokenError, check_fresh, parse_token, verify_digest

INTERFACE = "onvif"
ANNOUNCE_EVERY_S = 600.0


class LoginProcedure(Protocol):
    """The part of ``AuthService`` ONVIF uses."""

    def authenticate_now(self, username: str, source: str, interface: str,
                         verify: Callable[[User | None], Check], *,
                         announce: bool = True) -> LoginOutcome: ...


class OnvifGate:
    """Per-device state of the edge: the replay cache and who was announced lately."""

    def __init__(self, login: LoginProcedure, credentials: OnvifCredentials,
                 created_window_s: float) -> None:
        self.login = login
        self.window = float(created_window_s)
        self.replay = ReplayCache(self.window)
        self.credentials = credentials
        self._announced: dict[tuple[str, str], float] = {}

    def _due(self, username: str, source: str) -> bool:
        """Each request carries the credential; the login is recorded once per user and
        source every ``ANNOUNCE_EVERY_S`` (like RTSP's once per connection), not per request."""
        return self._announced.get((username, source), 0.0) <= time.monotonic()

    def _announced_now(self, username: str, source: str) -> None:
        now = time.monotonic()
        if len(self._announced) > 10_000:
            self._announced = {k: v for k, v in self._announced.items() if v > now}
        self._announced[(username, source)] = now + ANNOUNCE_EVERY_S

    def authenticate(self, request: SoapRequest, source: str) -> Caller:
        """Steps 3-4: the caller, or a :class:`SoapFault` ``ter:NotAuthorized``."""
        security = request.security()
        if security is None:
            raise SoapFault("Sender", ("ter:NotAuthorized",),
                            "WS-Security UsernameToken with PasswordDigest required")
        try:
            token = parse_token(security)
            problem = ""
        except TokenError as exc:
            token, problem = None, str(exc)
        name_elem = security.find(f"{{{NS['wsse']}}}UsernameToken/{{{NS['wsse']}}}Username")
        username = (token.username if token is not None else
                    ((name_elem.text or "").strip() if name_elem is not None else ""))[:64]

        def verify(user: User | None) -> Check:
            if token is None:
                return problem or "malformed token"
            secret = self.credentials.find(user.username) if user is not None else None
            if not verify_digest(token, secret):
                return False
            try:
                check_fresh(token, time.time(), self.window)
            except TokenError as exc:
                return str(exc)
            verdict = self.replay.remember(token.username, token.nonce)
            if verdict == "replay":
                return "replay"
            if verdict == "full":
                return "too many requests in the time window"
            return True

        due = self._due(username, source)
        outcome = login(self.login, username, source, verify, announce=due)
        if outcome.status == OK and due:
            self._announced_now(username, source)
        if outcome.status == THROTTLED:
            retry = max(1, int(outcome.retry_after + 0.999))
            raise SoapFault("Sender", ("ter:NotAuthorized",),
                            f"too many failed logins; retry after {retry} s", 429)
        if outcome.status != OK or outcome.user is None:
            reason = outcome.reason or problem
            text = "not authorized" + (f": {reason}" if reason in (
                "replay", "Created is outside the accepted time window",
                "Nonce and Created required", "only PasswordDigest is accepted") else "")
            raise SoapFault("Sender", ("ter:NotAuthorized",), text)
        # A web password still to be changed does not matter here: the ONVIF credential is
        # never a default or one-time secret (it is random and made per user, 5.1.3.1).
        user = outcome.user
        return Caller(user.username, user.role.value, source)


def login(procedure: LoginProcedure, username: str, source: str,
          verify: Callable[[User | None], Check], announce: bool,
          interface: str = INTERFACE) -> LoginOutcome:
    """The one login procedure (``AuthService.authenticate_now``), for an ONVIF interface."""
    return procedure.authenticate_now(username, source, interface, verify, announce=announce)
