"""Pictures that go with an alert: the before/after thumbnails of a tamper event.

Owns how the alert service finds tamper evidence (``device.services.detection.evidence``,
kept in memory by the detection service) without importing it. Serves TAICS TS 5100-2-1
5.1.2.1 (the owner sees what the camera saw before and after the tampering). Email and apprise
push carry the pictures; webhook and MQTT bodies name the API paths of the same pictures.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from vigilcam.alerts.ports import AlertDevice
from vigilcam.alerts.rules import Alert

MAX_PICTURE_BYTES = 512 * 1024


class Attachment(NamedTuple):
    filename: str
    maintype: str
    subtype: str
    data: bytes


Attachments = Callable[[Alert], list[Attachment]]


def tamper_pictures(device: AlertDevice) -> Attachments:
    """A lookup of the thumbnails for a raised tamper alert (empty for anything else)."""

    def find(alert: Alert) -> list[Attachment]:
        if not alert.event.startswith("tamper.") or alert.severity == "info":
            return []
        detection = device.services.detection
        found = detection.evidence if detection is not None else {}
        evidence = found.get(alert.event.split(".", 1)[1])
        out = []
        for which in ("before", "after"):
            data = getattr(evidence, f"{which}_jpeg", b"") if evidence is not None else b""
            if isinstance(data, bytes) and 0 < len(data) <= MAX_PICTURE_BYTES:
                out.append(Attachment(f"{alert.event}-{which}.jpg", "image", "jpeg", data))
        return out

    return find
