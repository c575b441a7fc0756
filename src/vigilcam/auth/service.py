"""The one login procedure: reserve, verify, record. Every interface goes through it.

Owns the order of a credential check for the web login, the password change, RTSPS Basic and
Digest, ONVIF WS-Security and any later interface: each passes its own ``verify`` (how its
credential is checked) and nothing else. Serves IoT-1005-1 5.1.2.2 (throttled before any
credential is checked, concurrent attempts included), 5.1.3.1 (a restricted session until the
setup secret or a reset password is replaced), 5.8.1.1 (failed logins, lockouts and logins from
new sources become security events, which the alert service turns into alerts) and
TAICS 5.2.8.1 (every outcome logged with user, source, interface and time).

Invariants:
- A throttle slot is reserved (counted) before ``verify`` runs and settled after it: in-flight
  attempts count, so 500 concurrent guesses get no more checks than 500 sequential ones.
- A refused (throttled) attempt runs no ``verify`` at all: it costs the guesser time, not us CPU.
- Unknown and disabled users run ``verify`` too (with ``user=None`` or the disabled user), so
  the answer and its timing do not tell which names exist.
- Failed and throttled attempts are recorded through :class:`FailureLog` (a flood becomes a
  count); successes, new sources and lockouts are recorded one by one.
- A password that verifies under old Argon2 parameters is re-hashed with today's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from vigilcam.auth.accounts import AccountError, AccountStore, User
from vigilcam.auth.failure_log import FailureLog
from vigilcam.auth.passwords import PasswordHasher
from vigilcam.auth.sessions import Session, SessionStore
from vigilcam.auth.throttle import LoginThrottle, Reservation, Verdict
from vigilcam.platform.events import Event, Record

Recorder = Record

OK, DENIED, THROTTLED, VOID = "ok", "denied", "throttled", "void"
MAX_USERNAME = 64
MAX_PASSWORD = 1024

Check = bool | str
"""What a ``verify`` answers: True (the credential is right), False (wrong), or a reason why it
is wrong as a short string (e.g. "replay"), or ``VOID`` when the attempt was no guess at all
(a stale Digest nonce: the client retries with a fresh one, nothing is counted)."""


@dataclass(frozen=True)
class LoginOutcome:
    status: str  # OK | DENIED | THROTTLED | VOID
    user: User | None = None
    retry_after: float = 0.0
    reason: str = ""


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
        failures: FailureLog | None = None,
    ) -> None:
        self.accounts = accounts
        self.sessions = sessions
        self.throttle = throttle
        self.hasher = hasher
        self.record = record
        self.failures = failures or FailureLog(record)

    # -- the procedure ----------------------------------------------------------------------

    def _begin(self, username: str, source: str, interface: str
               ) -> tuple[Reservation | None, LoginOutcome | None, User | None]:
        name = username[:MAX_USERNAME]
        slot = self.throttle.reserve(name, source)
        if isinstance(slot, Verdict):
            self.failures.failed(user=name, source=source, interface=interface, throttled=True,
                                 reason=slot.reason)
            return None, LoginOutcome(THROTTLED, None, slot.retry_after, slot.reason), None
        user = self.accounts.get(name) if len(username) <= MAX_USERNAME else None
        return slot, None, user

    def _finish(self, slot: Reservation, username: str, user: User | None, check: Check,
                source: str, interface: str, announce: bool = True) -> LoginOutcome:
        name = username[:MAX_USERNAME]
        if check == VOID:
            self.throttle.settle(slot, "void")
            return LoginOutcome(VOID, None)
        if check is True and user is not None and not user.disabled:
            self.throttle.settle(slot, "ok")
            if not announce:
                return LoginOutcome(OK, user)
            new_source = self.accounts.remember_source(user.username, source)
            self.record(Event.AUTH_LOGIN, user=user.username, source=source, interface=interface,
                        new_source=new_source)
            if new_source:
                self.record(Event.AUTH_NEW_SOURCE, user=user.username, source=source,
                            interface=interface)
            return LoginOutcome(OK, user)
        self.throttle.settle(slot, "failed")
        reason = check if isinstance(check, str) else ""
        self.failures.failed(user=name, source=source, interface=interface, reason=reason,
                             known_user=user is not None)
        for threshold in slot.crossed:
            if threshold in ("source_locked", "account_capped"):
                self.record(Event.AUTH_LOCKOUT, result="failure", user=name, source=source,
                            interface=interface, kind=threshold)
        return LoginOutcome(DENIED, None, reason=reason)

    async def authenticate(
        self, username: str, source: str, interface: str,
        verify: Callable[[User | None], Awaitable[Check]],
    ) -> LoginOutcome:
        """The login procedure for a credential whose check may take time (Argon2)."""
        slot, refused, user = self._begin(username, source, interface)
        if slot is None:
            assert refused is not None
            return refused
        try:
            check = await verify(user)
        except BaseException:
            self.throttle.settle(slot, "failed")  # a cancelled guess still counts
            raise
        return self._finish(slot, username, user, check, source, interface)

    def authenticate_now(
        self, username: str, source: str, interface: str, verify: Callable[[User | None], Check],
        *, announce: bool = True,
    ) -> LoginOutcome:
        """The same procedure for a credential checked at once (Digest, constant-time compare).
        ``announce=False``: a protocol that repeats the credential on every request of one
        connection (RTSP) records the connection's login once, not once per request."""
        slot, refused, user = self._begin(username, source, interface)
        if slot is None:
            assert refused is not None
            return refused
        try:
            check = verify(user)
        except BaseException:
            self.throttle.settle(slot, "failed")
            raise
        return self._finish(slot, username, user, check, source, interface, announce)

    # -- passwords --------------------------------------------------------------------------

    async def check_password(
        self, username: str, password: str, source: str, interface: str
    ) -> tuple[str, User | None, float]:
        """The procedure with the account password (Argon2id). Returns (status, user,
        retry_after)."""
        async def verify(user: User | None) -> Check:
            if len(password) > MAX_PASSWORD:
                return "too long"
            stored = self.accounts.stored_hash(user.username) if user is not None else None
            ok = await self.hasher.verify_async(stored, password)
            if ok and stored is not None and self.hasher.needs_rehash(stored):
                assert user is not None
                self.accounts.upgrade_hash(user.username, stored,
                                           await self.hasher.hash_async(password))
            return ok

        outcome = await self.authenticate(username, source, interface, verify)
        status = DENIED if outcome.status == VOID else outcome.status
        return status, outcome.user, outcome.retry_after

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
        self.record(Event.AUTH_PASSWORD_CHANGED, user=user.username, source=source)
        return cookie, fresh
