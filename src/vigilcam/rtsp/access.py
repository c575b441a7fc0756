"""Who may watch over RTSPS: authentication with stream credentials, throttling, permission.

Owns how an RTSPS Authorization header is read and which secret it is checked against; the
order of the check (reserve a throttle slot, verify, record) is the one login procedure of
``vigilcam.auth.service``, the same as the web login's. Serves IoT-1005-1 5.1.2.2 (the shared
throttle), 5.1.1.3 (Digest replay refused, see ``digest.py``), 5.8.1.1 / TAICS 5.2.8.1 (every
outcome is recorded with ``interface="rtsps"``) and 5.1.2.1 (the role must allow
``Permission.VIEW_LIVE``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vigilcam.auth.digest import (
    AuthParseError,
    BasicAuth,
    DigestVerifier,
    NonceStore,
    parse_authorization,
)
from vigilcam.auth.permissions import Permission, allowed
from vigilcam.auth.service import OK, THROTTLED, VOID, Check
from vigilcam.auth.stream_credentials import StreamCredentials

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
    credential: str | None = field(default=None, repr=False)  # the secret that verified


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
        self.login = device.auth
        self.credentials = credentials
        # Home Assistant puts the user's ONVIF credential into the stream URI it got from
        # GetStreamUri, so a viewer's ONVIF credential opens RTSPS too (same role check).
        self.onvif = device.services.onvif_credentials
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

        matched: list[str] = []

        def verify(user: Any) -> Check:
            stores = (self.credentials, self.onvif)
            if isinstance(auth, BasicAuth):
                hits = [store.check(username, auth.password) for store in stores]
                matched.extend([auth.password] if any(hits) else [])
                return any(hits)
            outcome = "bad"
            for store in stores:
                secret = store.find(username)
                outcome = self.verifier.verify(auth, secret, method, uri, binding,
                                               uri_matches=_same_path)
                if outcome != "bad":
                    matched.extend([secret] if secret is not None else [])
                    break
            answers: dict[str, Check] = {"ok": True, "stale": VOID, "replay": "replay"}
            return answers.get(outcome, False)

        result = self.login.authenticate_now(auth.username, source, INTERFACE, verify,
                                             announce=already != username)
        if result.status == THROTTLED:
            return AuthDecision("throttled", username, result.retry_after, result.reason)
        if result.status == VOID:
            return AuthDecision("stale", username)
        if result.status != OK or result.user is None:
            return AuthDecision("denied", username or None, reason=result.reason)
        user = result.user
        if not allowed(user.role, Permission.VIEW_LIVE):
            return AuthDecision("forbidden", user.username, reason="role may not view live video")
        return AuthDecision("ok", user.username, credential=matched[0] if matched else None)

    def credential_of(self, username: str) -> str | None:
        """The credential a viewer logged in with (kept to notice a rotation elsewhere)."""
        return self.credentials.find(username)

    def _failed(self, username: str, source: str, *, reason: str = "") -> AuthDecision:
        """A header that does not even parse: counted and recorded like a wrong password."""
        result = self.login.authenticate_now(username, source, INTERFACE,
                                             lambda user: reason or False)
        if result.status == THROTTLED:
            return AuthDecision("throttled", username or None, result.retry_after, result.reason)
        return AuthDecision("denied", username or None, reason=reason)
