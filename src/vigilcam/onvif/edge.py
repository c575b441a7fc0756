"""The ONVIF edge's own state, built once per device by the composition (``Runtime``).

Owns what the ONVIF endpoints keep between requests: the on/off switch, the WS-Security gate
(its replay cache), the snapshot URI's Digest verifier (its nonces) and, once the runtime
started it, the event hub that feeds pull-point subscriptions. Serves IoT-1005-1 5.2.2.1 (the
switch), 5.1.1.3 (one replay cache and one nonce store per device, whichever request comes)
and TAICS 5.1.2.1 (tamper events reach subscribers through the one hub).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vigilcam.auth.digest import DigestVerifier, NonceStore
from vigilcam.onvif_switch import OnvifSwitch

from .gate import OnvifGate
from .pullpoint import EventHub

SNAPSHOT_REALM = "vigilcam-onvif"
SNAPSHOT_NONCE_LIFETIME_S = 300.0


@dataclass
class OnvifEdge:
    device: Any  # vigilcam.app.Device
    switch: OnvifSwitch
    gate: OnvifGate
    snapshot_digest: DigestVerifier
    events: EventHub | None = field(default=None)  # set by lifecycle.start_events

    @classmethod
    def for_device(cls, device: Any) -> OnvifEdge:
        return cls(
            device, device.services.onvif_switch,
            OnvifGate(device.auth, device.services.onvif_credentials,
                      device.settings.onvif.created_window_s),
            DigestVerifier(SNAPSHOT_REALM, NonceStore(lifetime=SNAPSHOT_NONCE_LIFETIME_S)))
