"""Login sessions, CSRF tokens, request nonces and scoped API tokens.

Serves IoT-1005-1 5.1.1.3 (authentication resists replay): session IDs are 256-bit random
values stored only as SHA-256 hashes, sent in a ``__Host-`` cookie (Secure, HttpOnly,
SameSite=Strict) over TLS only; every state-changing request must carry the session's CSRF
token and a fresh single-use request nonce, so a captured request replayed later is refused;
sessions end on idle and absolute timeouts and are rotated at login and on privilege change.
API tokens for machine clients are scoped to permissions and stored hashed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass

from vigilcam.auth.permissions import Permission, Role
from vigilcam.platform.config import SessionSettings
from vigilcam.platform.db import Database

COOKIE_NAME = "__Host-vigilcam"
TOKEN_PREFIX = "vct_"
NONCE_MEMORY = 1024
"""Spent request nonces remembered per session (its newest ones)."""
NONCE_SESSIONS = 512
"""Sessions whose spent nonces are remembered; one user's traffic cannot push out another's."""
NONCE_MIN_LENGTH = 16

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id_hash TEXT PRIMARY KEY,
    username TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
    csrf TEXT NOT NULL,
    created REAL NOT NULL,
    last_seen REAL NOT NULL,
    source TEXT NOT NULL,
    restricted INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS api_tokens (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    username TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
    label TEXT NOT NULL,
    scopes TEXT NOT NULL,
    created REAL NOT NULL,
    expires REAL NOT NULL
);
"""


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True)
class Session:
    id_hash: str
    username: str
    csrf: str
    created: float
    last_seen: float
    source: str
    restricted: bool  # True until the forced password change is done (5.1.3.1)


@dataclass(frozen=True)
class ApiToken:
    id: str
    username: str
    label: str
    scopes: frozenset[Permission]
    created: float
    expires: float


