"""Product facts: model name, version, vendor contact and the support period.

One home for what the device says about itself. Serves IoT-1005-1 5.2.3.4 (model name shown)
and 5.3.1.4 (support period stated; the device warns once it is past).
"""

from __future__ import annotations

import datetime as dt

from vigilcam import __version__

MODEL = "vigilcam VC-1"
VENDOR = "vigilcam project"
VERSION = __version__
SUPPORT_UNTIL = dt.date(2031, 12, 31)
SECURITY_CONTACT = "https://github.com/vigilcam/vigilcam/security/advisories/new"
SECURITY_POLICY = "https://github.com/vigilcam/vigilcam/blob/main/SECURITY.md"


def support_expired(today: dt.date | None = None) -> bool:
    """True once the stated support period is over (5.3.1.4: the device warns)."""
    return (today or dt.date.today()) > SUPPORT_UNTIL
