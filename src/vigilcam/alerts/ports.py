"""What the alert service needs of the device: the narrow view the composition root satisfies.

Owns the alert service's dependency on the rest of the device, so it imports no composition
root (docs/architecture.md: services depend on protocols, the root hands in the real things).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from vigilcam.platform.identity import DeviceIdentity
from vigilcam.platform.ports import DeviceState
from vigilcam.platform.seclog import SecurityLog


class TamperEvidenceSource(Protocol):
    """The detection service, as far as alerts see it: the last evidence per tamper kind."""

    @property
    def evidence(self) -> Mapping[str, Any]: ...


class AlertServices(Protocol):
    @property
    def detection(self) -> TamperEvidenceSource | None: ...


class AlertDevice(DeviceState, Protocol):
    identity: DeviceIdentity
    seclog: SecurityLog

    @property
    def services(self) -> AlertServices: ...
