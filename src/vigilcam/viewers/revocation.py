"""May this viewer still watch? The one home of that decision, and the watcher that applies it.

Owns ending open streams whose grant is gone. Serves IoT-1005-1 5.1.2.1 (roles are enforced for
the whole life of a stream, not only when it starts) and TAICS 5.5.1.1 (the owner decides who
watches: a change of who may watch reaches every open viewer, and the security log says why).

Invariants:
- Every edge that streams video (web live over WSS, RTSPS, playback, export) opens its viewing
  session with an :class:`Admission`: the user, the permission the stream needs, the credential
  it was let in with (a web session, an API token or a stream credential), and the user's role
  and password-change time at that moment.
- :func:`verdict` is the decision, pure: given the :class:`Facts` read now, a stream continues
  only while the account exists and is enabled, its role still holds the permission, its
  password has not changed (a change or an administrator's reset), and its credential still
  exists (a logout, "log out everywhere", a role change, which ends web sessions, a revoked
  token, a rotated or revoked stream credential). Privacy mode is the registry's own rule
  (``ViewerRegistry.set_privacy``).
- Revocation reaches every open stream within ``REVOCATION_BOUND_S``: changes made in this
  process are pushed (the watcher subscribes to the security log; an account, session, token or
  credential event wakes it on the next loop turn, after the handler that made the change has
  finished its synchronous work); changes made by another process (``vigilcam user disable``)
  are seen by polling two cheap change markers every ``poll_s``: SQLite's ``data_version`` of the
  accounts database (it moves only on another connection's commit) and the vault file's stat.
  A full sweep every ``sweep_s`` catches time-outs (a session's absolute time-out, a token's
  expiry).
- A revoked viewer is ended through ``ViewerRegistry.revoke``: the edge's close callback cuts
  the stream, and ``video.view_revoked`` (user, interface, reason) and ``video.view_ended``
  record it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from vigilcam.auth.permissions import Permission, Role, allowed
from vigilcam.platform.events import Event
from vigilcam.viewers.registry import ViewerRegistry, ViewingSession

__all__ = [
    "REVOCATION_BOUND_S",
    "Admission",
    "Facts",
    "AccountFacts",
    "RevocationWatcher",
    "admit",
    "verdict",
]

log = logging.getLogger(__name__)

REVOCATION_BOUND_S = 1.0
"""How long an open stream may outlive the change that withdrew its grant."""

CredentialKind = Literal["session", "token", "stream-credential"]

# Security events after which a grant may be gone (the watcher re-checks every open viewer).
_TRIGGER_ACTIONS: frozenset[str] = frozenset({
    Event.USER_ADDED, Event.USER_DISABLED, Event.USER_ENABLED, Event.USER_PASSWORD_RESET,
    Event.USER_ROLE_CHANGED, Event.TOKEN_CREATED, Event.TOKEN_REVOKED,
    Event.STREAM_CREDENTIAL_CREATED, Event.STREAM_CREDENTIAL_ROTATED,
    Event.STREAM_CREDENTIAL_REVOKED, Event.ONVIF_CREDENTIAL_CREATED,
    Event.ONVIF_CREDENTIAL_ROTATED, Event.ONVIF_CREDENTIAL_REVOKED,
    Event.AUTH_PASSWORD_CHANGED, Event.AUTH_LOGOUT, Event.AUTH_LOGOUT_ALL,
    Event.PRIVACY_ERASED, Event.DEVICE_FACTORY_RESET,
})


def triggers_check(action: str) -> bool:
    """Is ``action`` an event after which some viewer's grant may be gone?"""
    return action in _TRIGGER_ACTIONS


@dataclass(frozen=True)
class Admission:
    """What a viewer was let in with; compared with the facts while it watches."""

    user: str
    permission: Permission
    role: Role
    password_changed: float
    credential: CredentialKind
    # The session's id hash, the token's id, or the stream credential itself (never shown).
    reference: str = field(repr=False)


@dataclass(frozen=True)
class Facts:
    """The current state of an admission's account and credential."""

    exists: bool
    disabled: bool = False
    role: Role | None = None
    password_changed: float = 0.0
    credential_alive: bool = False


def verdict(admission: Admission, facts: Facts) -> str | None:
    """None while the viewer may keep watching, else why not (shown and logged)."""
    if not facts.exists:
        return "account deleted"
    if facts.disabled:
        return "account disabled"
    if not allowed(facts.role, admission.permission):
        return f"role {facts.role} may not {admission.permission.value.replace('_', ' ')}"
    if facts.password_changed != admission.password_changed:
        return "password changed"
    if not facts.credential_alive:
        if admission.credential == "session":
            return "role changed" if facts.role != admission.role else "session ended"
        if admission.credential == "token":
            return "API token revoked or expired"
        return "stream credential rotated or revoked"
    return None


