"""Scan a TLS listener with sslyze and judge it against the device's TLS policy.

Owns the outside view of a TLS service, for the test suite and the conformance audit. Serves
IoT-1005-1 5.4.2.1 (TLS >= 1.2, forward secrecy), TAICS 5.3.1.2 / 5.5.2.3 (AES-256 by default)
and the Mozilla "intermediate" profile as a cross-check.
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass, field

from sslyze import (
    Scanner,
    ServerNetworkLocation,
    ServerScanRequest,
    ServerScanStatusEnum,
)
from sslyze.mozilla_tls_profile.tls_config_checker import (
    SCAN_COMMANDS_NEEDED_BY_MOZILLA_CHECKER,
    MozillaTlsConfiguration,
    ServerNotCompliantWithTlsConfiguration,
    TlsConfigurationEnum,
    check_server_against_tls_configuration,
)

_VERSIONS = {
    "SSL 2.0": "ssl_2_0_cipher_suites",
    "SSL 3.0": "ssl_3_0_cipher_suites",
    "TLS 1.0": "tls_1_0_cipher_suites",
    "TLS 1.1": "tls_1_1_cipher_suites",
    "TLS 1.2": "tls_1_2_cipher_suites",
    "TLS 1.3": "tls_1_3_cipher_suites",
}
# The self-signed device certificate is checked by fingerprint, not by a public CA.
_IGNORED_MOZILLA_ISSUES = {"certificate_path_validation"}


@dataclass
class TlsScanReport:
    reachable: bool
    error: str = ""
    suites: dict[str, list[str]] = field(default_factory=dict)  # version -> accepted suites
    negotiated_default: str = ""
    negotiated_version: str = ""
    compression: bool = False
    insecure_renegotiation: bool = False
    mozilla_issues: dict[str, str] = field(default_factory=dict)

    @property
    def versions(self) -> list[str]:
        return [v for v, s in self.suites.items() if s]

    def problems(self) -> list[str]:
        """What breaks the vigilcam TLS policy, as sentences."""
        out = []
        for old in ("SSL 2.0", "SSL 3.0", "TLS 1.0", "TLS 1.1"):
            if self.suites.get(old):
                out.append(f"{old} is accepted (TLS 1.2 is the minimum)")
        for version in ("TLS 1.2",):
            for suite in self.suites.get(version, []):
                if "ECDHE" not in suite or "GCM" not in suite and "CHACHA20" not in suite:
                    out.append(f"{version} suite without forward secrecy or AEAD: {suite}")
        if self.negotiated_default and "AES_256_GCM" not in self.negotiated_default:
            out.append(f"default suite is {self.negotiated_default}, not AES-256-GCM")
        if self.compression:
            out.append("TLS compression is enabled")
        if self.insecure_renegotiation:
            out.append("client-initiated renegotiation is accepted")
        out += [f"Mozilla intermediate: {k}: {v}" for k, v in self.mozilla_issues.items()]
        return out


def _default_negotiation(host: str, port: int, timeout: float) -> tuple[str, str]:
    """What an ordinary modern client gets (OpenSSL defaults)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection((host, port), timeout=timeout) as raw:
        with ctx.wrap_socket(raw, server_hostname=host) as tls:
            cipher = tls.cipher()
            return (cipher[0] if cipher else "", tls.version() or "")


def scan(host: str, port: int, *, timeout: float = 60.0) -> TlsScanReport:
    location = ServerNetworkLocation(hostname=host, port=port, ip_address=host)
    scanner = Scanner()
    scanner.queue_scans(
        [ServerScanRequest(server_location=location,
                           scan_commands=SCAN_COMMANDS_NEEDED_BY_MOZILLA_CHECKER)]
    )
    report = TlsScanReport(reachable=False)
    for result in scanner.get_results():
        if result.scan_status != ServerScanStatusEnum.COMPLETED or result.scan_result is None:
            report.error = str(result.connectivity_error_trace or result.scan_status)
            return report
        report.reachable = True
        sr = result.scan_result
        for version, attr in _VERSIONS.items():
            attempt = getattr(sr, attr)
            if attempt.result is not None:
                report.suites[version] = [
                    s.cipher_suite.name for s in attempt.result.accepted_cipher_suites
                ]
        if sr.tls_compression.result is not None:
            report.compression = sr.tls_compression.result.supports_compression
        if sr.session_renegotiation.result is not None:
            report.insecure_renegotiation = (
                sr.session_renegotiation.result.is_vulnerable_to_client_renegotiation_dos
            )
        try:
            check_server_against_tls_configuration(
                result, MozillaTlsConfiguration.get(TlsConfigurationEnum.MOZILLA_INTERMEDIATE)
            )
        except ServerNotCompliantWithTlsConfiguration as exc:
            report.mozilla_issues = {
                k: v for k, v in exc.issues.items() if k not in _IGNORED_MOZILLA_ISSUES
            }
    if report.reachable:
        report.negotiated_default, report.negotiated_version = _default_negotiation(
            host, port, timeout
        )
    return report
