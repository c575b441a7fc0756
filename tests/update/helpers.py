"""Test helpers for the update feature: a test CA, an HTTPS file server, release builders.

Everything is generated per test (no key or certificate is stored in the repository).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import shutil
import threading
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import NameOID

import vigilcam
from vigilcam.platform.tls import server_context
from vigilcam.update.manifest import public_pem, write_signed_manifest
from vigilcam.update.package import build_tar
from vigilcam.update.repository import ROLES, ReleaseRepository, generate_signer

SOURCE_PACKAGE = Path(vigilcam.__file__).resolve().parent


@dataclass
class Pki:
    ca_file: Path
    cert_file: Path
    key_file: Path


def make_pki(folder: Path) -> Pki:
    """A throwaway CA and a server certificate for localhost / 127.0.0.1 (EC P-256)."""
    folder.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "vigilcam test update CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False,
                                       encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            .sign(ca_key, hashes.SHA256()))
    pki = Pki(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    pki.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    pki.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pki.key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                               serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    return pki


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        self.server.requests.append(self.path)  # type: ignore[attr-defined]


class HttpsFileServer:
    """Serves a folder over HTTPS on 127.0.0.1 (our server TLS policy), in one thread."""

    def __init__(self, folder: Path, pki: Pki) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(folder)))
        self.httpd.requests = []  # type: ignore[attr-defined]
        ctx = server_context(pki.cert_file, pki.key_file)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.url = f"https://localhost:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def requests(self) -> list[str]:
        return self.httpd.requests  # type: ignore[attr-defined]

    def __enter__(self) -> HttpsFileServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


def new_repository(folder: Path) -> ReleaseRepository:
    repo = ReleaseRepository(folder, {role: generate_signer() for role in ROLES})
    repo.initialise()
    return repo


def package_copy(dest: Path, version: str, *, break_start: bool = False,
                 code_key: Ed25519PrivateKey | None = None) -> Path:
    """A release tree ``dest/vigilcam`` made from the source package: version set, optionally
    broken at start (signed anyway: authorised but faulty), manifest signed with ``code_key``."""
    pkg = dest / "vigilcam"
    shutil.copytree(SOURCE_PACKAGE, pkg, ignore=shutil.ignore_patterns("__pycache__",
                                                                      "code-manifest.json"))
    init = pkg / "__init__.py"
    text = init.read_text()
    init.write_text(text.replace(f'__version__ = "{vigilcam.__version__}"',
                                 f'__version__ = "{version}"'))
    if break_start:
        main = pkg / "__main__.py"
        main.write_text('raise SystemExit("this release is broken at start")\n')
    if code_key is not None:
        write_signed_manifest(pkg, version, code_key)
    return dest


def release_tar(folder: Path, version: str, code_key: Ed25519PrivateKey, **kw: bool) -> bytes:
    return build_tar(package_copy(folder, version, code_key=code_key, **kw))


def write_code_key(path: Path, key: Ed25519PrivateKey) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(public_pem(key.public_key()))
    return path
