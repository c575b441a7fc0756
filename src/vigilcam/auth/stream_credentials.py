"""Per-user stream credentials for RTSPS: random, per user, in the vault, revocable.

Owns the secret a video client (ffmpeg, GStreamer, an NVR) presents to the RTSPS server.
Serves IoT-1005-1 5.1.3.1 (no default credential: each one is random and made per user on
request), 5.4.1.2 (stored only in the AES-256-GCM vault, never in config or logs), 5.1.2.1
(separate from the web password, so a leaked NVR configuration does not give the web admin
interface) and TAICS 5.2.8.1 (creation, rotation and revocation are security events).

Invariants:
- The credential is kept in clear inside the vault (Digest authentication, RFC 7616, needs the
  secret to compute the expected response); it never leaves the process except through
  :func:`stream_credential_command`, which an administrator runs on the device.
- :meth:`StreamCredentials.check` is constant-time in the secret and answers False for a user
  without a credential after the same amount of work.
- Only existing, enabled accounts get a credential; a disabled account's credential still
  exists but the RTSPS server refuses the account.
- The CLI (``vigilcam user stream-credential``) runs in another process than ``vigilcam run``:
  before every read or write the vault is re-opened when its file changed on disk, so a
  credential made or rotated by the CLI works at once and is not overwritten by a stale copy.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from typing import Any, Protocol

from vigilcam.platform.events import Event, Record

__all__ = [
    "CREDENTIAL_BYTES",
    "StreamCredentialError",
    "StreamCredentials",
    "stream_credential_command",
    "vault_name",
]

CREDENTIAL_BYTES = 24
"""192 bits from the OS CSPRNG, written as 32 URL-safe characters (usable in rtsps:// URLs)."""

_PREFIX = "stream_credential:"


class StreamCredentialError(Exception):
    """A refused stream-credential operation; the message is safe to show."""


class _Vault(Protocol):
    def find(self, name: str) -> bytes | None: ...
    def put(self, name: str, value: bytes) -> None: ...
    def delete(self, name: str) -> None: ...
    def names(self) -> list[str]: ...


class _User(Protocol):
    @property
    def disabled(self) -> bool: ...


class _Accounts(Protocol):
    def get(self, username: str) -> Any: ...


def vault_name(username: str) -> str:
    return f"{_PREFIX}{username}"


def _new_secret() -> str:
    return secrets.token_urlsafe(CREDENTIAL_BYTES)


class StreamCredentials:
    """Create, rotate, revoke and check stream credentials (one per user)."""

    PREFIX = _PREFIX
    CREATED = Event.STREAM_CREDENTIAL_CREATED
    ROTATED = Event.STREAM_CREDENTIAL_ROTATED
    REVOKED = Event.STREAM_CREDENTIAL_REVOKED

    def __init__(
        self, vault: _Vault, accounts: _Accounts, record: Record
    ) -> None:
        self._vault = vault
        self._accounts = accounts
        self._record = record
        self._listeners: list[Callable[[str], None]] = []
        # Compared against when a user has no credential, so "no credential" costs the same.
        self._dummy = _new_secret().encode()

    def on_change(self, listener: Callable[[str], None]) -> None:
        """``listener(username)`` runs after a rotation or revocation (edges cut sessions)."""
        self._listeners.append(listener)

    def off_change(self, listener: Callable[[str], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _name(self, username: str) -> str:
        return f"{self.PREFIX}{username}"

    def _require_user(self, username: str) -> None:
        user = self._accounts.get(username)
        if user is None:
            raise StreamCredentialError(f"no user named {username!r}")
        if user.disabled:
            raise StreamCredentialError(f"user {username!r} is disabled")

    def _notify(self, username: str) -> None:
        for listener in list(self._listeners):
            listener(username)

    def _event(self, action: Event, username: str, by: str | None) -> None:
        details = {"by": by} if by else {}
        self._record(action, user=username, **details)

    def find(self, username: str) -> str | None:
        """The current credential (for Digest verification), or None."""
        if len(username) > 64:
            return None
        value = self._vault.find(self._name(username))
        return value.decode() if value is not None else None

    def get_or_create(self, username: str, *, by: str | None = None) -> str:
        """The user's credential, made on first request."""
        current = self.find(username)
        if current is not None:
            return current
        self._require_user(username)
        secret = _new_secret()
        self._vault.put(self._name(username), secret.encode())
        self._event(self.CREATED, username, by)
        return secret

    def rotate(self, username: str, *, by: str | None = None) -> str:
        """Replace the credential; the old one stops working at once."""
        self._require_user(username)
        secret = _new_secret()
        self._vault.put(self._name(username), secret.encode())
        self._event(self.ROTATED, username, by)
        self._notify(username)
        return secret

    def revoke(self, username: str, *, by: str | None = None) -> bool:
        """Delete the credential; True when there was one."""
        if self.find(username) is None:
            return False
        self._vault.delete(self._name(username))
        self._event(self.REVOKED, username, by)
        self._notify(username)
        return True

    def erase_all(self) -> int:
        """Delete every user's credential of this kind (the owner's erase, IoT-1005-1
        5.7.1.1); returns how many there were. No event per user: the erase records one."""
        names = [n for n in self._vault.names() if n.startswith(self.PREFIX)]
        for name in names:
            self._vault.delete(name)
        return len(names)

    def unchanged(self, username: str, secret: str) -> bool:
        """True while ``secret`` is still the user's credential (not rotated or revoked)."""
        return self.check(username, secret)

    def check(self, username: str, secret: str) -> bool:
        """Constant-time comparison of ``secret`` with the user's credential."""
        stored = self.find(username)
        given = secret.encode("utf-8", "surrogateescape")[:256]
        if stored is None:
            hmac.compare_digest(given, self._dummy)
            return False
        return hmac.compare_digest(given, stored.encode())


def stream_credential_command(creds: StreamCredentials, name: str, rotate: bool = False) -> str:
    """What ``vigilcam user stream-credential NAME [--rotate]`` prints: the credential.

    Raises :class:`StreamCredentialError` (clear message) for an unknown or disabled user.
    """
    if rotate:
        return creds.rotate(name, by="cli")
    return creds.get_or_create(name, by="cli")
