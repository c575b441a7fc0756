"""What a refused verified start does before exiting: a security event and an active alert.

Owns the reaction to installed code that does not match its signed manifest, TAICS 5.1.4.1
("boot only after integrity is verified"; the owner learns that it did not). ``vigilcam run``
calls ``report_refused_start`` after ``manifest.verify_start`` said "refused", then exits
without serving anything: the event ``code.verification_failed`` (with the files that differ)
goes into the security log, and the alert service delivers it once to every configured
channel (a critical tamper alert, ``alerts/rules.py``) within a bounded time.

Limit (docs/updates.md, "Limits"): the reporting code is part of the installed code; an
attacker who rewrites the verifier can also silence this report. The refusal itself happens
before any of the changed modules of the camera is imported.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from vigilcam.platform.events import Event

if TYPE_CHECKING:
    from vigilcam.platform.config import Settings
    from vigilcam.platform.paths import DataPaths
    from vigilcam.update.manifest import StartVerdict

log = logging.getLogger(__name__)
EVENT = Event.CODE_VERIFICATION_FAILED


def report_refused_start(paths: DataPaths, settings: Settings, verdict: StartVerdict, *,
                         deliver_timeout: float = 20.0) -> bool:
    """Record the refusal and deliver its alert; True when a channel confirmed delivery."""
    from vigilcam.app import StartupError, open_device

    if not paths.identity_file.exists():
        return False  # never provisioned: no log and no channel to tell
    try:
        device = open_device(paths, settings)
    except (StartupError, OSError) as exc:
        log.error("verified start refused; the refusal could not be logged: %s", exc)
        return False
    try:
        check = verdict.check
        device.record(EVENT, result="failure", reason=verdict.detail[:2000],
                      mismatches=check.mismatches[:50] if check else [])
        return asyncio.run(_deliver(device, deliver_timeout))
    finally:
        device.close()


async def _deliver(device: object, timeout: float) -> bool:
    from vigilcam.alerts.service import AlertService

    service = AlertService(device)  # type: ignore[arg-type]
    try:
        await service.start()
        if not service.list_channels():
            return False
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and service.delivered_total == 0:
            await asyncio.sleep(0.1)
        return service.delivered_total > 0
    finally:
        await service.stop()
        service.close()
