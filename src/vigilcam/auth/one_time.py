"""One-time passwords: how an administrator hands a user a password, on any interface.

Owns issuing them, for the web API (``POST /api/v1/users``, ``.../reset-password``) and the CLI
(``vigilcam user add``, ``user reset-password``) alike: a fresh random secret
(``passwords.generate_secret``) that the user must replace at the next login, the sessions of a
reset user ended and their failed-login count forgotten, and the security event. Serves
IoT-1005-1 5.1.3.1 (no default password: each one random, per user, changed at first use),
5.1.2.1 (a reset ends the access the old password gave) and TAICS 5.2.8.1 (every issue is a
security event naming who issued it and from where).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from vigilcam.auth.accounts import AccountStore, User
from vigilcam.auth.passwords import generate_secret
from vigilcam.auth.permissions import Role
from vigilcam.platform.events import Event

__all__ = ["add_user", "reset_password"]


class _Sessions(Protocol):
    def end_all(self, username: str) -> int: ...


class _Throttle(Protocol):
    def reset_account(self, account: str) -> None: ...


Record = Callable[..., Any]


def add_user(accounts: AccountStore, record: Record, username: str, role: Role, *, by: str,
             source: str) -> tuple[User, str]:
    """A new account holding a one-time password; returns it with the password to hand
    over. Raises ``AccountError`` (clear message) for a taken or invalid name."""
    secret = generate_secret()
    user = accounts.add(username, role, secret, check_policy=False)
    record(Event.USER_ADDED, user=by, source=source, target=user.username, role=user.role.value)
    return user, secret


def reset_password(accounts: AccountStore, sessions: _Sessions, throttle: _Throttle,
                   record: Record, username: str, *, by: str, source: str) -> str:
    """Replace the user's password with a one-time one and end their sessions; returns it.
    Raises ``AccountError`` for an unknown user."""
    secret = generate_secret()
    accounts.set_one_time_password(username, secret)
    sessions.end_all(username)
    throttle.reset_account(username)
    record(Event.USER_PASSWORD_RESET, user=by, source=source, target=username)
    return secret
