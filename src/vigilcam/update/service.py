"""The update service: check, download, install into a slot, keep the status, record every step.

Owns the update workflow the CLI, the API and the scheduler call. Serves IoT-1005-1 5.3.1.1
(install into the inactive slot, health check, automatic rollback), 5.3.1.2 (TUF-verified,
encrypted packages over our TLS policy), 5.3.1.3 (status: current version, last check,
available update, result of the last install) and TAICS 5.2.8.1 (each step is a security event:
update.checked, update.refused, update.installed, update.rolled_back). Each check also fetches
the channel's signed vulnerability advisories for the audit of IoT-1005-1 5.2.1.1
(``sbom.advisories``).

One check or install at a time (ngclient's cache is single-writer): a lock serialises them.
"""

from __future__ import annotations

import json
import os
import ssl
import threading
from functools import partial
from pathlib import Path
from typing import Any

import vigilcam
from vigilcam import product
from vigilcam.platform.events import Event
from vigilcam.platform.fsutil import atomic_write
from vigilcam.platform.tls import client_context
from vigilcam.update import dependencies
from vigilcam.update.client import Release, UpdateClient
from vigilcam.update.config import UpdateConfig, UpdatePaths, code_key_path
from vigilcam.update.errors import RefusalKind, UpdateError
from vigilcam.update.manifest import MANIFEST_NAME, ManifestError, load_public_key, verify_installed
from vigilcam.update.scheduler import UpdateScheduler
from vigilcam.update.slots import HealthCheck, InstallOutcome, Recorder, SlotManager
from vigilcam.update.state import StateStore, UpdateStatus, utc_now

# Refusals that mean someone tampered with the channel or the release: "update.refused".
ATTACK_KINDS = {RefusalKind.ROLLBACK, RefusalKind.FREEZE, RefusalKind.MIX_AND_MATCH,
                RefusalKind.SIGNATURE, RefusalKind.TAMPERED, RefusalKind.DOWNGRADE,
                RefusalKind.DECRYPT, RefusalKind.PACKAGE, RefusalKind.METADATA}
PACKAGE_NAME = "vigilcam"
# Installed by the Debian package: starts the updater unit when an install is requested.
UPDATER_PATH_UNITS = ("/lib/systemd/system/vigilcam-update.path",
                      "/usr/lib/systemd/system/vigilcam-update.path",
                      "/etc/systemd/system/vigilcam-update.path")