class _User(Protocol):
    @property
    def role(self) -> Role: ...
    @property
    def disabled(self) -> bool: ...
    @property
    def password_changed(self) -> float: ...


class _Accounts(Protocol):
    def get(self, username: str) -> Any: ...


class _Sessions(Protocol):
    def alive(self, id_hash: str) -> bool: ...
    def token_alive(self, token_id: str) -> bool: ...


class _StreamCredentials(Protocol):
    def unchanged(self, username: str, secret: str) -> bool: ...


def admit(accounts: _Accounts, username: str, permission: Permission,
          credential: CredentialKind, reference: str) -> Admission | None:
    """The admission of a viewer starting now (None when the account is gone)."""
    user: _User | None = accounts.get(username)
    if user is None:
        return None
    return Admission(username, permission, user.role, user.password_changed, credential,
                     reference)


class AccountFacts:
    """Reads the facts of admissions from the accounts, sessions and stream credentials."""

    def __init__(self, accounts: _Accounts, sessions: _Sessions,
                 credentials: Callable[[], _StreamCredentials]) -> None:
        self._accounts = accounts
        self._sessions = sessions
        self._credentials = credentials

    def read(self, admission: Admission) -> Facts:
        user: _User | None = self._accounts.get(admission.user)
        if user is None:
            return Facts(exists=False)
        if admission.credential == "session":
            alive = self._sessions.alive(admission.reference)
        elif admission.credential == "token":
            alive = self._sessions.token_alive(admission.reference)
        else:
            alive = self._credentials().unchanged(admission.user, admission.reference)
        return Facts(True, user.disabled, user.role, user.password_changed, alive)


class _FactsReader(Protocol):
    def read(self, admission: Admission) -> Facts: ...


def file_marker(path: Path) -> Hashable:
    """A cheap marker of a file's content: changes when it is replaced or rewritten."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


class RevocationWatcher:
    """Applies :func:`verdict` to every open viewer: on push, on a change marker, periodically.

    ``notice`` is a security-log subscriber (any thread); ``sweep`` is the check itself (any
    thread; it runs off the event loop, since reading the vault may take a while); ``start`` /
    ``stop`` run the loop that waits for either.
    """

    def __init__(self, viewers: ViewerRegistry, facts: _FactsReader,
                 marker: Callable[[], Hashable], *, poll_s: float = 0.2,
                 sweep_s: float = 5.0) -> None:
        self.viewers = viewers
        self.facts = facts
        self.marker = marker
        self.poll_s = poll_s
        self.sweep_s = sweep_s
        self.sweeps = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    def sweep(self) -> list[tuple[ViewingSession, str]]:
        """Check every open viewer now; revoke those that may no longer watch."""
        self.sweeps += 1
        revoked = []
        for session in self.viewers.list():
            admission = session.admission
            if not isinstance(admission, Admission):
                continue  # one-shot or edge without a grant to re-check
            try:
                reason = verdict(admission, self.facts.read(admission))
                if reason is not None and self.viewers.revoke(session, reason):
                    revoked.append((session, reason))
            except Exception:  # one broken viewer or read must not shield the others
                log.exception("revocation check of viewer %s failed", session.id)
        return revoked

    def notice(self, event: Any, persisted: bool = True) -> None:
        """Security-log subscriber: an account or credential event wakes the watcher."""
        loop, wake = self._loop, self._wake
        if loop is None or wake is None or not triggers_check(str(event.action)):
            return
        with contextlib.suppress(RuntimeError):  # the loop is closing
            loop.call_soon_threadsafe(wake.set)

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name="revocation-watcher")

    async def stop(self) -> None:
        task, self._task = self._task, None
        self._loop = None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        assert self._wake is not None
        wake = self._wake
        last = await asyncio.to_thread(self.marker)
        next_sweep = time.monotonic() + self.sweep_s
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), self.poll_s)
            pushed = wake.is_set()
            wake.clear()
            if not self.viewers.list():
                last = await asyncio.to_thread(self.marker)
                continue
            now_marker = await asyncio.to_thread(self.marker)
            now = time.monotonic()
            if pushed or now_marker != last or now >= next_sweep:
                last, next_sweep = now_marker, now + self.sweep_s
                try:
                    await asyncio.to_thread(self.sweep)
                except Exception:  # never stop watching: log and try again at the next turn
                    log.exception("revocation sweep failed")
