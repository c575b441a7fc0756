"""The persistent alert outbox and channel table (SQLite, WAL, synchronous=FULL).

Owns what is waiting to be delivered, per channel, and each channel's delivery status.
Serves IoT-1005-1 5.8.1.1 ("alerts are queued and retried, never silently dropped") and
5.6.1.1 (alerts survive restart, power loss and kill -9).

Invariants:
- One row per (channel, alert); rows are delivered in ``seq`` order per channel, and a row is
  deleted only after the channel confirmed it (at-least-once; the alert_id lets a receiver
  drop the rare duplicate after a crash between confirm and delete).
- Channel secrets never enter this database: they live in the vault under
  ``alert_channel:<id>``; rows hold only the target without credentials and public options.
- Retry delays grow exponentially with jitter up to a cap (``backoff_delay``, on the one policy
  in ``platform/backoff.py``).
"""

from __future__ import annotations

import json
import random
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vigilcam.platform.backoff import BackoffPolicy
from vigilcam.platform.db import Database, read_only_query

SCHEMA = """
CREATE TABLE IF NOT EXISTS channels (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    target TEXT NOT NULL,
    options TEXT NOT NULL,
    categories TEXT NOT NULL,
    created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    channel_id TEXT NOT NULL,
    alert_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    created REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt REAL NOT NULL DEFAULT 0,
    last_error TEXT,
    UNIQUE (channel_id, alert_id)
);
CREATE INDEX IF NOT EXISTS outbox_by_channel ON outbox (channel_id, seq);
CREATE TABLE IF NOT EXISTS status (
    channel_id TEXT PRIMARY KEY,
    last_success TEXT,
    last_error TEXT,
    last_error_at TEXT,
    failing_since REAL,
    failing INTEGER NOT NULL DEFAULT 0,
    delivered INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

BACKOFF_BASE_S = 1.0
BACKOFF_CAP_S = 300.0


def backoff_delay(attempts: int, *, base: float = BACKOFF_BASE_S, cap: float = BACKOFF_CAP_S,
                  rng: random.Random | None = None) -> float:
    """Delay before retry number ``attempts`` (1 = first retry): base*2^(n-1), capped, +-20 %."""
    return BackoffPolicy(base, cap, spread=(0.8, 1.2)).delay(attempts - 1, rng)


@dataclass(frozen=True)
class ChannelRow:
    id: str
    kind: str
    target: str  # URL without any credential
    options: dict[str, Any]
    categories: frozenset[str]
    created: str

    def public(self) -> dict[str, Any]:
        opts = {k: v for k, v in self.options.items() if k != "ca_pem"}
        opts["private_ca"] = "ca_pem" in self.options
        return {"id": self.id, "kind": self.kind, "target": self.target, "options": opts,
                "categories": sorted(self.categories), "created": self.created}


@dataclass(frozen=True)
class OutboxItem:
    seq: int
    channel_id: str
    alert_id: str
    payload: str
    created: float
    attempts: int
    next_attempt: float


@dataclass(frozen=True)
class ChannelStatus:
    channel_id: str
    last_success: str | None
    last_error: str | None
    last_error_at: str | None
    failing_since: float | None
    failing: bool
    delivered: int
    pending: int
    oldest_pending: float | None


def stored_counts(path: Path) -> dict[str, int | None]:
    """Channels and queued alerts in the outbox database at ``path``, read-only (None: no
    readable database), for the data inventory (IoT-1005-1 5.7.1.1)."""
    out: dict[str, int | None] = {}
    for key, table in (("channels", "channels"), ("queued", "outbox")):
        rows = read_only_query(path, f"SELECT COUNT(*) FROM {table}")  # noqa: S608 - constants
        out[key] = None if rows is None else int(rows[0][0])
    return out


class Outbox:
    """Sync, thread-safe (the Database lock); the service calls it from a worker thread."""

    def __init__(self, path: Path) -> None:
        self.db = Database(path, SCHEMA)

    def close(self) -> None:
        self.db.close()

    # -- channels ----------------------------------------------------------------------------
    def add_channel(self, row: ChannelRow) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO channels (id, kind, target, options, categories, created) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (row.id, row.kind, row.target, json.dumps(row.options, sort_keys=True),
                 json.dumps(sorted(row.categories)), row.created),
            )
            conn.execute("INSERT OR REPLACE INTO status (channel_id) VALUES (?)", (row.id,))

    def remove_channel(self, channel_id: str) -> int | None:
        """Delete a channel and its queue; returns how many alerts were still pending."""
        with self.db.transaction() as conn:
            found = conn.execute("SELECT 1 FROM channels WHERE id = ?", (channel_id,))
            if found.fetchone() is None:
                return None
            pending = conn.execute(
                "SELECT COUNT(*) FROM outbox WHERE channel_id = ?", (channel_id,)
            ).fetchone()[0]
            conn.execute("DELETE FROM outbox WHERE channel_id = ?", (channel_id,))
            conn.execute("DELETE FROM status WHERE channel_id = ?", (channel_id,))
            conn.execute("DELETE FROM channels WHERE id = ?", (channel_id,))
        return int(pending)

    def channels(self) -> list[ChannelRow]:
        rows = self.db.query("SELECT * FROM channels ORDER BY created, id")
        return [
            ChannelRow(r["id"], r["kind"], r["target"], json.loads(r["options"]),
                       frozenset(json.loads(r["categories"])), r["created"])
            for r in rows
        ]

    def channel(self, channel_id: str) -> ChannelRow | None:
        for row in self.channels():
            if row.id == channel_id:
                return row
        return None

    # -- queue -------------------------------------------------------------------------------
    def clear_queue(self) -> int:
        """Drop every alert waiting for delivery (they carry user names and addresses; the
        owner's erase, IoT-1005-1 5.7.1.1); channels stay. Returns how many were dropped."""
        with self.db.transaction() as conn:
            return int(conn.execute("DELETE FROM outbox").rowcount)

    def enqueue(self, alert_id: str, payload: str, channel_ids: list[str], now: float) -> int:
        """Queue one alert for each channel in one transaction (all or none)."""
        with self.db.transaction() as conn:
            inserted = 0
            for cid in channel_ids:
                cur = conn.execute(
                    "INSERT OR IGNORE INTO outbox (channel_id, alert_id, payload, created, "
                    "next_attempt) VALUES (?, ?, ?, ?, ?)", (cid, alert_id, payload, now, now),
                )
                inserted += cur.rowcount
        return inserted

    def head(self, channel_id: str, skip: frozenset[int] = frozenset()) -> OutboxItem | None:
        """The oldest undelivered alert of a channel (delivery is in order)."""
        rows = self.db.query(
            "SELECT * FROM outbox WHERE channel_id = ? ORDER BY seq LIMIT ?",
            (channel_id, len(skip) + 1),
        )
        for r in rows:
            if r["seq"] not in skip:
                return OutboxItem(r["seq"], r["channel_id"], r["alert_id"], r["payload"],
                                  r["created"], r["attempts"], r["next_attempt"])
        return None

    def pending(self, channel_id: str | None = None) -> list[OutboxItem]:
        sql = "SELECT * FROM outbox ORDER BY seq"
        params: tuple[str, ...] = ()
        if channel_id is not None:
            sql, params = "SELECT * FROM outbox WHERE channel_id = ? ORDER BY seq", (channel_id,)
        return [
            OutboxItem(r["seq"], r["channel_id"], r["alert_id"], r["payload"], r["created"],
                       r["attempts"], r["next_attempt"])
            for r in self.db.query(sql, params)
        ]

    def mark_delivered(self, seq: int | None, channel_id: str, now_iso: str) -> None:
        with self.db.transaction() as conn:
            if seq is not None:
                conn.execute("DELETE FROM outbox WHERE seq = ?", (seq,))
            conn.execute(
                "UPDATE status SET last_success = ?, failing_since = NULL, "
                "delivered = delivered + 1 WHERE channel_id = ?", (now_iso, channel_id),
            )

    def mark_failed(self, seq: int | None, channel_id: str, error: str, next_attempt: float,
                    now: float, now_iso: str) -> None:
        with self.db.transaction() as conn:
            if seq is not None:
                conn.execute(
                    "UPDATE outbox SET attempts = attempts + 1, next_attempt = ?, last_error = ? "
                    "WHERE seq = ?", (next_attempt, error[:500], seq),
                )
            conn.execute(
                "UPDATE status SET last_error = ?, last_error_at = ?, "
                "failing_since = COALESCE(failing_since, ?) WHERE channel_id = ?",
                (error[:500], now_iso, now, channel_id),
            )

    def note_test(self, channel_id: str, error: str | None, now_iso: str) -> None:
        """A test alert's outcome: shown in the status, not counted as a delivery streak."""
        with self.db.transaction() as conn:
            if error is None:
                conn.execute("UPDATE status SET last_success = ? WHERE channel_id = ?",
                             (now_iso, channel_id))
            else:
                conn.execute("UPDATE status SET last_error = ?, last_error_at = ? "
                             "WHERE channel_id = ?", (error[:500], now_iso, channel_id))

    def set_failing(self, channel_id: str, failing: bool) -> None:
        with self.db.transaction() as conn:
            conn.execute("UPDATE status SET failing = ? WHERE channel_id = ?",
                         (int(failing), channel_id))

    def status(self, channel_id: str) -> ChannelStatus:
        rows = self.db.query("SELECT * FROM status WHERE channel_id = ?", (channel_id,))
        counts = self.db.query(
            "SELECT COUNT(*) AS n, MIN(created) AS oldest FROM outbox WHERE channel_id = ?",
            (channel_id,),
        )[0]
        if not rows:
            return ChannelStatus(channel_id, None, None, None, None, False, 0, counts["n"],
                                 counts["oldest"])
        r = rows[0]
        return ChannelStatus(channel_id, r["last_success"], r["last_error"], r["last_error_at"],
                             r["failing_since"], bool(r["failing"]), r["delivered"], counts["n"],
                             counts["oldest"])

    # -- meta --------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        rows = self.db.query("SELECT value FROM meta WHERE key = ?", (key,))
        return str(rows[0]["value"]) if rows else None

    def set_meta(self, key: str, value: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))


StoreError = (sqlite3.Error, OSError)
