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
- Upstream cameras are read by FFmpeg (through PyAV), whose TLS is GnuTLS in the PyAV wheel,
  not Python's ``ssl``. FFmpeg's ``tls`` protocol options (as the wheel's libavformat lists
  them: ``tls_verify``, ``ca_file``, ``verifyhost``, ``cert_file``, ``key_file``, ``listen``,
  ``http_proxy`` and the DTLS ones) set no version and no cipher, and its GnuTLS backend calls
  ``gnutls_set_default_priority``. So the same policy is handed to GnuTLS as
  its default priority string (``GNUTLS_PRIORITY``, from the same suite table), through a
  config file named by ``GNUTLS_SYSTEM_PRIORITY_FILE``. GnuTLS reads that variable ONCE, when
  the library loads (``import av``): ``native_library_environment()`` is applied by the process
  entry (``vigilcam/__main__.py``) before anything imports PyAV. ``ffmpeg_client_options``
  checks the loaded GnuTLS's effective default priority every time (``gnutls_policy_problem``)
  and refuses (fails closed) when it allows anything outside the policy: a process started
  another way, or a GnuTLS that ignored the file. Without the variable the wheel's GnuTLS
  reads ``/tmp/vendor/etc/gnutls/config`` (its build prefix, in a world-writable folder) and
  otherwise allows TLS 1.0/1.1, CBC-SHA1 and RSA key exchange; pinning the variable closes both.
  Limits: GnuTLS's priority string cannot pair a key exchange with a cipher, so the TLS 1.2
  set is the product of the table's key-exchange and cipher columns, which this table keeps
  equal to the four suites; TLS 1.3 suites are limited to the same ciphers (AES-GCM).

