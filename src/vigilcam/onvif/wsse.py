"""WS-Security UsernameToken with PasswordDigest: parsing, freshness, digest and replay cache.

Owns how an ONVIF request proves who sent it. Pure: no sockets, an injected clock. Serves
IoT-1005-1 5.1.1.3 (authentication that resists replay) and 5.4.2.2 (no clear password on the
wire even inside TLS: only PasswordDigest is accepted).

The check, step by step (OASIS WSS UsernameToken Profile 1.1, 3.1; ONVIF Core 5.12):
1. The Security header must carry Username, Password of type ``#PasswordDigest``, a Nonce
   (base64, 16..64 bytes) and Created. Missing any of them: refused (a bare password or a token
   without nonce or time could be replayed for ever).
2. Created (``...Z`` or ``...+00:00``, any offset) must lie within ``window`` seconds of the
   device clock, either side. It is hashed exactly as sent.
3. ``Base64(SHA-1(nonce + created + credential))`` is compared in constant time with the sent
   digest. SHA-1 is fixed by the profile; the credential is a random 192-bit secret, so the
   digest is not a password-guessing oracle beyond what the shared throttle allows.
4. Only after the digest verified is (user, nonce) entered in :class:`ReplayCache`; a second
   request with a remembered (user, nonce) is a replay and refused. Entries live ``2 *
   window`` seconds, longer than any Created that step 2 would still accept, so a captured
   envelope is useless either because its nonce is remembered or because its Created is stale.
   Unverified garbage never enters the cache, so it cannot burn a client's nonce.

A client's retry after a dropped keep-alive connection (onvif-zeep-async resends the same
envelope once when the server closed the pooled socket before the request was written) is
not a replay: the first attempt never reached the server, so its nonce was never counted. The
HTTPS listener keeps idle connections 30 s, longer than the clients' 4 s, so the server does
not close a socket the client still considers alive; a request that did reach the server is
answered on its connection, and an identical second copy of it is refused as a replay.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
import xml.etree.ElementTree as ET  # noqa: S405 - types only; parsing is in soap.py
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from .soap import NS

__all__ = [
    "DIGEST_TYPE_URI",
    "ReplayCache",
    "TokenError",
    "UsernameToken",
    "digest_of",
    "parse_created",
    "parse_token",
    "verify_digest",
]

DIGEST_TYPE_URI = (
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
    "#PasswordDigest"
)
_MIN_NONCE, _MAX_NONCE = 16, 64


class TokenError(ValueError):
    """The UsernameToken is missing, malformed or not fresh; the message is safe to show."""


@dataclass(frozen=True)
class UsernameToken:
    username: str
    digest: bytes = field(repr=False)
    nonce: bytes
    created: str  # as sent: it is hashed in this exact form
    created_at: datetime


def parse_created(text: str) -> datetime:
    """An xs:dateTime with a time zone (``Z`` or ``+hh:mm``); naive times are refused."""
    value = text.strip()
    if not value or len(value) > 40:
        raise TokenError("malformed Created")
    iso = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
    try:
        parsed = datetime.fromisoformat(iso)
    except ValueError:
        raise TokenError("malformed Created") from None
    if parsed.tzinfo is None:
        raise TokenError("Created must carry a time zone")
    return parsed.astimezone(UTC)


def parse_token(security: ET.Element | None) -> UsernameToken:
    """Step 1: a complete PasswordDigest UsernameToken or :class:`TokenError`."""
    if security is None:
        raise TokenError("WS-Security UsernameToken required")
    tokens = security.findall(f"{{{NS['wsse']}}}UsernameToken")
    if len(tokens) != 1:
        raise TokenError("exactly one UsernameToken required")
    tok = tokens[0]
    user = tok.find(f"{{{NS['wsse']}}}Username")
    password = tok.find(f"{{{NS['wsse']}}}Password")
    nonce = tok.find(f"{{{NS['wsse']}}}Nonce")
    created = tok.find(f"{{{NS['wsu']}}}Created")
    if created is None:  # some clients put Created in the wsse namespace
        created = tok.find(f"{{{NS['wsse']}}}Created")
    if user is None or password is None:
        raise TokenError("Username and Password required")
    if password.get("Type", "").strip() != DIGEST_TYPE_URI:
        raise TokenError("only PasswordDigest is accepted")
    if nonce is None or created is None:
        raise TokenError("Nonce and Created required")
    username = (user.text or "").strip()
    if not username or len(username) > 64:
        raise TokenError("malformed Username")
    try:
        digest = base64.b64decode((password.text or "").strip(), validate=True)
        nonce_raw = base64.b64decode((nonce.text or "").strip(), validate=True)
    except (binascii.Error, ValueError):
        raise TokenError("Password digest and Nonce must be base64") from None
    if len(digest) != 20:
        raise TokenError("malformed Password digest")
    if not _MIN_NONCE <= len(nonce_raw) <= _MAX_NONCE:
        raise TokenError("Nonce must be 16 to 64 bytes")
    created_text = (created.text or "").strip()
    return UsernameToken(username, digest, nonce_raw, created_text, parse_created(created_text))


def check_fresh(token: UsernameToken, now: float, window: float) -> None:
    """Step 2: Created within ``window`` seconds of ``now`` (either side)."""
    skew = token.created_at.timestamp() - now
    if abs(skew) > window:
        raise TokenError("Created is outside the accepted time window")


def digest_of(nonce: bytes, created: str, secret: str) -> bytes:
    # SHA-1 is what the UsernameToken Profile fixes; see step 3 above for why it suffices.
    return hashlib.sha1(nonce + created.encode() + secret.encode()).digest()  # noqa: S324


_DUMMY = secrets.token_urlsafe(24)


def verify_digest(token: UsernameToken, secret: str | None) -> bool:
    """Step 3, constant time; the same work for a user without a credential."""
    expected = digest_of(token.nonce, token.created, secret if secret is not None else _DUMMY)
    return hmac.compare_digest(expected, token.digest) and secret is not None


class ReplayCache:
    """Step 4: every (user, nonce) seen with a verified digest, for ``2 * window`` seconds.

    Bounded per user: a user who fills their share inside one window (``per_user`` verified
    requests, far above any client's rate) is refused until entries expire, rather than old
    entries being forgotten early, which would reopen replay.
    """

    def __init__(
        self, window: float, *, per_user: int = 20_000, clock: Callable[[], float] = time.time
    ) -> None:
        self.ttl = 2.0 * window
        self.per_user = per_user
        self.clock = clock
        self._seen: OrderedDict[tuple[str, bytes], float] = OrderedDict()
        self._count: dict[str, int] = {}

    def _expire(self, now: float) -> None:
        while self._seen:
            key, expires = next(iter(self._seen.items()))
            if expires > now:
                break
            self._seen.popitem(last=False)
            left = self._count.get(key[0], 1) - 1
            if left:
                self._count[key[0]] = left
            else:
                self._count.pop(key[0], None)

    def seen(self, username: str, nonce: bytes) -> bool:
        self._expire(self.clock())
        return (username, nonce) in self._seen

    def remember(self, username: str, nonce: bytes) -> str:
        """``"ok"``; ``"replay"`` when already remembered; ``"full"`` when the user's share is
        used up. Atomic within one event loop (no await between check and insert)."""
        now = self.clock()
        self._expire(now)
        key = (username, nonce)
        if key in self._seen:
            return "replay"
        if self._count.get(username, 0) >= self.per_user:
            return "full"
        self._seen[key] = now + self.ttl
        self._count[username] = self._count.get(username, 0) + 1
        return "ok"

    def __len__(self) -> int:
        return len(self._seen)
