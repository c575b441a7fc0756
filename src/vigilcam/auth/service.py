"""The login decision: throttle, check, record, open a session.

Owns the order of a credential check, shared by every interface (web, RTSPS, CLI). Serves
IoT-1005-1 5.1.2.2 (throttled before any password check), 5.1.3.1 (a restricted session until
the setup secret or a reset password is replaced), 5.8.1.1 (failed logins, lockouts and logins
from new sources become security events, which the alert service turns into alerts) and
TAICS 5.2.8.1 (every outcome logged with user, source and time).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from vigilcam.auth.accounts import AccountError, AccountStore, User
from vigilcam.auth.passwords import PasswordHasher
from vigilcam.auth.sessions import Session, SessionStore
from vigilcam.auth.throttle import LoginThrottle

Recorder = Callable[..., Any]


@dataclass(frozen=True)
class LoginResult:
    status: str  # "ok" | "denied" | "throttled"
    user: User | None = None
    retry_after: float = 0.0
    cookie: str | None = None
    session: Session | None = None


class AuthService:
    def __init__(
        self,
        accounts: AccountStore,
        sessions: SessionStore,
        throttle: LoginThrottle,
        hasher: PasswordHasher,
        record: Recorder,
    ) -> None:
        self.accounts = accounts
        self.sessions = sessions
        self.throttle = throttle
        self.hasher = hasher
        self.record = record

    async def check_password(
        self, username: str, password: str, source: str, interface: str
    ) -> tuple[str, User | None, float]:
        """Throttle, verify, log. Returns (status, user, retry_after)."""
        verdict = self.throttle.check(username, source)
        if not verdict.allowed:
            return "throttled", None, verdict.retry_after
        if len(username) > 64 or len(password) > 1024:
            ok, user = False, None
        else:
            user = self.accounts.get(username)
            ok = await self.hasher.verify_async(self.accounts.stored_hash(username), password)
        if ok and user is not None and not user.disabled:
            self.throttle.success(username, source)
            new_source = self.accounts.remember_source(user.username, source)
            self.record(
                "auth.login", user=user.username, source=source, interface=interface,
                new_source=new_source,
            )
            if new_source:
                self.record(
                    "auth.new_source", user=user.username, source=source, interface=interface
                )
            return "ok", user, 0.0
        crossed = self.throttle.failure(username, source)
        self.record(
            "auth.login", result="failure", user=username[:64], source=source,
            interface=interface, known_user=user is not None,
        )
        for threshold in crossed:
            if threshold in ("source_locked", "account_capped"):
                self.record(
                    "auth.lockout", result="failure", user=username[:64], source=source,
                    interface=interface, kind=threshold,
                )
        return "denied", None, 0.0

    async def login(self, username: str, password: str, source: str) -> LoginResult:
        status, user, retry_after = await self.check_password(username, password, source, "web")
        if status != "ok" or user is None:
            return LoginResult(status, retry_after=retry_after)
        cookie, session = self.sessions.create(user.username, source, restricted=user.must_change)
        return LoginResult("ok", user, cookie=cookie, session=session)

    async def change_password(
        self, session: Session, current: str, new: str, source: str
    ) -> tuple[str, Session]:
        """Change own password; rotate the session (privilege change) and end the others."""
        status, user, _ = await self.check_password(
            session.username, current, source, "web-password-change"
        )
        if status != "ok" or user is None:
            raise AccountError("the current password is not correct")
        if new == current:
            raise AccountError("the new password must differ from the current one")
        self.accounts.check_password(user.username, new)
        new_hash = await self.hasher.hash_async(new)
        self.accounts.store_hash(user.username, new_hash, False)
        self.sessions.end_all(user.username)
        cookie, fresh = self.sessions.create(user.username, source, restricted=False)
        self.record("auth.password_changed", user=user.username, source=source)
        return cookie, fresh