The one deliberate exception: the conformance audit's probes (``compliance/tls_scan.py``,
``compliance/remote.py``) must be able to connect to a weak camera to report how weak it is, so
they build permissive observation contexts of their own; they carry no vigilcam data or secret.
"""

from __future__ import annotations

import ctypes
import os
import ssl
from importlib import resources
from pathlib import Path

MINIMUM_VERSION = ssl.TLSVersion.TLSv1_2

# The TLS 1.2 suites: (OpenSSL name, GnuTLS key exchange, GnuTLS cipher).
TLS12_SUITES = (
    ("ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-ECDSA", "AES-256-GCM"),
    ("ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-RSA", "AES-256-GCM"),
    ("ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA", "AES-128-GCM"),
    ("ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA", "AES-128-GCM"),
)
TLS12_CIPHERS = ":".join(suite[0] for suite in TLS12_SUITES)

_GNUTLS_VERSIONS = {ssl.TLSVersion.TLSv1_2: ("TLS1.3", "TLS1.2"),
                    ssl.TLSVersion.TLSv1_3: ("TLS1.3",)}
GNUTLS_ALLOWED = {
    "protocols": _GNUTLS_VERSIONS[MINIMUM_VERSION],
    "kx": tuple(dict.fromkeys(suite[1] for suite in TLS12_SUITES)),
    "ciphers": tuple(dict.fromkeys(suite[2] for suite in TLS12_SUITES)),
    "macs": ("AEAD",),  # GCM only: no separate MAC, so no CBC-HMAC suite
}
GNUTLS_PRIORITY = ":".join([
    "NORMAL",
    "-VERS-ALL", *(f"+VERS-{v}" for v in GNUTLS_ALLOWED["protocols"]),
    "-CIPHER-ALL", *(f"+{c}" for c in GNUTLS_ALLOWED["ciphers"]),
    "-MAC-ALL", *(f"+{m}" for m in GNUTLS_ALLOWED["macs"]),
    "-KX-ALL", *(f"+{k}" for k in GNUTLS_ALLOWED["kx"]),
    "%NO_TICKETS",  # as OP_NO_TICKET: no session tickets
])
GNUTLS_POLICY_FILE = "gnutls-tls-policy.conf"
"""Shipped beside this module; its content is ``gnutls_config_text()`` (a test compares)."""

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


class TlsPolicyError(Exception):
    """A client connection cannot be made under the policy; the message says why and the fix."""


def gnutls_config_text() -> str:
    """The GnuTLS system configuration that makes ``GNUTLS_PRIORITY`` its default."""
    return ("# The TLS client policy of vigilcam/platform/tls.py for GnuTLS (FFmpeg's TLS).\n"
            "# Generated from GNUTLS_PRIORITY there; a test fails when the two differ.\n"
            "[overrides]\n"
            f"default-priority-string = {GNUTLS_PRIORITY}\n")


def gnutls_policy_path() -> Path:
    return Path(str(resources.files("vigilcam.platform").joinpath(GNUTLS_POLICY_FILE)))


def native_library_environment() -> dict[str, str]:
    """What the process entry sets before any native TLS library loads."""
    return {"GNUTLS_SYSTEM_PRIORITY_FILE": str(gnutls_policy_path())}


def _loaded_gnutls() -> list[str]:
    """The GnuTLS libraries mapped into this process (FFmpeg's; a wheel brings its own copy)."""
    found: dict[str, None] = {}
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            for line in maps:
                path = line.rsplit(" ", 1)[-1].strip()
                if "/libgnutls" in path and ".so" in path:
                    found[path] = None
    except OSError:
        pass
    return list(found)


def gnutls_effective_policy(library: str) -> dict[str, tuple[str, ...]]:
    """What the loaded GnuTLS allows by default (what FFmpeg gets), read through its own API."""
    lib = ctypes.CDLL(library)  # already mapped: the same library and state FFmpeg uses
    prio = ctypes.c_void_p()
    if lib.gnutls_priority_init(ctypes.byref(prio), None, None) != 0:
        raise TlsPolicyError("GnuTLS rejects its default priority string")
    try:
        out: dict[str, tuple[str, ...]] = {}
        for key, lister, namer in (
            ("protocols", "gnutls_priority_protocol_list", "gnutls_protocol_get_name"),
            ("ciphers", "gnutls_priority_cipher_list", "gnutls_cipher_get_name"),
            ("kx", "gnutls_priority_kx_list", "gnutls_kx_get_name"),
            ("macs", "gnutls_priority_mac_list", "gnutls_mac_get_name"),
        ):
            ids = ctypes.POINTER(ctypes.c_uint)()
            count = getattr(lib, lister)(prio, ctypes.byref(ids))
            name = getattr(lib, namer)
            name.restype = ctypes.c_char_p
            out[key] = tuple((name(ids[i]) or b"?").decode() for i in range(max(count, 0)))
        return out
    finally:
        lib.gnutls_priority_deinit(prio)


def gnutls_policy_problem() -> str | None:
    """None when every GnuTLS loaded here allows nothing outside the policy; else what the
    first one that does allows. Without GnuTLS (FFmpeg built with another TLS library) the
    policy cannot be shown to hold, which is a problem too."""
    libraries = _loaded_gnutls()
    if not libraries:
        return "no GnuTLS library is loaded (FFmpeg built with another TLS library)"
    for library in libraries:
        effective = gnutls_effective_policy(library)
        extra = {key: sorted(set(found) - set(GNUTLS_ALLOWED[key]))
                 for key, found in effective.items()}
        extra = {key: names for key, names in extra.items() if names}
        if not effective["protocols"]:
            return "its default priority allows no protocol"
        if extra:
            allowed = "; ".join(f"{key}: {', '.join(names)}"
                                for key, names in sorted(extra.items()))
            return f"its default priority also allows {allowed}"
    return None


def ffmpeg_client_options(
    *, verify: bool = True, cafile: str | None = None, bundles: tuple[str, ...] = ()
) -> dict[str, str]:
    """FFmpeg ``tls`` protocol options for a client connection (an ``rtsps://`` upstream).

    FFmpeg's own options carry only verification: the peer certificate and host name are
    verified against ``cafile``, else the first existing file of ``bundles`` (the system trust
    store). ``verify=False`` is the owner's explicit opt-out (a pinned camera); the version and
    suite policy apply either way. Raises ``TlsPolicyError`` when FFmpeg's GnuTLS would allow
    anything outside the policy or when there is nothing to verify against.
    """
    problem = gnutls_policy_problem()
    if problem is not None:
        env = native_library_environment()
        raise TlsPolicyError(
            f"FFmpeg's TLS does not enforce the TLS policy ({problem}); start vigilcam "
            "through its entry point (vigilcam or python -m vigilcam), or set "
            + " ".join(f"{k}={v}" for k, v in env.items()) + " before it starts")
    if not verify:
        return {"tls_verify": "0"}
    if cafile is None:
        cafile = next((b for b in bundles if os.path.isfile(b)), None)
        if cafile is None:
            raise TlsPolicyError("no CA bundle to verify the upstream; configure its CA file")
    elif not os.path.isfile(cafile):
        raise TlsPolicyError("the configured upstream CA file does not exist")
    return {"tls_verify": "1", "ca_file": cafile}


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
        "gnutls_priority": GNUTLS_PRIORITY,
    }
