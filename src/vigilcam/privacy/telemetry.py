"""Telemetry: vigilcam sends none.

Owns the statement the audit checks (IoT-1005-1 5.7.1.2; EN 303 645 6): no usage statistics,
crash reports, analytics or "phone home" of any kind leave the device. The only outbound
connections are the ones the owner configures (alert channels, an upstream RTSP source, the
update server when one is configured), each named in ``docs/privacy.md``. Should telemetry ever
be added, it must be off by default, list its fields and recipients here, and record consent
and its withdrawal as security events.
"""

from __future__ import annotations

from typing import Any


def telemetry_statement() -> dict[str, Any]:
    """What is sent, why, to whom: nothing, to no one."""
    return {
        "enabled": False,
        "fields": [],
        "recipients": [],
        "purpose": "none: vigilcam collects and sends no telemetry",
        "consent": None,
        "other_outbound": OUTBOUND,
    }


OUTBOUND: list[dict[str, str]] = [
    {"what": "security alerts", "when": "only when the owner adds an alert channel",
     "sends": "the alert text (event, time, device ID, user name and address involved)",
     "to": "the e-mail server, webhook, MQTT broker or push service the owner configured"},
    {"what": "software update check", "when": "only when the owner configures an update "
     "repository", "sends": "requests for signed metadata; User-Agent with model and version",
     "to": "the update repository URL the owner configured"},
    {"what": "video source", "when": "only with an RTSP source",
     "sends": "the stream request and the source credentials the owner gave",
     "to": "the upstream camera the owner configured"},
]
"""Connections that are not telemetry but carry data off the device; all set up by the owner."""
