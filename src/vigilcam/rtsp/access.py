"""Who may watch over RTSPS: authentication with stream credentials, throttling, permission.

Owns the order of an RTSPS credential check, the same as the web login's
(``vigilcam.auth.service``): throttle first (no credential is checked while throttled), then
verify, then record. Serves IoT-1005-1 5.1.2.2 (the shared ``device.throttle``), 5.1.1.3 (Digest
replay refused, see ``digest.py``), 5.8.1.1 / TAICS 5.2.8.1 (every outcome is an ``auth.login``
event with ``interface="rtsps"``; new sources and lockouts too) and 5.1.2.1 (the role must allow
``Permission.VIEW_LIVE``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vigilcam.auth.permissions import Permission, allowed
from vigilcam.auth.stream_credentials import StreamCredentials

from .digest import (
    AuthParseError,
    BasicAuth,
    DigestAuth,
    DigestVerifier,
    NonceStore,
    parse_authorization,
)
from .parser import RtspError, request_path

__all__ = ["AuthDecision", "RtspAuthenticator", "INTERFACE"]

INTERFACE = "rtsps"


@dataclass(frozen=True)
class AuthDecision:
    # "ok" | "challenge" (no credential yet) | "stale" | "denied" | "throttled" | "forbidden"
    status: str
    username: str | None = None
    retry_after: float = 0.0
    reason: str = ""


def _same_path(a: str, b: str) -> bool:
    try:
        return request_path(a).rstrip("/") == request_path(b).rstrip("/")
    except RtspError:
        return False


class RtspAuthenticator:
    """Judges the Authorization header of one request; records like the web login."""

    def __init__(
        self, device: Any, credentials: StreamCredentials, nonces: NonceStore,
        realm: str = "vigilcam",
    ) -> None:
        self.device = device
        self.credentials = credentials
        self.verifier = DigestVerifier(realm, nonces)
        self.nonces = nonces

    def challenges(self, binding: str, *, stale: bool = False) -> tuple[str, list[str]]:
        """(nonce, WWW-Authenticate values) for a 401 answer on connection ``binding``."""
        nonce = self.nonces.issue(binding)
        return nonce, self.verifier.challenges(nonce, stale=stale)

    def authenticate(
        self, header: str | None, method: str, uri: str, source: str, binding: str,
        *, already: str | None = None,
    ) -> AuthDecision:
        """Decide one request. ``already`` is the user this connection logged in as (its
        successful logins are recorded once per connection, not once per request)."""
        if header is None:
            return AuthDecision("challenge")
        try:
            auth = parse_authorization(header)
        except AuthParseError as exc:
            return self._failed("", source, reason=str(exc))
        username = auth.username[:64]
        verdict = self.device.throttle.check(username, source)
        if not verdict.allowed:
            # Not checked, so it costs the guesser time, not us CPU (5.1.2.2).
            self.device.record(
                "auth.login", result="failure", user=username, source=source,
                interface=INTERFACE, throttled=True, reason=verdict.reason,
            )
            return AuthDecision("throttled", username, verdict.retry_after, verdict.reason)
        user = self.device.accounts.get(username) if len(auth.username) <= 64 else None
        if isinstance(auth, BasicAuth):
            ok = self.credentials.check(username, auth.password)
            outcome = "ok" if ok else "bad"
        else:
            assert isinstance(auth, DigestAuth)
            secret = self.credentials.find(username)
            outcome = self.verifier.verify(
                auth, secret, method, uri, binding, uri_matches=_same_path
            )
        if outcome == "stale":
            return AuthDecision("stale", username)
        if outcome != "ok" or user is None or user.disabled:
            return self._failed(username, source, known_user=user is not None,
                                reason="replay" if outcome == "replay" else "")
        if already != user.username:
            self._succeeded(user.username, source)
        if not allowed(user.role, Permission.VIEW_LIVE):
            return AuthDecision("forbidden", user.username, reason="role may not view live video")
        return AuthDecision("ok", user.username)

    def credential_of(self, username: str) -> str | None:
        """The credential a viewer logged in with (kept to notice a rotation elsewhere)."""
        return self.credentials.find(username)

    def still_allowed(self, username: str, credential: str | None) -> bool:
        """Re-checked while a viewer plays: account enabled, role allowed, and the credential
        it logged in with neither rotated nor revoked (also by the CLI, another process)."""
        user = self.device.accounts.get(username)
        return (
            user is not None and not user.disabled
            and allowed(user.role, Permission.VIEW_LIVE)
            and credential is not None and self.credentials.unchanged(username, credential)
        )

    def _succeeded(self, username: str, source: str) -> None:
        self.device.throttle.success(username, source)
        new_source = self.device.accounts.remember_source(username, source)
        self.device.record("auth.login", user=username, source=source, interface=INTERFACE,
                           new_source=new_source)
        if new_source:
            self.device.record("auth.new_source", user=username, source=source,
                               interface=INTERFACE)

    def _failed(self, username: str, source: str, *, known_user: bool = False,
                reason: str = "") -> AuthDecision:
        crossed = self.device.throttle.failure(username, source)
        details: dict[str, Any] = {"known_user": known_user}
        if reason:
            details["reason"] = reason[:120]
        self.device.record("auth.login", result="failure", user=username, source=source,
                           interface=INTERFACE, **details)
        for threshold in crossed:
            if threshold in ("source_locked", "account_capped"):
                self.device.record("auth.lockout", result="failure", user=username,
                                   source=source, interface=INTERFACE, kind=threshold)
        return AuthDecision("denied", username or None, reason=reason)
