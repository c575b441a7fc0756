"""A/B slots: install into the inactive slot, switch, health-check, roll back on failure.

Owns the install state machine, IoT-1005-1 5.3.1.1 ("a failed update returns to normal
operation"). Layout under the install root::

    slot_a/  slot_b/  current -> slot_a      (the service runs PYTHONPATH=<root>/current)

Steps, each a security event through the one ``record`` path (TAICS 5.2.8.1):
1. unpack the package into the inactive slot (emptied first); an unsafe package or one whose
   code does not match its signed manifest is refused ("update.refused"), nothing switched;
2. switch ``current`` atomically (a new symlink renamed over the old: a crash leaves either);
3. run the health check on the new slot; on success "update.installed";
4. on failure switch back to the previous slot and record "update.rolled_back": the old
   version stays the one that runs.

The slot the service runs from is never emptied: after an install the service still runs the
previous slot until it restarts, so a second install before that restart (which would pick
the running slot as "inactive") is refused; the marker ``restart-pending`` says which slot
runs, and the service clears it when it starts (:meth:`SlotManager.started`).

Pure apart from the folder operations; the health check is a callable the caller gives.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vigilcam.platform.events import Event, Record
from vigilcam.platform.fsutil import atomic_write, fsync_dir
from vigilcam.update import package
from vigilcam.update.errors import RefusalKind, UpdateError

SLOTS = ("slot_a", "slot_b")
CURRENT = "current"
RESTART_PENDING = "restart-pending"


@dataclass(frozen=True)
class HealthResult:
    ok: bool
    detail: str


HealthCheck = Callable[[Path], HealthResult]
Verifier = Callable[[Path], None]  # raises UpdateError when the slot's code is not authorised
Recorder = Record


@dataclass(frozen=True)
class InstallOutcome:
    result: str  # "installed" | "rolled_back" | "refused"
    version: str
    slot: str | None  # the slot that runs afterwards
    detail: str

    @property
    def ok(self) -> bool:
        return self.result == "installed"


class SlotManager:
    def __init__(self, root: Path, pending_file: Path | None = None) -> None:
        self.root = root
        # Where "an installed update waits for a restart" is kept: the service clears it at
        # start, so it must be writable by the service; the packaged unit makes the install
        # root read-only for the service (ProtectSystem=strict), so devices keep it in the
        # data dir (``UpdatePaths.restart_pending``).
        self._pending = pending_file or root / RESTART_PENDING

    @property
    def current_link(self) -> Path:
        return self.root / CURRENT

    def current_slot(self) -> str | None:
        try:
            target = os.readlink(self.current_link)
        except OSError:
            return None
        return target if target in SLOTS else None

    def inactive_slot(self) -> str:
        return SLOTS[1] if self.current_slot() == SLOTS[0] else SLOTS[0]

    def slot_path(self, name: str) -> Path:
        if name not in SLOTS:
            raise ValueError(f"unknown slot {name!r}")
        return self.root / name

    def switch(self, name: str | None) -> None:
        """Point ``current`` at ``name`` atomically (None: remove the pointer)."""
        self.root.mkdir(parents=True, exist_ok=True)
        if name is None:
            self.current_link.unlink(missing_ok=True)
        else:
            self.slot_path(name)
            tmp = self.root / f".{CURRENT}.{os.getpid()}.tmp"
            tmp.unlink(missing_ok=True)
            os.symlink(name, tmp)  # relative: the root can move as a whole
            os.replace(tmp, self.current_link)
        fsync_dir(self.root)

    def _empty(self, name: str) -> Path:
        path = self.slot_path(name)
        if path.exists():
            shutil.rmtree(path)
        path.mkdir(parents=True, mode=0o755)
        return path

    def install(
        self,
        tar_bytes: bytes,
        version: str,
        *,
        health_check: HealthCheck,
        record: Recorder,
        verify: Verifier | None = None,
    ) -> InstallOutcome:
        previous = self.current_slot()
        target = self.inactive_slot()
        running = self.running_slot_if_pending()
        if running is not None:
            reason = (f"the service still runs {running}: restart it to start the version "
                      "installed before, then install this one")
            record(Event.UPDATE_REFUSED, result="failure", version=version, step="pending-restart",
                   reason=reason)
            return InstallOutcome("refused", version, previous, reason)
        # 1. unpack and verify, with nothing switched yet
        try:
            path = self._empty(target)
            package.unpack(tar_bytes, path)
            if verify is not None:
                verify(path)
        except (UpdateError, OSError) as exc:
            shutil.rmtree(self.slot_path(target), ignore_errors=True)
            record(Event.UPDATE_REFUSED, result="failure", version=version, step="unpack",
                   reason=str(exc))
            return InstallOutcome("refused", version, previous, str(exc))
        # 2. switch
        self.switch(target)
        # 3. health check on the new slot
        try:
            health = health_check(path)
        except Exception as exc:  # noqa: BLE001 - a crashing check is a failed check
            health = HealthResult(False, f"health check crashed: {type(exc).__name__}: {exc}")
        if health.ok:
            if previous is not None:
                self._write_pending(previous)
            record(Event.UPDATE_INSTALLED, version=version, slot=target, previous_slot=previous,
                   health=health.detail)
            return InstallOutcome("installed", version, target, health.detail)
        # 4. automatic rollback
        self.switch(previous)
        record(Event.UPDATE_ROLLED_BACK, result="failure", version=version, failed_slot=target,
               restored_slot=previous, reason=health.detail)
        return InstallOutcome("rolled_back", version, previous, health.detail)

    @property
    def _pending_file(self) -> Path:
        return self._pending

    def _write_pending(self, running: str) -> None:
        atomic_write(self._pending, (running + "\n").encode(), mode=0o600)

    def running_slot_if_pending(self) -> str | None:
        """The slot the service still runs when an installed update waits for a restart."""
        try:
            running = self._pending_file.read_text().strip()
        except OSError:
            return None
        return running if running in SLOTS and running != self.current_slot() else None

    def started(self) -> None:
        """The service started from ``current``: nothing waits for a restart any more."""
        self._pending_file.unlink(missing_ok=True)

    def rollback(self, record: Recorder, reason: str) -> str | None:
        """Switch back to the other slot when it holds an installed version (by hand or boot
        watchdog); returns the slot now current."""
        current = self.current_slot()
        other = SLOTS[1] if current == SLOTS[0] else SLOTS[0]
        if not self.slot_path(other).is_dir() or not any(self.slot_path(other).iterdir()):
            raise UpdateError(RefusalKind.PACKAGE, "no previous version to roll back to")
        self.switch(other)
        record(Event.UPDATE_ROLLED_BACK, result="ok", failed_slot=current, restored_slot=other,
               reason=reason)
        return other
