"""The narrow views of the device that services depend on, instead of the composition root.

Owns the protocols several services share: the one ``record()`` of the security log (TAICS
5.2.8.1: every security event through one call) and the device's data folder and vault
(IoT-1005-1 5.4.1.2: secrets only in the vault). A service's own protocol extends these with
what only it needs (``alerts/ports.py``, ``recording.service.RecordingDevice``,
``privacy.erase.ErasableDevice``); ``app.Device`` satisfies them all.
"""

from __future__ import annotations

from typing import Any, Protocol

from vigilcam.platform.events import Event
from vigilcam.platform.paths import DataPaths
from vigilcam.platform.vault import Vault


class EventRecorder(Protocol):
    """Where a service reports a security event (``Device.record``)."""

    def record(self, action: Event, **kwargs: Any) -> Any: ...


class DeviceState(EventRecorder, Protocol):
    """The data folder, the vault and the security log's ``record()``."""

    paths: DataPaths
    vault: Vault
