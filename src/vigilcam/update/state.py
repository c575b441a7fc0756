"""The update status the device shows: current version, last check, available update, last install.

Owns ``<data dir>/update/state.json``. Serves IoT-1005-1 5.3.1.3 (the UI and API show the
update status) and 5.3.1.1 (the result of the last install, including a rollback, survives a
restart). Written crash-safe (old or new file after a power loss, IoT-1005-1 5.6.1.1).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from vigilcam.platform.fsutil import atomic_write


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass
class UpdateStatus:
    current_version: str
    current_slot: str | None = None
    last_check: str | None = None  # ISO UTC of the last completed or refused check
    last_check_result: str | None = None  # "ok" or "<kind>: <reason>"
    available_version: str | None = None
    last_install: dict[str, Any] | None = None  # version, result, at, detail, slot
    history: list[dict[str, Any]] = field(default_factory=list)  # last installs, newest last

    def public(self) -> dict[str, Any]:
        return asdict(self)


class StateStore:
    HISTORY = 20

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self, current_version: str) -> UpdateStatus:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return UpdateStatus(current_version)
        except (OSError, ValueError):
            # A torn or foreign file must not stop the device: start a fresh status.
            return UpdateStatus(current_version, last_check_result="state file unreadable; reset")
        known = {k: v for k, v in data.items() if k in UpdateStatus.__dataclass_fields__}
        status = UpdateStatus(**{**known, "current_version": current_version})
        return status

    def save(self, status: UpdateStatus) -> None:
        status.history = status.history[-self.HISTORY:]
        atomic_write(self.path, json.dumps(status.public(), indent=1).encode(), mode=0o600)
