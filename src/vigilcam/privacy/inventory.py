"""The data inventory: every kind of personal data the camera keeps, where, why, how long.

Owns the one list the "Your data" page, ``docs/privacy.md`` and the erase confirmation are built
from (IoT-1005-1 5.7.1.1: collect only what is needed, tell the user, let them delete it; EN 303
645 5.11). ``data_inventory`` is pure (paths and settings in, records out); ``measure`` is the
thin IO that counts what is stored right now.

When a feature starts keeping a new kind of personal data, it is added here or it is a defect:
a test compares this list with the files in a running device's data dir.
"""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

from vigilcam.alerts.outbox import stored_counts
from vigilcam.platform.paths import DataPaths
from vigilcam.privacy.masks_store import MASKS_FILE
from vigilcam.recording.index import count_segments

NOT_PERSONAL: dict[str, str] = {
    "identity.json": "device ID, serial and creation time of the device",
    "keys": "the key-encryption key (root-only file)",
    "vault.bin": "the device's secrets, encrypted (AES-256-GCM)",
    ".vault.bin.lock": "an empty lock file that serialises writes to the vault",
    "tls": "the device's certificate and its encrypted private key",
    "config.toml": "settings chosen by the installer (never secrets)",
    "setup-secret": "the one-time first password, removed once replaced",
    "running": "a marker present while the service runs (power-loss detection)",
    "update": "software update metadata, downloads and state",
}
"""Top-level entries of the data dir that hold no personal data, and what they are."""


@dataclass(frozen=True)
class DataKind:
    id: str
    what: str
    personal: str
    """Which personal data it holds (or why it holds none)."""
    where: tuple[str, ...]
    """Paths relative to the data dir."""
    why: str
    retention: str
    protection: str
    erased_by: str
    """What removes it: "erase" (erase all personal data), "factory reset", "range delete"."""

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        data["where"] = list(self.where)
        return data


def _rel(paths: DataPaths, p: Path) -> str:
    return str(p.relative_to(paths.root))


