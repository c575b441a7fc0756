"""IoT-1005-1 5.4.1.2 / TAICS 5.2.5.2: secrets encrypted at rest; refuse tampered or loose keys."""

from __future__ import annotations

import os

import pytest

from tests.support import run_cli
from vigilcam.platform.vault import FileKek, Vault, VaultError


def make(tmp_path):
    vault = Vault(tmp_path / "vault.bin", FileKek(tmp_path / "keys" / "kek"))
    vault.create()
    return vault


def test_roundtrip_and_no_plaintext(tmp_path):
    vault = make(tmp_path)
    vault.put("smtp_password", b"hunter2-but-longer-and-unique")
    again = Vault(tmp_path / "vault.bin", FileKek(tmp_path / "keys" / "kek"))
    again.open()
    assert again.get("smtp_password") == b"hunter2-but-longer-and-unique"
    assert b"hunter2" not in (tmp_path / "vault.bin").read_bytes()
    assert b"smtp_password" not in (tmp_path / "vault.bin").read_bytes()


@pytest.mark.parametrize("offset", [8, 12, 30, -1])
def test_tampered_vault_is_refused(tmp_path, offset):
    make(tmp_path).put("x", b"y")
    blob = bytearray((tmp_path / "vault.bin").read_bytes())
    blob[offset] ^= 0x01
    (tmp_path / "vault.bin").write_bytes(bytes(blob))
    with pytest.raises(VaultError, match="failed authentication|damaged"):
        Vault(tmp_path / "vault.bin", FileKek(tmp_path / "keys" / "kek")).open()


def test_loose_permissions_are_refused(tmp_path):
    make(tmp_path)
    os.chmod(tmp_path / "keys" / "kek", 0o644)
    with pytest.raises(VaultError, match="loose permissions"):
        Vault(tmp_path / "vault.bin", FileKek(tmp_path / "keys" / "kek")).open()
    os.chmod(tmp_path / "keys" / "kek", 0o600)
    os.chmod(tmp_path / "keys", 0o755)
    with pytest.raises(VaultError, match="loose permissions"):
        Vault(tmp_path / "vault.bin", FileKek(tmp_path / "keys" / "kek")).open()


def test_wrong_key_is_refused(tmp_path):
    make(tmp_path)
    (tmp_path / "keys" / "kek").write_bytes(os.urandom(32))
    with pytest.raises(VaultError, match="failed authentication"):
        Vault(tmp_path / "vault.bin", FileKek(tmp_path / "keys" / "kek")).open()


def test_service_refuses_to_start_with_clear_message(tmp_path):
    data = tmp_path / "data"
    assert run_cli("init", "--data-dir", str(data)).returncode == 0
    os.chmod(data / "keys" / "kek", 0o640)
    result = run_cli("user", "list", "--data-dir", str(data))
    assert result.returncode == 3
    assert "loose permissions" in result.stderr and "chmod 600" in result.stderr
    assert "Traceback" not in result.stderr
    os.chmod(data / "keys" / "kek", 0o600)
    blob = bytearray((data / "vault.bin").read_bytes())
    blob[-5] ^= 0xFF
    (data / "vault.bin").write_bytes(bytes(blob))
    result = run_cli("run", "--data-dir", str(data), "--https-port", "1")
    assert result.returncode == 3
    assert "vault" in result.stderr and "Traceback" not in result.stderr


def test_two_processes_do_not_lose_each_others_secrets(tmp_path):
    service = make(tmp_path)
    cli = Vault(tmp_path / "vault.bin", FileKek(tmp_path / "keys" / "kek"))
    cli.open()
    service.put("stream_credential:ann", b"one")
    cli.put("alert_channel:7", b"two")  # the CLI still held the older copy
    service.put("session_key", b"three")
    for vault in (service, cli):
        assert vault.get("stream_credential:ann") == b"one"
        assert vault.get("alert_channel:7") == b"two"
        assert vault.get("session_key") == b"three"
