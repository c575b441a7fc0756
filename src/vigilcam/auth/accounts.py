"""User accounts: names, roles, Argon2id hashes, forced change, disabled flag, known sources.

Serves IoT-1005-1 5.1.2.1 (roles), 5.1.3.1 (the first admin's password is the device's unique
setup secret and must be replaced at first login; no universal default), 5.4.1.2 (only Argon2id
hashes stored). Policy checks go through ``passwords.policy_problems``; hashing through the one
``PasswordHasher``.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from vigilcam.auth.passwords import PasswordHasher, policy_problems
from vigilcam.auth.permissions import Role
from vigilcam.auth.throttle import source_key
from vigilcam.platform.db import Database

USERNAME_RE = re.compile(r"^[a-z][a-z0-9._-]{1,31}$")

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    must_change INTEGER NOT NULL DEFAULT 1,
    disabled INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL,
    password_changed REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS known_sources (
    username TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
    source TEXT NOT NULL,
    first_seen REAL NOT NULL,
    PRIMARY KEY (username, source)
);
"""


class AccountError(Exception):
    """A refused account operation; the message is safe to show to the caller."""


@dataclass(frozen=True)
class User:
    username: str
    role: Role
    must_change: bool
    disabled: bool
    created: float
    password_changed: float

    def public(self) -> dict[str, object]:
        return {
            "username": self.username,
            "role": self.role.value,
            "must_change_password": self.must_change,
            "disabled": self.disabled,
        }


def _user(row: object) -> User:
    r = dict(row)  # type: ignore[call-overload]
    return User(
        r["username"], Role(r["role"]), bool(r["must_change"]), bool(r["disabled"]),
        r["created"], r["password_changed"],
    )


class AccountStore:
    def __init__(self, db: Database, hasher: PasswordHasher, context_words: list[str]) -> None:
        self.db = db
        self.hasher = hasher
        self.context_words = context_words

    @staticmethod
    def check_username(username: str) -> str:
        if not USERNAME_RE.match(username):
            raise AccountError(
                "user names are 2-32 characters: lower-case letters, digits, '.', '_' or '-', "
                "starting with a letter"
            )
        return username

    def check_password(self, username: str, password: str) -> None:
        problems = policy_problems(password, [*self.context_words, username])
        if problems:
            raise AccountError(" ".join(problems))

    def get(self, username: str) -> User | None:
        rows = self.db.query("SELECT * FROM users WHERE username = ?", (username,))
        return _user(rows[0]) if rows else None

    def list(self) -> list[User]:
        return [_user(r) for r in self.db.query("SELECT * FROM users ORDER BY username")]

    def count_admins(self) -> int:
        rows = self.db.query(
            "SELECT COUNT(*) AS n FROM users WHERE role = 'admin' AND disabled = 0"
        )
        return int(rows[0]["n"])

    def add(
        self, username: str, role: Role, password: str, *, must_change: bool = True,
        check_policy: bool = True,
    ) -> User:
        self.check_username(username)
        if check_policy:
            self.check_password(username, password)
        now = time.time()
        with self.db.transaction() as conn:
            if conn.execute("SELECT 1 FROM users WHERE username = ?", (username,)).fetchone():
                raise AccountError(f"user {username!r} already exists")
            conn.execute(
                "INSERT INTO users VALUES (?, ?, ?, ?, 0, ?, ?)",
                (username, role.value, self.hasher.hash(password), int(must_change), now, now),
            )
        user = self.get(username)
        assert user is not None
        return user

    def stored_hash(self, username: str) -> str | None:
        rows = self.db.query(
            "SELECT password_hash FROM users WHERE username = ? AND disabled = 0", (username,)
        )
        return rows[0]["password_hash"] if rows else None

    def set_password(self, username: str, password: str, *, must_change: bool = False) -> None:
        self.check_password(username, password)
        self.store_hash(username, self.hasher.hash(password), must_change)

    def upgrade_hash(self, username: str, old_hash: str, new_hash: str) -> None:
        """Re-encode the same password with today's Argon2 parameters (after a login). Not a
        password change: nothing else moves, and a hash changed meanwhile is left alone."""
        with self.db.transaction() as conn:
            conn.execute("UPDATE users SET password_hash = ? WHERE username = ? AND "
                         "password_hash = ?", (new_hash, username, old_hash))

    def store_hash(self, username: str, password_hash: str, must_change: bool) -> None:
        with self.db.transaction() as conn:
            cur = conn.execute(
                "UPDATE users SET password_hash = ?, must_change = ?, password_changed = ? "
                "WHERE username = ?",
                (password_hash, int(must_change), time.time(), username),
            )
            if cur.rowcount != 1:
                raise AccountError(f"no user named {username!r}")

    def set_one_time_password(self, username: str, secret: str) -> None:
        """Store ``secret`` (issued by ``auth.one_time``) as a password the user must replace
        at the next login."""
        self.store_hash(username, self.hasher.hash(secret), True)

    def set_role(self, username: str, role: Role) -> User:
        user = self._require(username)
        if user.role == Role.ADMIN and role != Role.ADMIN and self.count_admins() <= 1:
            raise AccountError("cannot demote the last admin")
        with self.db.transaction() as conn:
            conn.execute("UPDATE users SET role = ? WHERE username = ?", (role.value, username))
        return self._require(username)

    def set_disabled(self, username: str, disabled: bool) -> User:
        user = self._require(username)
        if disabled and user.role == Role.ADMIN and self.count_admins() <= 1:
            raise AccountError("cannot disable the last admin")
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE users SET disabled = ? WHERE username = ?", (int(disabled), username)
            )
        return self._require(username)

    def delete_all_except(self, keep: str) -> int:
        with self.db.transaction() as conn:
            return conn.execute("DELETE FROM users WHERE username != ?", (keep,)).rowcount

    def counts(self) -> dict[str, int]:
        """How many accounts and remembered login sources are stored (data inventory)."""
        rows = self.db.query("SELECT (SELECT COUNT(*) FROM users) AS accounts, "
                             "(SELECT COUNT(*) FROM known_sources) AS known_sources")
        return {"accounts": int(rows[0]["accounts"]),
                "known_sources": int(rows[0]["known_sources"])}

    def erase_all(self) -> dict[str, int]:
        """Delete every account and every remembered login source (the owner's erase,
        IoT-1005-1 5.7.1.1); returns how many of each there were."""
        with self.db.transaction() as conn:
            sources = int(conn.execute("SELECT COUNT(*) FROM known_sources").fetchone()[0])
            accounts = int(conn.execute("DELETE FROM users").rowcount)
            conn.execute("DELETE FROM known_sources")  # in case a row outlived its user
        return {"accounts": accounts, "known_sources": sources}

    def _require(self, username: str) -> User:
        user = self.get(username)
        if user is None:
            raise AccountError(f"no user named {username!r}")
        return user

    # -- known sources (5.8.1.1 "login from a new source"; throttling exemption) --------------
    def is_known_source(self, username: str, source: str) -> bool:
        rows = self.db.query(
            "SELECT 1 FROM known_sources WHERE username = ? AND source = ?",
            (username, source_key(source)),
        )
        return bool(rows)

    def remember_source(self, username: str, source: str) -> bool:
        """Record a successful login source; True when it is new for this user."""
        with self.db.transaction() as conn:
            cur = conn.execute(
                "INSERT OR IGNORE INTO known_sources VALUES (?, ?, ?)",
                (username, source_key(source), time.time()),
            )
            return cur.rowcount == 1