class SessionStore:
    def __init__(self, db: Database, settings: SessionSettings) -> None:
        self.db = db
        self.settings = settings
        self._nonces: OrderedDict[str, OrderedDict[str, None]] = OrderedDict()

    def create(self, username: str, source: str, *, restricted: bool) -> tuple[str, Session]:
        """A new session; returns the raw cookie value (shown once) and the record."""
        raw = secrets.token_urlsafe(32)
        now = time.time()
        session = Session(
            _digest(raw), username, secrets.token_urlsafe(32), now, now, source, restricted
        )
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO sessions VALUES (?, ?, ?, ?, ?, ?, ?)",
                (session.id_hash, username, session.csrf, now, now, source, int(restricted)),
            )
        return raw, session

    def lookup(self, raw: str | None) -> Session | None:
        if not raw or len(raw) > 128:
            return None
        rows = self.db.query("SELECT * FROM sessions WHERE id_hash = ?", (_digest(raw),))
        if not rows:
            return None
        r = rows[0]
        now = time.time()
        if (
            now - r["last_seen"] > self.settings.idle_timeout_s
            or now - r["created"] > self.settings.absolute_timeout_s
        ):
            self.end(r["id_hash"])
            return None
        if now - r["last_seen"] > 30:
            with self.db.transaction() as conn:
                conn.execute(
                    "UPDATE sessions SET last_seen = ? WHERE id_hash = ?", (now, r["id_hash"])
                )
        return Session(
            r["id_hash"], r["username"], r["csrf"], r["created"], now, r["source"],
            bool(r["restricted"]),
        )

    def alive(self, id_hash: str) -> bool:
        """The session still exists and is within its absolute time-out (re-checked while a
        stream opened with it runs; a running stream counts as activity, so no idle time-out)."""
        rows = self.db.query("SELECT created FROM sessions WHERE id_hash = ?", (id_hash,))
        return bool(rows) and time.time() - rows[0]["created"] <= self.settings.absolute_timeout_s

    def end(self, id_hash: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM sessions WHERE id_hash = ?", (id_hash,))

    def counts(self) -> dict[str, int]:
        """How many sessions and API tokens are stored (data inventory)."""
        rows = self.db.query("SELECT (SELECT COUNT(*) FROM sessions) AS sessions, "
                             "(SELECT COUNT(*) FROM api_tokens) AS api_tokens")
        return {"sessions": int(rows[0]["sessions"]), "api_tokens": int(rows[0]["api_tokens"])}

    def erase_all(self) -> dict[str, int]:
        """Delete every session and API token (the owner's erase, IoT-1005-1 5.7.1.1);
        returns how many of each there were."""
        with self.db.transaction() as conn:
            return {"sessions": int(conn.execute("DELETE FROM sessions").rowcount),
                    "api_tokens": int(conn.execute("DELETE FROM api_tokens").rowcount)}

    def end_all(self, username: str) -> int:
        with self.db.transaction() as conn:
            return conn.execute("DELETE FROM sessions WHERE username = ?", (username,)).rowcount

    def list_for(self, username: str | None = None) -> list[Session]:
        sql, params = "SELECT * FROM sessions", tuple[str, ...]()
        if username:
            sql, params = sql + " WHERE username = ?", (username,)
        return [
            Session(r["id_hash"], r["username"], r["csrf"], r["created"], r["last_seen"],
                    r["source"], bool(r["restricted"]))
            for r in self.db.query(sql, params)
        ]

    @staticmethod
    def csrf_ok(session: Session, presented: str | None) -> bool:
        return bool(presented) and hmac.compare_digest(session.csrf, presented or "")

    def consume_nonce(self, session_key: str, nonce: str | None) -> bool:
        """Accept each request nonce once per session (replay guard, 5.1.1.3). Each session
        has its own memory of spent nonces, so no session's requests evict another's."""
        if not nonce or not (NONCE_MIN_LENGTH <= len(nonce) <= 128):
            return False
        spent = self._nonces.get(session_key)
        if spent is None:
            spent = self._nonces[session_key] = OrderedDict()
            if len(self._nonces) > NONCE_SESSIONS:
                self._nonces.popitem(last=False)
        else:
            self._nonces.move_to_end(session_key)
        if nonce in spent:
            return False
        spent[nonce] = None
        if len(spent) > NONCE_MEMORY:
            spent.popitem(last=False)
        return True

    # -- API tokens ---------------------------------------------------------------------------
    def create_token(
        self, username: str, label: str, scopes: frozenset[Permission], ttl_s: float
    ) -> tuple[str, ApiToken]:
        token_id = secrets.token_hex(8)
        raw = TOKEN_PREFIX + token_id + "_" + secrets.token_urlsafe(32)
        now = time.time()
        token = ApiToken(token_id, username, label, scopes, now, now + ttl_s)
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO api_tokens VALUES (?, ?, ?, ?, ?, ?, ?)",
                (token_id, _digest(raw), username, label,
                 json.dumps(sorted(s.value for s in scopes)), now, token.expires),
            )
        return raw, token

    def lookup_token(self, raw: str | None) -> ApiToken | None:
        if not raw or not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
            return None
        rows = self.db.query("SELECT * FROM api_tokens WHERE token_hash = ?", (_digest(raw),))
        if not rows or rows[0]["expires"] < time.time():
            return None
        r = rows[0]
        scopes = frozenset(Permission(s) for s in json.loads(r["scopes"]))
        return ApiToken(r["id"], r["username"], r["label"], scopes, r["created"], r["expires"])

    def list_tokens(self, username: str | None = None) -> list[ApiToken]:
        rows = self.db.query("SELECT * FROM api_tokens ORDER BY created")
        return [
            ApiToken(r["id"], r["username"], r["label"],
                     frozenset(Permission(s) for s in json.loads(r["scopes"])),
                     r["created"], r["expires"])
            for r in rows
            if username is None or r["username"] == username
        ]

    def token_alive(self, token_id: str) -> bool:
        """The API token exists and has not expired."""
        rows = self.db.query("SELECT expires FROM api_tokens WHERE id = ?", (token_id,))
        return bool(rows) and rows[0]["expires"] >= time.time()

    def revoke_token(self, token_id: str) -> bool:
        with self.db.transaction() as conn:
            return conn.execute("DELETE FROM api_tokens WHERE id = ?", (token_id,)).rowcount == 1


def token_scopes_allowed(role: Role, scopes: frozenset[Permission]) -> bool:
    from vigilcam.auth.permissions import MATRIX

    return scopes <= MATRIX[role]
