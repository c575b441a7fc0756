"""Composition root: provisions the device, builds every service and hands them to the edges.

Owns start-up and shutdown order. Serves IoT-1005-1 5.1.1.1 / 5.1.1.2 (identity and keys made
on first start, locally), 5.1.3.1 (a unique setup secret, never a shared default), 5.4.1.2
(the service refuses to start when the vault or key file is unreadable, tampered or loose),
5.6.1.1 (an unclean previous stop is detected and logged) and TAICS 5.1.2.1 (power loss alert).
It also refuses to start on an older ``vault.bin`` than its rollback anchor, after logging
``vault.rollback_detected``, and logs ``seclog.tampering_detected`` when the security log ends
before its anchor or lost its head (TAICS 5.2.8.1; ``platform/anchor.py``).

Provisioning is idempotent and crash-safe: ``identity.json`` is written last and marks a
finished provisioning; a data dir without it is cleared and provisioned afresh.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vigilcam import product
from vigilcam.auth.accounts import SCHEMA as ACCOUNTS_SCHEMA
from vigilcam.auth.accounts import AccountStore
from vigilcam.auth.failure_log import FailureLog
from vigilcam.auth.onvif_credentials import OnvifCredentials, VideoCredentials
from vigilcam.auth.passwords import PasswordHasher
from vigilcam.auth.service import AuthService
from vigilcam.auth.sessions import SCHEMA as SESSIONS_SCHEMA
from vigilcam.auth.sessions import SessionStore
from vigilcam.auth.setup_secret import issue_setup_secret, retire_setup_secret
from vigilcam.auth.stream_credentials import StreamCredentials
from vigilcam.auth.throttle import LoginThrottle
from vigilcam.media.snapshot_limit import SnapshotLimiter
from vigilcam.onvif_switch import OnvifSwitch
from vigilcam.platform.config import Settings
from vigilcam.platform.db import Database
from vigilcam.platform.events import Event
from vigilcam.platform.fsutil import atomic_write, ensure_private_dir
from vigilcam.platform.identity import DeviceIdentity, TlsIdentity, default_hosts
from vigilcam.platform.paths import DataPaths
from vigilcam.platform.seclog import LogError, SecurityEvent, SecurityLog
from vigilcam.platform.seclog_keys import SECLOG_ARCHIVE_KEY, SECLOG_MAC_KEY
from vigilcam.platform.tpm import kek_store_for
from vigilcam.platform.vault import Vault, VaultError, VaultRollbackError
from vigilcam.viewers.registry import ViewerRegistry
from vigilcam.viewers.revocation import AccountFacts, RevocationWatcher, file_marker

if TYPE_CHECKING:
    from vigilcam.alerts.service import AlertService
    from vigilcam.detection import DetectionService
    from vigilcam.media.pipeline import MediaPipeline
    from vigilcam.recording.service import RecordingService
    from vigilcam.update.service import UpdateService

MASTER_KEY = "master_key"


class StartupError(Exception):
    """The device cannot start; the message says why and what to do."""


@dataclass(frozen=True)
class Provisioned:
    identity: DeviceIdentity
    setup_secret: str | None  # only on the run that created it
    created: bool


def _hosts(settings: Settings) -> list[str]:
    hosts = default_hosts() + list(settings.hosts)
    if settings.bind not in ("0.0.0.0", "::"):
        hosts.append(settings.bind)
    return hosts


def provision(paths: DataPaths, settings: Settings) -> Provisioned:
    """Create identity, keys, vault, certificate, admin and setup secret once."""
    if paths.identity_file.exists():
        return Provisioned(DeviceIdentity.load(paths.identity_file), None, False)
    ensure_private_dir(paths.root)
    for leftover in (paths.keys_dir, paths.tls_dir, paths.seclog_dir):
        shutil.rmtree(leftover, ignore_errors=True)
    for leftover_file in (paths.vault_file, paths.accounts_db, paths.setup_secret_file):
        for suffix in ("", "-wal", "-shm"):
            Path(str(leftover_file) + suffix).unlink(missing_ok=True)
    ident = DeviceIdentity.new()
    secret, _ = create_device_state(paths, settings, ident)
    ident.save(paths.identity_file)
    return Provisioned(ident, secret, True)


def create_device_state(
    paths: DataPaths, settings: Settings, ident: DeviceIdentity
) -> tuple[str, SecurityLog]:
    """Keys, vault, certificate, admin with a new setup secret, and the security log, for
    ``ident`` (a new identity at provisioning, the kept one at a factory reset)."""
    ensure_private_dir(paths.root)
    # TAICS 5.2.5.2: the KEK is sealed in a TPM 2.0 when one is present, else a private file.
    vault = Vault(paths.vault_file, kek_store_for(paths.keys_dir, paths.kek_file),
                  paths.anchor_file)
    vault.create()
    for name in (MASTER_KEY, SECLOG_MAC_KEY, SECLOG_ARCHIVE_KEY):
        vault.ensure_random(name)
    TlsIdentity(paths.cert_file, paths.key_file, vault).create(ident, _hosts(settings))
    hasher = PasswordHasher()
    try:
        db = Database(paths.accounts_db, ACCOUNTS_SCHEMA + SESSIONS_SCHEMA)
        secret = issue_setup_secret(AccountStore(db, hasher, []), paths.setup_secret_file)
        db.close()
    finally:
        hasher.close()
    seclog = SecurityLog(paths.seclog_dir, ident.device_id, vault.get(SECLOG_MAC_KEY),
                         vault.get(SECLOG_ARCHIVE_KEY), anchor=vault.anchor)
    seclog.open()
    seclog.record(Event.DEVICE_PROVISIONED, serial=ident.serial, model=product.MODEL,
                  version=product.VERSION)
    return secret, seclog


@dataclass
class Services:
    """The device's services by name, each built once by the composition root.

    The first group exists from :func:`open_device` on (the CLI uses them too); the second is
    started by ``Runtime`` and stays None in a process that does not run the camera (the CLI,
    tests of one edge), so every caller says what it does without it. Each consumer depends on
    the narrow protocol it uses (``platform/ports.py`` and the services' own), not on this.
    """

    viewers: ViewerRegistry
    stream_credentials: StreamCredentials
    onvif_credentials: OnvifCredentials
    # One budget for the web API and the ONVIF snapshot URI (IoT-1005-1 5.5.2.1).
    snapshots: SnapshotLimiter
    # Whether ONVIF is served (IoT-1005-1 5.2.2.1; off unless the owner turns it on).
    onvif_switch: OnvifSwitch

    # Started by Runtime; None until then.
    alerts: AlertService | None = None
    media: MediaPipeline | None = None
    recording: RecordingService | None = None
    detection: DetectionService | None = None
    update: UpdateService | None = None
    restart: Callable[[], None] | None = None  # asks the runtime to stop; the supervisor restarts


@dataclass
class Device:
    """Every service of the running device, built once and handed to the edges."""

    paths: DataPaths
    settings: Settings
    identity: DeviceIdentity
    vault: Vault
    tls: TlsIdentity
    seclog: SecurityLog
    db: Database
    hasher: PasswordHasher
    accounts: AccountStore
    sessions: SessionStore
    throttle: LoginThrottle
    auth: AuthService
    services: Services

    def record(self, action: Event, **kwargs: Any) -> SecurityEvent:
        return self.seclog.record(action, **kwargs)

    def describe(self) -> dict[str, Any]:
        return {
            "model": product.MODEL,
            "vendor": product.VENDOR,
            "version": product.VERSION,
            "device_id": self.identity.device_id,
            "serial": self.identity.serial,
            "certificate_fingerprint": self.tls.fingerprint(),
            "support_until": product.SUPPORT_UNTIL.isoformat(),
            "support_expired": product.support_expired(),
            "key_storage": self.vault.backend,
        }

    def password_changed(self, username: str) -> None:
        """``username`` chose its own password: the setup secret retires if it opened it."""
        if retire_setup_secret(username, self.paths.setup_secret_file):
            self.record(Event.DEVICE_SETUP_SECRET_RETIRED)

    def close(self) -> None:
        self.auth.failures.flush_all()
        self.hasher.close()
        self.db.close()


def open_device(paths: DataPaths, settings: Settings) -> Device:
    """Open a provisioned data dir; refuse with a clear StartupError when anything is off."""
    if not paths.identity_file.exists():
        raise StartupError(f"{paths.root} is not provisioned; run: vigilcam init")
    try:
        ident = DeviceIdentity.load(paths.identity_file)
    except (OSError, ValueError, KeyError) as exc:
        raise StartupError(f"identity file {paths.identity_file} is damaged: {exc}") from None
    try:
        vault = Vault(paths.vault_file, kek_store_for(paths.keys_dir, paths.kek_file),
                      paths.anchor_file)
        try:
            vault.open()
        except VaultRollbackError as exc:
            _record_rollback(paths, ident, settings, exc)
            raise
        tls = TlsIdentity(paths.cert_file, paths.key_file, vault)
        tls.renew_if_needed(ident, _hosts(settings))
        seclog = _security_log(paths, ident, settings, vault)
        seclog.open()
    except (VaultError, LogError) as exc:
        raise StartupError(str(exc)) from None
    except (OSError, ValueError) as exc:
        raise StartupError(f"cannot open device state: {exc}") from None
    hasher = PasswordHasher()
    db = Database(paths.accounts_db, ACCOUNTS_SCHEMA + SESSIONS_SCHEMA)
    context = [product.MODEL, "vigilcam", ident.serial, ident.device_id]
    accounts = AccountStore(db, hasher, context)
    sessions = SessionStore(db, settings.sessions)
    throttle = LoginThrottle(settings.throttle, is_known_source=accounts.is_known_source)
    failures = FailureLog(seclog.record, window_s=settings.throttle.failure_log_window_s)
    auth = AuthService(accounts, sessions, throttle, hasher, seclog.record, failures)
    services = Services(
        viewers=ViewerRegistry(seclog.record),
        stream_credentials=StreamCredentials(vault, accounts, seclog.record),
        onvif_credentials=OnvifCredentials(vault, accounts, seclog.record),
        snapshots=SnapshotLimiter(),
        onvif_switch=OnvifSwitch(paths.root, settings.onvif.enabled, settings.onvif.discovery))
    device = Device(paths, settings, ident, vault, tls, seclog, db, hasher, accounts, sessions,
                    throttle, auth, services)
    if seclog.repaired_tail:
        seclog.record(Event.SECLOG_TORN_WRITE_REPAIRED, result="error")
    if seclog.open_problems:
        seclog.record(Event.SECLOG_TAMPERING_DETECTED, result="error",
                      problems=seclog.open_problems)
    return device


def revocation_watcher(device: Device) -> RevocationWatcher:
    """The watcher that ends open streams whose grant is gone (IoT-1005-1 5.1.2.1, TAICS
    5.5.1.1), fed by the security log and by change markers of the accounts database and the
    vault (changes by the CLI in another process); the runtime starts and stops it."""
    db, vault_file, services = device.db, device.paths.vault_file, device.services
    # RTSPS lets a viewer in with the stream or the ONVIF credential (Home Assistant).
    video = VideoCredentials(services.stream_credentials, services.onvif_credentials)
    facts = AccountFacts(device.accounts, device.sessions, lambda: video)
    watcher = RevocationWatcher(services.viewers, facts,
                                lambda: (db.data_version(), file_marker(vault_file)))
    device.seclog.subscribe(watcher.notice)
    return watcher


def _security_log(
    paths: DataPaths, ident: DeviceIdentity, settings: Settings, vault: Vault
) -> SecurityLog:
    return SecurityLog(paths.seclog_dir, ident.device_id, vault.get(SECLOG_MAC_KEY),
                       vault.get(SECLOG_ARCHIVE_KEY), retention_days=settings.log_retention_days,
                       anchor=vault.anchor)


def _record_rollback(
    paths: DataPaths, ident: DeviceIdentity, settings: Settings, exc: VaultRollbackError
) -> None:
    """Log the refused vault before refusing to start (best effort: the old vault still holds
    the log keys, which never change outside a factory reset)."""
    try:
        seclog = _security_log(paths, ident, settings, exc.vault)
        seclog.open()
        seclog.record(Event.VAULT_ROLLBACK_DETECTED, result="error", problem=str(exc),
                      vault_version=exc.vault.version)
    except (VaultError, LogError, OSError, ValueError):
        pass  # the StartupError still names the rollback


def mark_running(device: Device) -> None:
    """Detect an unclean previous stop (power loss, kill -9) and mark this run."""
    marker = device.paths.run_marker
    if marker.exists():
        try:
            since = marker.read_text().strip()
        except OSError:
            since = "?"
        device.record(Event.DEVICE_UNCLEAN_SHUTDOWN, result="error", previous_start=since)
    atomic_write(marker, f"{time.time():.0f}\n".encode(), mode=0o600)


def mark_stopped(device: Device) -> None:
    try:
        os.unlink(device.paths.run_marker)
    except FileNotFoundError:
        pass
