"""Device identity: device ID, human serial, per-device TLS key and certificate.

Owns who the device is. Serves IoT-1005-1 5.1.1.1 (unique identifier, created on first start,
never reused, in the certificate subject), 5.1.1.2 (per-device key pair generated locally;
nothing key-like ships in the package) and 5.2.3.4 (model name in the TLS certificate).

The private key is stored PEM-encrypted under a password kept in the vault, so a copy of the
data dir without the key-encryption key does not reveal it. The certificate is renewed at start
when it nears expiry or the configured host names change; the key and device ID are kept.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import json
import secrets
import uuid
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from vigilcam.platform.fsutil import atomic_write, ensure_private_dir
from vigilcam.platform.vault import Vault
from vigilcam.product import MODEL, VENDOR

CERT_LIFETIME = dt.timedelta(days=365)  # Mozilla intermediate: at most 366 days
RENEW_BEFORE = dt.timedelta(days=30)
_SERIAL_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O/1/I: read aloud safely
TLS_KEY_SECRET = "tls_key_password"


@dataclass(frozen=True)
class DeviceIdentity:
    device_id: str
    serial: str
    created: str

    @staticmethod
    def new() -> DeviceIdentity:
        groups = ["".join(secrets.choice(_SERIAL_ALPHABET) for _ in range(4)) for _ in range(3)]
        return DeviceIdentity(
            device_id=str(uuid.uuid4()),
            serial="VC1-" + "-".join(groups),
            created=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        )

    def save(self, path: Path) -> None:
        atomic_write(path, json.dumps(self.__dict__, indent=2).encode(), mode=0o644)

    @staticmethod
    def load(path: Path) -> DeviceIdentity:
        raw = json.loads(path.read_text())
        uuid.UUID(raw["device_id"])
        return DeviceIdentity(raw["device_id"], raw["serial"], raw["created"])


def default_hosts() -> list[str]:
    return ["localhost", "127.0.0.1", "::1"]


def _san(hosts: list[str], device_id: str) -> x509.SubjectAlternativeName:
    names: list[x509.GeneralName] = [x509.UniformResourceIdentifier(f"urn:uuid:{device_id}")]
    for host in dict.fromkeys(hosts):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return x509.SubjectAlternativeName(names)


def _build_cert(
    key: ec.EllipticCurvePrivateKey, ident: DeviceIdentity, hosts: list[str]
) -> x509.Certificate:
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, f"{MODEL} {ident.serial}"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, VENDOR),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, f"device-id {ident.device_id}"),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, ident.serial),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + CERT_LIFETIME)
        .add_extension(_san(hosts, ident.device_id), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=True, key_cert_sign=False,
                crl_sign=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .sign(key, hashes.SHA256())
    )


class TlsIdentity:
    """The per-device ECDSA P-256 key and self-signed certificate on disk."""

    def __init__(self, cert_file: Path, key_file: Path, vault: Vault) -> None:
        self.cert_file = cert_file
        self.key_file = key_file
        self.vault = vault

    @property
    def key_password(self) -> bytes:
        return self.vault.get(TLS_KEY_SECRET).hex().encode()

    def create(self, ident: DeviceIdentity, hosts: list[str]) -> None:
        ensure_private_dir(self.key_file.parent)
        self.vault.ensure_random(TLS_KEY_SECRET)
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(self.key_password),
        )
        atomic_write(self.key_file, pem, mode=0o600)
        self._write_cert(key, ident, hosts)

    def _load_key(self) -> ec.EllipticCurvePrivateKey:
        key = serialization.load_pem_private_key(
            self.key_file.read_bytes(), password=self.key_password
        )
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        return key

    def _write_cert(
        self, key: ec.EllipticCurvePrivateKey, ident: DeviceIdentity, hosts: list[str]
    ) -> None:
        cert = _build_cert(key, ident, hosts)
        atomic_write(self.cert_file, cert.public_bytes(serialization.Encoding.PEM), mode=0o644)

    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.cert_file.read_bytes())

    def fingerprint(self) -> str:
        """SHA-256 over the DER certificate, as colon-separated hex (what browsers show)."""
        der = self.certificate().public_bytes(serialization.Encoding.DER)
        digest = hashlib.sha256(der).hexdigest().upper()
        return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))

    def renew_if_needed(self, ident: DeviceIdentity, hosts: list[str]) -> bool:
        """Re-issue the certificate (same key) near expiry or when host names changed."""
        cert = self.certificate()
        wanted = set(_san(hosts, ident.device_id))
        have = set(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
        expiring = cert.not_valid_after_utc - dt.datetime.now(dt.UTC) < RENEW_BEFORE
        if not expiring and wanted == have:
            return False
        self._write_cert(self._load_key(), ident, hosts)
        return True
