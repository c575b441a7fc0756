"""Erase all personal data, keeping a working, secure device.

Owns "one action deletes recordings, snapshots, personal data and accounts" (IoT-1005-1 5.7.1.1;
EN 303 645 5.11.1) without a factory reset. What it deletes, in order:

1. recordings: every segment and the index; the recording master key is replaced, so the old
   segments no longer decrypt with the device's keys (only a copy of the old vault AND the
   key-encryption key could; a factory reset destroys those too);
2. accounts, sessions, API tokens, known login sources, per-user stream and ONVIF credentials:
   all of them;
   then ONE fresh ``admin`` with a NEW random setup secret that must be changed at first login
   (IoT-1005-1 5.1.3.1; TAICS 5.1.3.2: never a known default);
3. alerts waiting in the outbox (they carry user names and addresses);
4. live viewing sessions are ended.

Kept, and said so in the confirmation: the security log (TAICS 5.2.8.1 requires the record; it
rotates out after its retention period), alert channels (so security alerts keep flowing),
privacy masks, the device identity and keys. Snapshots are never stored: nothing to delete.
"""

from __future__ import annotations

import shutil
import sqlite3
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from vigilcam.auth.setup_secret import ADMIN, issue_setup_secret
from vigilcam.platform.events import Event
from vigilcam.platform.ports import DeviceState

if TYPE_CHECKING:
    from vigilcam.alerts.outbox import Outbox
    from vigilcam.auth.accounts import AccountStore
    from vigilcam.auth.sessions import SessionStore
    from vigilcam.auth.stream_credentials import StreamCredentials
    from vigilcam.recording.erase import DeleteReport
    from vigilcam.recording.store import SegmentStore
    from vigilcam.viewers.registry import ViewerRegistry


class _Recording(Protocol):
    @property
    def store(self) -> SegmentStore | None: ...
    async def erase_all(self) -> DeleteReport: ...


class _Alerts(Protocol):
    @property
    def outbox(self) -> Outbox: ...


class _Services(Protocol):
    @property
    def recording(self) -> _Recording | None: ...
    @property
    def alerts(self) -> _Alerts | None: ...
    @property
    def viewers(self) -> ViewerRegistry: ...
    @property
    def stream_credentials(self) -> StreamCredentials: ...
    @property
    def onvif_credentials(self) -> StreamCredentials: ...


class ErasableDevice(DeviceState, Protocol):
    """What the erase needs: each owning service's own erase operation, and the vault."""

    accounts: AccountStore
    sessions: SessionStore

    @property
    def services(self) -> _Services: ...


KEPT = {
    "security_log": "kept: the security log is required (TAICS 5.2.8.1, NIST SP 800-92) and "
    "append-only; its records rotate out after the retention period",
    "alert_channels": "kept so that security alerts still reach the owner; remove them in Alerts",
    "privacy_masks": "kept: they hold no personal data and protect privacy",
    "device_identity": "kept: device ID, keys and certificate (use factory reset to replace keys)",
    "snapshots": "none stored: snapshots are never written to disk",
}


@dataclass
class ErasureReport:
    deleted: dict[str, int] = field(default_factory=dict)
    kept: dict[str, str] = field(default_factory=lambda: dict(KEPT))
    setup_secret: str = ""
    admin: str = ADMIN
    at: float = field(default_factory=time.time)

    def to_json(self, *, with_secret: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "deleted": dict(self.deleted),
            "kept": dict(self.kept),
            "admin": self.admin,
            "admin_must_change_password": True,
            "at": self.at,
        }
        if with_secret:
            out["setup_secret"] = self.setup_secret
        return out


async def _erase_recordings(device: ErasableDevice) -> tuple[int, int]:
    """(segments, bytes) removed. Through the running service when there is one."""
    from vigilcam.recording.erase import erase_all
    from vigilcam.recording.index import RecordingIndexError
    from vigilcam.recording.service import MASTER_KEY_NAME, open_device_store

    service = device.services.recording
    if service is not None and service.store is not None:
        report = await service.erase_all()
        return report.segments, report.bytes_freed
    try:
        store = open_device_store(device)
    except (OSError, sqlite3.Error, RecordingIndexError):
        store = None  # a damaged index: remove the folder whole below
    if store is not None:
        report = erase_all(store)
        device.vault.delete(MASTER_KEY_NAME)
        return report.segments, report.bytes_freed
    device.vault.delete(MASTER_KEY_NAME)  # key first: whatever is left cannot be read
    root = device.paths.recordings_dir
    if not root.exists():
        return 0, 0
    files = [p for p in root.rglob("*") if p.is_file()]
    freed = sum(p.stat().st_size for p in files)
    shutil.rmtree(root)
    return sum(1 for p in files if p.name.endswith(".seg")), freed


def _erase_outbox(device: ErasableDevice) -> int:
    """Alerts waiting for delivery, through the alert service's outbox (running or not)."""
    from vigilcam.alerts.outbox import Outbox

    running = device.services.alerts
    if running is not None:
        return running.outbox.clear_queue()
    if not device.paths.alerts_db.exists():
        return 0
    outbox = Outbox(device.paths.alerts_db)
    try:
        return outbox.clear_queue()
    finally:
        outbox.close()


def _erase_accounts(device: ErasableDevice, report: ErasureReport) -> None:
    # Each store deletes its own rows: sessions and API tokens, then accounts and the login
    # sources remembered for them.
    report.deleted.update(device.sessions.erase_all())
    report.deleted.update(device.accounts.erase_all())
    report.deleted["stream_credentials"] = device.services.stream_credentials.erase_all()
    # The ONVIF credential goes too: kept, it would let an old client configuration in as a
    # new account of the same name.
    report.deleted["onvif_credentials"] = device.services.onvif_credentials.erase_all()
    report.setup_secret = issue_setup_secret(device.accounts, device.paths.setup_secret_file)


async def erase_all_personal_data(
    device: ErasableDevice, *, by: str = "cli", source: str = "cli"
) -> ErasureReport:
    """Delete every kind of personal data that may be deleted; returns what was deleted."""
    report = ErasureReport()
    device.record(Event.PRIVACY_ERASE_STARTED, user=by, source=source)
    segments, freed = await _erase_recordings(device)
    report.deleted["recording_segments"] = segments
    report.deleted["recording_bytes"] = freed
    viewers = device.services.viewers
    ended = 0
    for session in viewers.list():
        if viewers.end(session.id, by=by):
            ended += 1
    report.deleted["viewing_sessions"] = ended
    _erase_accounts(device, report)
    report.deleted["alert_outbox"] = _erase_outbox(device)
    report.deleted["snapshots"] = 0
    # One string: detail names such as "api_tokens" would be redacted as secrets.
    device.record(Event.PRIVACY_ERASED, user=by, source=source,
                  deleted=" ".join(f"{k}={v}" for k, v in report.deleted.items()))
    device.record(Event.DEVICE_SETUP_SECRET_CREATED, user=by, source=source, reason="erase")
    return report
