"""The device side of updates: python-tuf's ``Updater`` over our TLS fetcher, then decrypt.

Owns the check and the download, IoT-1005-1 5.3.1.2. Trust starts at the root metadata pinned
on the device (``trusted_root``); ngclient then loads root -> timestamp -> snapshot -> targets
in that order and refuses (TUF spec 5.3-5.6): metadata older than what it already trusts
(rollback), expired metadata (freeze), metadata whose versions do not match the snapshot or
timestamp (mix-and-match), signatures that do not meet the role's threshold, and a package
whose length or SHA-256 differs from the signed targets metadata. Each refusal becomes an
``UpdateError`` with a ``RefusalKind``. A validly signed package that is not newer than the
installed version is refused too (downgrade).

The metadata cache (``metadata_dir``) under the data dir is what makes rollback protection
survive a restart; it must persist.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tuf.api import exceptions
from tuf.api.metadata import TargetFile
from tuf.ngclient import Updater, UpdaterConfig

from vigilcam.update import package
from vigilcam.update.errors import RefusalKind, UpdateError
from vigilcam.update.fetcher import TlsFetcher
from vigilcam.update.repository import ADVISORIES_NAME, TARGET_NAME
from vigilcam.update.versions import is_newer


@dataclass(frozen=True)
class Release:
    """What the signed targets metadata offers: version and the verified target info."""

    version: str
    target: TargetFile
    custom: dict[str, Any]


def refusal(exc: Exception) -> UpdateError:
    """Name the attack or failure behind an ngclient exception."""
    text = str(exc) or type(exc).__name__
    if isinstance(exc, UpdateError):
        return exc
    if isinstance(exc, exceptions.ExpiredMetadataError):
        return UpdateError(RefusalKind.FREEZE, f"freeze attack refused: {text}")
    if isinstance(exc, exceptions.UnsignedMetadataError):
        return UpdateError(RefusalKind.SIGNATURE, f"not signed by the trusted keys: {text}")
    if isinstance(exc, exceptions.BadVersionNumberError):
        if "must be >=" in text:  # older than what the device already trusts (spec 5.4.3)
            return UpdateError(RefusalKind.ROLLBACK, f"rollback attack refused: {text}")
        # "Expected targets v1, got v2": the file does not belong to this snapshot (5.5.3)
        return UpdateError(RefusalKind.MIX_AND_MATCH, f"mix-and-match refused: {text}")
    if isinstance(exc, exceptions.LengthOrHashMismatchError):
        return UpdateError(RefusalKind.TAMPERED, f"tampered download refused: {text}")
    if isinstance(exc, exceptions.DownloadLengthMismatchError):
        return UpdateError(RefusalKind.TAMPERED, f"download longer than signed: {text}")
    if isinstance(exc, exceptions.RepositoryError):
        return UpdateError(RefusalKind.METADATA, f"repository metadata refused: {text}")
    if isinstance(exc, exceptions.DownloadError):
        cause = exc.__cause__
        detail = f"{text} ({cause})" if cause else text
        return UpdateError(RefusalKind.DOWNLOAD, f"update server unreachable: {detail}")
    if isinstance(exc, OSError):
        return UpdateError(RefusalKind.DOWNLOAD, f"local update cache: {exc}")
    return UpdateError(RefusalKind.METADATA, f"{type(exc).__name__}: {text}")


class UpdateClient:
    """One check (and optionally one download) per ``Updater``, as ngclient requires."""

    def __init__(
        self,
        *,
        metadata_dir: Path,
        downloads_dir: Path,
        trusted_root: bytes,
        repository_url: str,
        context: ssl.SSLContext,
        distribution_key: bytes | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.metadata_dir = metadata_dir
        self.downloads_dir = downloads_dir
        self.trusted_root = trusted_root
        self.base = repository_url.rstrip("/")
        self.fetcher = TlsFetcher(context, timeout=timeout)
        self.distribution_key = distribution_key
        self._updater: Updater | None = None

    def _new_updater(self) -> Updater:
        self.metadata_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        return Updater(
            metadata_dir=str(self.metadata_dir),
            metadata_base_url=f"{self.base}/metadata/",
            target_dir=str(self.downloads_dir),
            target_base_url=f"{self.base}/targets/",
            fetcher=self.fetcher,
            config=UpdaterConfig(targets_max_length=1_000_000, snapshot_max_length=1_000_000),
            bootstrap=self.trusted_root,
        )

    def latest(self) -> Release | None:
        """Refresh the signed metadata and return the release it names (None: none yet)."""
        try:
            self._updater = self._new_updater()
            self._updater.refresh()
            target = self._updater.get_targetinfo(TARGET_NAME)
        except Exception as exc:  # noqa: BLE001 - every failure is classified, none escapes raw
            raise refusal(exc) from exc
        if target is None:
            return None
        custom = target.custom.get("vigilcam") if isinstance(target.custom, dict) else None
        if not isinstance(custom, dict) or not isinstance(custom.get("version"), str):
            raise UpdateError(RefusalKind.PACKAGE, "the signed target names no version")
        return Release(custom["version"], target, custom)

    def advisories(self) -> bytes | None:
        """The signed vulnerability advisories of the state ``latest()`` loaded (None: the
        repository publishes none); length and SHA-256 verified like a package."""
        if self._updater is None:
            raise RuntimeError("call latest() or check() first")
        try:
            target = self._updater.get_targetinfo(ADVISORIES_NAME)
            if target is None:
                return None
            self.downloads_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            dest = self.downloads_dir / ADVISORIES_NAME
            try:
                self._updater.download_target(target, str(dest))
                return dest.read_bytes()
            finally:
                dest.unlink(missing_ok=True)
        except Exception as exc:  # noqa: BLE001 - every failure is classified, none escapes raw
            raise refusal(exc) from exc

    def check(self, installed_version: str) -> Release | None:
        """The newer release, if any (a signed but older or equal one is not offered)."""
        release = self.latest()
        if release is None or not is_newer(release.version, installed_version):
            return None
        return release

    def download(self, release: Release, installed_version: str) -> bytes:
        """Download, verify length and SHA-256 (ngclient), decrypt; return the tar bytes."""
        if not is_newer(release.version, installed_version):
            raise UpdateError(RefusalKind.DOWNGRADE, f"release {release.version} is not newer "
                              f"than the installed {installed_version}")
        if self._updater is None:
            raise RuntimeError("call latest() or check() first")
        self.downloads_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        dest = self.downloads_dir / f"{release.version}.pkg"
        try:
            self._updater.download_target(release.target, str(dest))
            blob = dest.read_bytes()
        except Exception as exc:  # noqa: BLE001
            raise refusal(exc) from exc
        finally:
            dest.unlink(missing_ok=True)
        key = package.key_from_field(release.custom, TARGET_NAME, self.distribution_key)
        return package.decrypt(blob, key, TARGET_NAME, release.version)