class UpdateService:
    def __init__(
        self,
        data_root: Path,
        record: Recorder,
        *,
        config: UpdateConfig | None = None,
        installed_version: str = product.VERSION,
        distribution_key: bytes | None = None,
        context: ssl.SSLContext | None = None,
        timeout: float = 30.0,
        running_package: Path | None = None,
    ) -> None:
        self.paths = UpdatePaths(data_root)
        self.config = config or UpdateConfig.load(self.paths.config_file)
        self.record = record
        self.installed_version = installed_version
        self.distribution_key = distribution_key
        self._context = context
        self.timeout = timeout
        self.store = StateStore(self.paths.state_file)
        self.slots = SlotManager(Path(self.config.install_root), self.paths.restart_pending)
        self._lock = threading.Lock()
        # the package that runs now: its dependencies.txt is what the environment provides
        self.running_package = running_package or Path(vigilcam.__file__).resolve().parent

    @classmethod
    def for_device(cls, device: Any) -> UpdateService:
        """The service for an opened ``Device`` (record path, data dir, vault key)."""
        from vigilcam.update.config import DISTRIBUTION_KEY_SECRET

        return cls(device.paths.root, device.record,
                   distribution_key=device.vault.find(DISTRIBUTION_KEY_SECRET))

    def scheduler(self, *, first_delay: float = 300.0) -> UpdateScheduler:
        """The periodic check (5.3.1.3) for the runtime to start and stop."""
        return UpdateScheduler(self.scheduled_check, interval=self.config.interval_hours * 3600,
                               jitter=self.config.jitter, first_delay=first_delay)

    # --- status (5.3.1.3) -----------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        status = self.store.load(self.installed_version)
        out = status.public()
        out["current_slot"] = self.slots.current_slot()
        out["repository_url"] = self.config.repository_url or None
        out["configured"] = self.configured_problem() is None
        out["check_interval_hours"] = self.config.interval_hours
        out["supported_until"] = product.SUPPORT_UNTIL.isoformat()  # 5.3.1.4
        try:  # an install handed to the updater unit and not started yet
            out["install_requested"] = json.loads(self.paths.install_request.read_text())["at"]
        except (OSError, ValueError, KeyError, TypeError):
            out["install_requested"] = None
        return out

    def configured_problem(self) -> str | None:
        if not self.config.repository_url:
            return "no update repository configured"
        if not self.paths.trusted_root.exists():
            return f"no pinned TUF root at {self.paths.trusted_root}"
        if not self.paths.code_key.exists():
            return f"no pinned code-signing key at {self.paths.code_key}"
        return None

    # --- check ----------------------------------------------------------------------------

    def _client(self) -> UpdateClient:
        problem = self.configured_problem()
        if problem:
            raise UpdateError(RefusalKind.CONFIG, f"{problem}: run `vigilcam update configure`")
        context = self._context or client_context(
            cafile=self.paths.ca_file if self.paths.ca_file.exists() else None)
        return UpdateClient(
            metadata_dir=self.paths.metadata_dir, downloads_dir=self.paths.downloads_dir,
            trusted_root=self.paths.trusted_root.read_bytes(),
            repository_url=self.config.repository_url, context=context,
            distribution_key=self.distribution_key, timeout=self.timeout)

    def _recorder(self, user: str | None, source: str | None) -> Recorder:
        """The one record path, with who asked (CLI, API user, scheduler) when known."""
        if user is None and source is None:
            return self.record
        return partial(self.record, user=user, source=source)

    def _refused(self, status: UpdateStatus, exc: UpdateError, step: str,
                 record: Recorder) -> None:
        if step == "check":
            status.last_check = utc_now()
            status.last_check_result = str(exc)
        self.store.save(status)
        action = Event.UPDATE_REFUSED if exc.kind in ATTACK_KINDS else Event.UPDATE_CHECKED
        record(action, result="failure", step=step, kind=exc.kind.value, reason=str(exc),
                    installed=self.installed_version)

    def _check(self, client: UpdateClient, status: UpdateStatus,
               record: Recorder) -> Release | None:
        try:
            release = client.check(self.installed_version)
            advisories = client.advisories()
        except UpdateError as exc:
            self._refused(status, exc, "check", record)
            raise
        if advisories is not None:  # what the audit judges the installed packages by (5.2.1.1)
            atomic_write(self.paths.advisories_file, advisories, mode=0o600)
        status.last_check = utc_now()
        status.last_check_result = "ok"
        status.available_version = release.version if release else None
        self.store.save(status)
        tls = client.fetcher.last_tls
        record(Event.UPDATE_CHECKED, installed=self.installed_version,
                    available=status.available_version,
                    tls=f"{tls[0]} {tls[1]}" if tls else None,
                    advisories=advisories is not None)
        return release

    def _client_or_refuse(self, status: Any, record: Any) -> Any:
        """The TUF client, or the refusal recorded and raised (e.g. nothing pinned yet)."""
        try:
            return self._client()
        except UpdateError as exc:
            self._refused(status, exc, "check", record)
            raise

    def check(self, *, user: str | None = None, source: str | None = None) -> Release | None:
        """Ask the repository for a newer release (raises UpdateError when refused)."""
        record = self._recorder(user, source)
        with self._lock:
            status = self.store.load(self.installed_version)
            client = self._client_or_refuse(status, record)
            return self._check(client, status, record)

    def scheduled_check(self) -> None:
        """For the scheduler: like ``check`` but never raises (the events tell what happened)."""
        try:
            self.check(source="scheduler")
        except UpdateError:
            pass

    # --- install (5.3.1.1) ----------------------------------------------------------------

    def _verifier(self, version: str) -> Any:
        def verify(slot: Path) -> None:
            try:  # the root-owned pin ($VIGILCAM_CODE_KEY) when the package set one
                key = load_public_key(code_key_path(self.paths.data_root))
            except ManifestError as exc:
                raise UpdateError(RefusalKind.CONFIG, str(exc)) from None
            check = verify_installed(slot / PACKAGE_NAME / MANIFEST_NAME, key)
            if not check.ok:
                raise UpdateError(RefusalKind.PACKAGE, "the new code does not match its signed "
                                  "manifest: " + "; ".join(check.problems[:5]))
            if check.version != version:
                raise UpdateError(RefusalKind.PACKAGE, f"the code manifest says {check.version}, "
                                  f"the signed release says {version}")
            needed = dependencies.read(slot / PACKAGE_NAME)
            provided = dependencies.read(self.running_package)
            if needed is not None and provided is not None:
                differ = dependencies.changes(provided, needed)
                if differ:
                    raise UpdateError(RefusalKind.PACKAGE, f"release {version} needs other "
                                      f"bundled dependencies ({'; '.join(differ[:8])}): install "
                                      "its system package instead (docs/install.md)")
        return verify

    def install(self, health_check: HealthCheck | None = None, *, user: str | None = None,
                source: str | None = None) -> InstallOutcome | None:
        """Check, download, verify, install into the inactive slot, health-check, maybe roll
        back. None when there is nothing newer."""
        from vigilcam.update.health import SmokeBootCheck

        record = self._recorder(user, source)
        with self._lock:
            self.paths.install_request.unlink(missing_ok=True)  # this is the install asked for
            status = self.store.load(self.installed_version)
            client = self._client_or_refuse(status, record)
            release = self._check(client, status, record)
            if release is None:
                return None
            try:
                tar = client.download(release, self.installed_version)
            except UpdateError as exc:
                self._refused(status, exc, "download", record)
                outcome = InstallOutcome("refused", release.version, self.slots.current_slot(),
                                         str(exc))
                self._remember(status, outcome)
                raise
            check = health_check or SmokeBootCheck(
                release.version, code_key=code_key_path(self.paths.data_root))
            outcome = self.slots.install(tar, release.version, health_check=check,
                                         record=record, verify=self._verifier(release.version))
            if outcome.ok:
                status.available_version = None
            self._remember(status, outcome)
            return outcome

    def installs_elsewhere(self) -> bool:
        """True on a packaged device whose camera process cannot write the install root (its
        unit makes it read-only): installs are then handed to ``vigilcam-update.service``.
        Elsewhere an install runs here, and a root it cannot write is its error to report."""
        if not any(Path(unit).exists() for unit in UPDATER_PATH_UNITS):
            return False
        root = self.slots.root
        while not root.exists() and root != root.parent:
            root = root.parent
        return not os.access(root, os.W_OK)

    def request_install(self, *, user: str | None = None,
                        source: str | None = None) -> dict[str, Any]:
        """Hand an install to the updater unit (``vigilcam-update.path`` watches the request);
        the install itself records its steps and result as any install does."""
        asked = {"at": utc_now(), "user": user, "source": source}
        self.paths.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        atomic_write(self.paths.install_request, json.dumps(asked).encode(), mode=0o600)
        self._recorder(user, source)(Event.UPDATE_INSTALL_REQUESTED,
                                     installed=self.installed_version)
        return asked

    def _remember(self, status: UpdateStatus, outcome: InstallOutcome) -> None:
        entry = {"version": outcome.version, "result": outcome.result, "at": utc_now(),
                 "slot": outcome.slot, "detail": outcome.detail}
        status.last_install = entry
        status.history.append(entry)
        status.current_slot = self.slots.current_slot()
        self.store.save(status)