def data_inventory(
    paths: DataPaths, log_retention_days: int, recording_max_age_days: float | None
) -> list[DataKind]:
    """Every kind of personal data vigilcam keeps (pure)."""
    rec_age = (
        "no age limit (oldest deleted first when the disk quota or free-space floor is reached)"
        if recording_max_age_days is None
        else f"deleted {recording_max_age_days:g} days after recording, and oldest first when "
        "the disk quota or free-space floor is reached"
    )
    return [
        DataKind(
            "recordings",
            "Recorded video segments and their index (start, end, size, trigger)",
            "Images of people and places in the camera's view",
            (_rel(paths, paths.recordings_dir),),
            "Recording chosen by the owner (continuous or event-triggered); off by default",
            rec_age,
            "AES-256-GCM per segment, each with its own data key wrapped by the recording "
            "master key in the vault; no plaintext frame, thumbnail or temp file on disk",
            "range delete, erase, factory reset",
        ),
        DataKind(
            "snapshots",
            "JPEG snapshots",
            "Images: produced on request only, sent to the requester, never stored",
            (),
            "Show the current picture",
            "not stored",
            "only sent over TLS",
            "nothing to erase",
        ),
        DataKind(
            "live_video",
            "Live video",
            "Images: passed from the encoder to viewers in memory, never stored",
            (),
            "Live view",
            "not stored",
            "only sent over TLS (AES-256-GCM preferred); privacy masks applied before encoding",
            "nothing to erase",
        ),
        DataKind(
            "accounts",
            "User accounts: user name, role, Argon2id password hash, timestamps",
            "User names chosen by the owner",
            (_rel(paths, paths.accounts_db),),
            "Log in and permissions",
            "until the user is removed or the data is erased",
            "passwords only as Argon2id hashes; file private to the service user (0600)",
            "erase (a fresh admin with a new setup secret remains), factory reset",
        ),
        DataKind(
            "sessions",
            "Login sessions and API tokens (hashes, creation and last-use time, source address)",
            "IP address of the browser or client, user name",
            (_rel(paths, paths.accounts_db),),
            "Keep a user logged in; let them log out everywhere",
            "session: idle and absolute timeouts; token: its expiry (at most 365 days)",
            "only SHA-256 hashes of session and token values are stored",
            "erase, factory reset, log out everywhere",
        ),
        DataKind(
            "known_sources",
            "Addresses each user has logged in from",
            "IP addresses (/64 prefix for IPv6) per user name",
            (_rel(paths, paths.accounts_db),),
            "Alert on logins from a new place (IoT-1005-1 5.8.1.1); let known sources log in "
            "while an attacker is throttled",
            "until the user is removed or the data is erased",
            "file private to the service user (0600)",
            "erase, factory reset",
        ),
        DataKind(
            "security_log",
            "Security event log: logins, failures, changes, viewing sessions, exports",
            "User names, IP addresses, times of access",
            (_rel(paths, paths.seclog_dir),),
            "Required security log (TAICS 5.2.8.1; NIST SP 800-92 high impact)",
            f"{log_retention_days} days, then rotated out; append-only and hash-chained, so "
            "erase keeps it (the law and the standard require the record); factory reset "
            "destroys it with the keys",
            "keyed hash chain; archives AES-256-GCM encrypted",
            "factory reset (kept by erase: retention required)",
        ),
        DataKind(
            "alert_channels",
            "Alert channel targets (e-mail address, webhook URL, MQTT topic, push topic)",
            "The owner's e-mail address or endpoint",
            (_rel(paths, paths.alerts_db),),
            "Send security alerts to the owner (IoT-1005-1 5.8.1.1)",
            "until the channel is removed",
            "credentials in the vault (AES-256-GCM), never in the database",
            "factory reset; remove a channel in Alerts (erase keeps channels so alerts go on)",
        ),
        DataKind(
            "alert_outbox",
            "Alerts waiting for delivery",
            "User names and IP addresses in alert texts",
            (_rel(paths, paths.alerts_db),),
            "Deliver every alert at least once, even after a restart",
            "until delivered",
            "file private to the service user (0600)",
            "erase, factory reset",
        ),
        DataKind(
            "privacy_masks",
            "Privacy mask geometry",
            "None (coordinates only); masks reduce what is recorded",
            (MASKS_FILE,),
            "Black out regions before encoding",
            "until changed",
            "file private to the service user (0600)",
            "factory reset",
        ),
        DataKind(
            "telemetry",
            "Telemetry",
            "None: vigilcam sends no telemetry, usage statistics or crash reports",
            (),
            "-",
            "nothing collected",
            "-",
            "nothing to erase",
        ),
    ]


class _Counted(Protocol):
    def counts(self) -> dict[str, int]: ...


class InventoryDevice(Protocol):
    """What the inventory reads of the device: its data folder and the stores that count
    their own rows (each service owns its database; the inventory runs no SQL of its own)."""

    paths: DataPaths

    @property
    def accounts(self) -> _Counted: ...
    @property
    def sessions(self) -> _Counted: ...


def _counts(store: _Counted) -> dict[str, int | None]:
    try:
        return dict(store.counts())
    except sqlite3.Error:
        return {}


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return 0


def measure(device: InventoryDevice) -> dict[str, dict[str, int | None]]:
    """How much of each kind is stored now: item counts and bytes on disk (IO)."""
    paths = device.paths
    accounts, sessions = _counts(device.accounts), _counts(device.sessions)
    in_sessions = (None if "sessions" not in sessions
                   else (sessions["sessions"] or 0) + (sessions["api_tokens"] or 0))
    alerts = stored_counts(paths.alerts_db)
    return {
        "recordings": {
            "items": count_segments(paths.recordings_dir / "index.db"),
            "bytes": _size(paths.recordings_dir),
        },
        "accounts": {"items": accounts.get("accounts"), "bytes": _size(paths.accounts_db)},
        "sessions": {"items": in_sessions, "bytes": None},
        "known_sources": {"items": accounts.get("known_sources"), "bytes": None},
        "security_log": {"items": None, "bytes": _size(paths.seclog_dir)},
        "alert_channels": {"items": alerts["channels"], "bytes": _size(paths.alerts_db)},
        "alert_outbox": {"items": alerts["queued"], "bytes": None},
        "privacy_masks": {"items": None, "bytes": _size(paths.root / MASKS_FILE)},
    }
