"""Factory reset with crypto-erase: destroy the keys first, then the data; keep the device ID.

Owns returning a device to its first-start state (IoT-1005-1 5.7.1.1: the user can delete all
data; 5.4.1.2: data encrypted at rest is unreadable once its keys are gone; TAICS 5.1.3.2: a
reset never restores a known password, it creates a NEW unique setup secret; IoT-1005-1
5.1.1.1: the device ID is never reused by another device and is kept by this one).

Order (each step safe to interrupt; rerunning finishes the job):
1. the key-encryption key is overwritten and unlinked (``FileKek.destroy``), then the vault and
   the TLS private key: from this moment no copy of the disk decrypts a recording, the vault or
   the TLS key, because every one of them was wrapped, directly or not, by the KEK;
2. every other file in the data dir is removed, except ``identity.json`` (the device ID and
   serial) and ``config.toml`` (installer settings: no personal data, no secrets);
3. provisioning runs again with the SAME identity: new KEK, vault, recording master key, log
   keys, TLS key and certificate, a fresh ``admin`` with a new random setup secret that must be
   changed at first login; the new security log starts with ``device.factory_reset``.

The service must be stopped while this runs (the running marker is checked).
"""

from __future__ import annotations

import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from vigilcam.platform.config import Settings, load_settings
from vigilcam.platform.events import Event
from vigilcam.platform.fsutil import fsync_dir
from vigilcam.platform.identity import DeviceIdentity
from vigilcam.platform.paths import DataPaths
from vigilcam.platform.seclog import SecurityLog
from vigilcam.platform.tpm import TpmKek
from vigilcam.platform.vault import FileKek

KEEP = frozenset({"identity.json", "config.toml"})


class FactoryResetError(Exception):
    """The reset cannot run; the message says why and what to do."""


@dataclass(frozen=True)
class FactoryResetReport:
    device_id: str
    serial: str
    setup_secret: str
    destroyed_keys: tuple[str, ...]
    removed: tuple[str, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "device_id": self.device_id,
            "serial": self.serial,
            "destroyed_keys": list(self.destroyed_keys),
            "removed": list(self.removed),
        }


def shred(path: Path) -> bool:
    """Overwrite a file with random bytes, fsync, unlink. False when it did not exist.

    On flash and copy-on-write file systems the old blocks may survive; secrecy rests on the
    keys being gone, which is why the KEK goes first.
    """
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return False
    with open(path, "r+b") as fh:
        remaining = size
        while remaining > 0:
            n = min(remaining, 1 << 20)
            fh.write(secrets.token_bytes(n))
            remaining -= n
        fh.flush()
        os.fsync(fh.fileno())
    path.unlink()
    return True


def _destroy_keys(paths: DataPaths) -> list[str]:
    destroyed: list[str] = []
    kek = FileKek(paths.kek_file)
    if kek.exists():
        kek.destroy()
        destroyed.append(str(paths.kek_file.relative_to(paths.root)))
    sealed = TpmKek(paths.keys_dir, "")  # TAICS 5.2.5.2: blobs only the TPM can unseal
    if sealed.exists():
        sealed.destroy()
        destroyed += [str(p.relative_to(paths.root)) for p in (sealed.pub_file, sealed.priv_file)]
    for p in (paths.vault_file, paths.key_file):
        if shred(p):
            destroyed.append(str(p.relative_to(paths.root)))
    for folder in (paths.keys_dir, paths.root, paths.tls_dir):
        if folder.is_dir():
            fsync_dir(folder)
    return destroyed


def _remove_data(paths: DataPaths) -> list[str]:
    removed: list[str] = []
    for entry in sorted(paths.root.iterdir()):
        if entry.name in KEEP:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
        removed.append(entry.name)
    fsync_dir(paths.root)
    return removed


class ProvisionState(Protocol):
    """Provisioning for a kept identity (the composition root's ``create_device_state``):
    new keys, vault, certificate, admin with a setup secret, and the security log."""

    def __call__(self, paths: DataPaths, settings: Settings,
                 ident: DeviceIdentity) -> tuple[str, SecurityLog]: ...


def _provision_again(paths: DataPaths, settings: Settings, ident: DeviceIdentity,
                     provision_state: ProvisionState) -> str:
    """Provisioning with the kept identity: new keys, vault, certificate, admin, log."""
    secret, seclog = provision_state(paths, settings, ident)
    seclog.record(Event.DEVICE_FACTORY_RESET, user="local", source="cli",
                  kept_device_id=ident.device_id)
    return secret


def factory_reset(
    data_dir: Path, provision_state: ProvisionState, settings: Settings | None = None, *,
    force: bool = False,
) -> FactoryResetReport:
    """Crypto-erase everything and provision again with the same device ID (through
    ``provision_state``, handed in by the composition: ``app.create_device_state``)."""
    paths = DataPaths(Path(data_dir))
    if not paths.identity_file.exists():
        raise FactoryResetError(f"{paths.root} is not a provisioned vigilcam data dir")
    try:
        ident = DeviceIdentity.load(paths.identity_file)
    except (OSError, ValueError, KeyError) as exc:
        raise FactoryResetError(f"identity file {paths.identity_file} is damaged: {exc}") from None
    if paths.run_marker.exists() and not force:
        raise FactoryResetError(
            f"the service seems to be running ({paths.run_marker} exists): stop it first; "
            "if it crashed, add --force"
        )
    if settings is None:
        settings = load_settings(paths.config_file, environ={})
    destroyed = _destroy_keys(paths)
    removed = _remove_data(paths)
    secret = _provision_again(paths, settings, ident, provision_state)
    return FactoryResetReport(ident.device_id, ident.serial, secret, tuple(destroyed),
                              tuple(removed))
