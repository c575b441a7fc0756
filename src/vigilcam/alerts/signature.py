"""The webhook signature: HMAC-SHA256 over ``timestamp + "." + body``, and its check.

Owns the ``X-Vigilcam-Signature: t=<unix>,v1=<hex>`` header (documented in docs/alerts.md).
Serves IoT-1005-1 5.8.1.1 (alerts authentic: a receiver knows the device sent it) and 5.1.1.3
(replay resistance: receivers refuse a timestamp outside their tolerance and an alert ID they
have seen). Pure; the receiver side is here too so receivers and tests share one definition.
"""

from __future__ import annotations

import hashlib
import hmac

HEADER = "X-Vigilcam-Signature"
ALERT_ID_HEADER = "X-Vigilcam-Alert-Id"
DEVICE_HEADER = "X-Vigilcam-Device-Id"
DEFAULT_TOLERANCE_S = 300


class SignatureError(Exception):
    """The signature is missing, malformed, wrong or too old (replay)."""


def sign(key: bytes, body: bytes, timestamp: int) -> str:
    mac = hmac.new(key, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(key: bytes, header: str | None, body: bytes, now: float,
           tolerance_s: float = DEFAULT_TOLERANCE_S) -> int:
    """Check a signature header; return its timestamp or raise SignatureError."""
    if not header:
        raise SignatureError(f"missing {HEADER} header")
    fields: dict[str, str] = {}
    for part in header.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep:
            raise SignatureError("malformed signature header")
        fields[name] = value
    try:
        timestamp = int(fields["t"])
        given = fields["v1"]
    except (KeyError, ValueError):
        raise SignatureError("signature header needs t=<unix> and v1=<hex>") from None
    if abs(now - timestamp) > tolerance_s:
        raise SignatureError("signature timestamp outside tolerance (stale or replayed)")
    expected = sign(key, body, timestamp).split("v1=", 1)[1]
    if not hmac.compare_digest(expected, given):
        raise SignatureError("signature does not match")
    return timestamp
