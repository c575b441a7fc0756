"""Every TLS context of vigilcam, server and client, is built here and nowhere else.

Serves IoT-1005-1 5.4.2.1 (TLS >= 1.2 with forward secrecy for all data), 5.4.2.2 (credentials
only inside TLS), 5.3.1.2 (update channel TLS >= 1.2 with ECDHE) and TAICS 5.3.1.2 / 5.5.2.3
(AES-256 by default for data and video in transit).

Policy (a reviewer judges TLS by reading this file):
- TLS 1.2 minimum; TLS 1.3 allowed (its suites are all AEAD with ECDHE; OpenSSL lists
  TLS_AES_256_GCM_SHA384 first).
- TLS 1.2 suites: ECDHE key exchange with AES-GCM only, AES-256 first, server preference.
- No compression (CRIME), no renegotiation, no session tickets (forward secrecy of resumption).
- Clients verify the peer certificate and host name unless the caller pins a certificate.

The one deliberate exception: the conformance audit's probes (``compliance/tls_scan.py``,
``compliance/remote.py``) must be able to connect to a weak camera to report how weak it is, so
they build permissive observation contexts of their own; they carry no vigilcam data or secret.
"""

from __future__ import annotations

import ssl
from pathlib import Path

MINIMUM_VERSION = ssl.TLSVersion.TLSv1_2

TLS12_CIPHERS = ":".join(
    [
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "ECDHE-RSA-AES128-GCM-SHA256",
    ]
)

SERVER_GROUP = "prime256v1"

_HARDENING = (
    ssl.OP_NO_COMPRESSION
    | ssl.OP_NO_RENEGOTIATION
    | ssl.OP_CIPHER_SERVER_PREFERENCE
    | ssl.OP_NO_TICKET
    | ssl.OP_SINGLE_ECDH_USE
)


def _harden(ctx: ssl.SSLContext) -> ssl.SSLContext:
    ctx.minimum_version = MINIMUM_VERSION
    ctx.set_ciphers(TLS12_CIPHERS)
    ctx.options |= _HARDENING
    return ctx


def server_context(
    certfile: Path, keyfile: Path, password: bytes | None = None, *, alpn: list[str] | None = None
) -> ssl.SSLContext:
    """The server context for HTTPS, WSS, RTSPS and any other listener."""
    ctx = _harden(ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER))
    # One key-exchange group that every client has and NIST approves; no secp521r1/X448.
    ctx.set_ecdh_curve(SERVER_GROUP)
    ctx.load_cert_chain(str(certfile), str(keyfile), password=password)
    if alpn:
        ctx.set_alpn_protocols(alpn)
    return ctx


def client_context(
    *, cafile: Path | None = None, cadata: str | None = None, verify: bool = True
) -> ssl.SSLContext:
    """The client context for updates, alerts (SMTP, MQTT, webhooks) and upstream cameras.

    ``verify=False`` is only for an upstream camera the owner pinned by fingerprint elsewhere;
    the hardening (version, suites) still applies.
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    _harden(ctx)
    if verify:
        ctx.check_hostname = True
        ctx.verify_mode = ssl.CERT_REQUIRED
        if cafile is None and cadata is None:
            ctx.load_default_certs()
        else:
            ctx.load_verify_locations(cafile=str(cafile) if cafile else None, cadata=cadata)
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def describe() -> dict[str, object]:
    """The policy as data, for the conformance audit and the docs."""
    return {
        "minimum_version": MINIMUM_VERSION.name,
        "tls12_ciphers": TLS12_CIPHERS.split(":"),
        "compression": False,
        "renegotiation": False,
        "session_tickets": False,
        "server_preference": True,
        "server_group": SERVER_GROUP,
    }
