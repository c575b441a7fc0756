"""Whether ONVIF is on: the owner's choice, kept in the data dir (``onvif.json``).

Owns the on/off switch of the ONVIF edge, kept below the edges so that the web API, the CLI
and the ONVIF edge itself share one instance (``Services.onvif_switch``, built by the
composition root). Serves IoT-1005-1 5.2.2.1 (a network service is off until the owner turns it
on: the default is the settings' ``onvif.enabled``, False) and TAICS 5.2.8.1 (every change is a
security event, recorded by the caller). The CLI runs in another process than ``vigilcam run``;
the server re-reads the file when its modification time changes, so ``vigilcam onvif disable``
takes effect at the next request.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from vigilcam.platform.fsutil import atomic_write

STATE_FILE = "onvif.json"


@dataclass(frozen=True)
class OnvifState:
    enabled: bool
    discovery: bool


class OnvifSwitch:
    """Reads and writes ``onvif.json``; falls back to the settings when there is none."""

    def __init__(self, root: Path, default_enabled: bool, default_discovery: bool) -> None:
        self.path = root / STATE_FILE
        self._default = OnvifState(default_enabled, default_discovery)
        self._cached: tuple[float, OnvifState] | None = None

    def current(self) -> OnvifState:
        try:
            mtime = os.stat(self.path).st_mtime_ns
        except FileNotFoundError:
            return self._default
        if self._cached is not None and self._cached[0] == mtime:
            return self._cached[1]
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            state = OnvifState(bool(data["enabled"]), bool(data.get("discovery", False)))
        except (OSError, ValueError, KeyError, TypeError):
            state = OnvifState(False, False)  # unreadable: stay closed (fail safe)
        self._cached = (mtime, state)
        return state

    def set(self, *, enabled: bool | None = None, discovery: bool | None = None) -> OnvifState:
        now = self.current()
        state = OnvifState(now.enabled if enabled is None else enabled,
                           now.discovery if discovery is None else discovery)
        atomic_write(self.path, json.dumps({"enabled": state.enabled,
                                            "discovery": state.discovery}).encode(), mode=0o600)
        return state
