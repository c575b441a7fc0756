"""SQLite connections with the durability the device needs.

Owns how state databases are opened, for every service that keeps one (accounts and sessions,
the alert outbox, the recording index): WAL journal and synchronous=FULL, so a kill -9 or power
loss never corrupts users, sessions or indexes (IoT-1005-1 5.6.1.1); files private (0600).
Each service owns its schema and is the only one that reads or writes its tables.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def read_only_query(path: Path, sql: str, params: tuple | dict = ()) -> list[sqlite3.Row] | None:
    """Rows of one query on a database opened read-only (never created, never changed), for a
    report about a service that may not be running; None when the file is missing or
    unreadable."""
    if not path.exists():
        return None
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=2)
        try:
            conn.row_factory = sqlite3.Row
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()
    except sqlite3.Error:
        return None


class Database:
    """One connection guarded by a lock; short transactions only."""

    def __init__(self, path: Path, schema: str, *, busy_timeout_s: float = 5.0) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        fresh = not path.exists()
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None,
                                     timeout=busy_timeout_s)
        if fresh:
            os.chmod(path, 0o600)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._lock = threading.RLock()
        with self._lock:
            self._conn.executescript(schema)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def query(self, sql: str, params: tuple | dict = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def data_version(self) -> int:
        """SQLite's ``PRAGMA data_version``: changes when another connection (another process,
        such as the CLI) committed to this database since the last call; a cheap change marker."""
        with self._lock:
            return int(self._conn.execute("PRAGMA data_version").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._conn.close()
