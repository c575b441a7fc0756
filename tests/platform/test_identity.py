"""IoT-1005-1 5.1.1.1 / 5.1.1.2: every device gets its own identity, keys and setup secret."""

from __future__ import annotations

import stat

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from vigilcam.app import provision
from vigilcam.platform.config import Settings
from vigilcam.platform.identity import DeviceIdentity
from vigilcam.platform.paths import DataPaths
from vigilcam.product import MODEL


def test_two_devices_share_nothing(tmp_path):
    a, b = DataPaths(tmp_path / "a"), DataPaths(tmp_path / "b")
    ra, rb = provision(a, Settings()), provision(b, Settings())
    assert ra.identity.device_id != rb.identity.device_id
    assert ra.identity.serial != rb.identity.serial
    assert ra.setup_secret != rb.setup_secret
    for name in ("kek_file", "vault_file", "key_file", "cert_file"):
        assert getattr(a, name).read_bytes() != getattr(b, name).read_bytes(), name
    ca = x509.load_pem_x509_certificate(a.cert_file.read_bytes())
    cb = x509.load_pem_x509_certificate(b.cert_file.read_bytes())
    assert ca.public_key().public_numbers() != cb.public_key().public_numbers()


def test_certificate_names_model_serial_and_device(tmp_path):
    paths = DataPaths(tmp_path / "d")
    ident = provision(paths, Settings(hosts=["cam.example.test", "192.0.2.7"])).identity
    cert = x509.load_pem_x509_certificate(paths.cert_file.read_bytes())
    cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert MODEL in cn and ident.serial in cn
    assert cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)[0].value == ident.serial
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert f"urn:uuid:{ident.device_id}" in san.get_values_for_type(
        x509.UniformResourceIdentifier)
    assert "cam.example.test" in san.get_values_for_type(x509.DNSName)
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
    assert cert.public_key().curve.name == "secp256r1"
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert lifetime.days <= 366


def test_private_key_is_encrypted_and_secret_files_private(tmp_path):
    paths = DataPaths(tmp_path / "d")
    provision(paths, Settings())
    assert b"ENCRYPTED PRIVATE KEY" in paths.key_file.read_bytes()
    for path in (paths.kek_file, paths.vault_file, paths.key_file, paths.setup_secret_file,
                 paths.accounts_db):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE(paths.keys_dir.stat().st_mode) == 0o700


def test_provision_is_idempotent_and_keeps_identity(tmp_path):
    paths = DataPaths(tmp_path / "d")
    first = provision(paths, Settings())
    again = provision(paths, Settings())
    assert not again.created and again.setup_secret is None
    assert again.identity == first.identity
    assert DeviceIdentity.load(paths.identity_file) == first.identity


def test_interrupted_provisioning_starts_over(tmp_path):
    paths = DataPaths(tmp_path / "d")
    first = provision(paths, Settings())
    paths.identity_file.unlink()  # as if the power went before the last step
    second = provision(paths, Settings())
    assert second.created and second.identity.device_id != first.identity.device_id
