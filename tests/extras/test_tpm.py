"""TAICS 5.2.5.2 / IoT-1005-1 5.4.1.2: the KEK sealed in a (software) TPM 2.0."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.extras.swtpm import software_tpm
from vigilcam.platform.tpm import BACKEND_ENV, TCTI_ENV, TpmKek, detect, kek_store_for
from vigilcam.platform.vault import FileKek, Vault, VaultError


def test_detect_prefers_configured_tcti_then_resource_manager(tmp_path: Path) -> None:
    dev = tmp_path / "dev"
    dev.mkdir()
    none = detect({}, dev)
    assert not none.present and none.tcti is None and "/dev/tpmrm0" in none.reason
    (dev / "tpm0").touch()
    assert detect({}, dev).tcti == f"device:{dev}/tpm0"
    (dev / "tpmrm0").touch()
    found = detect({}, dev)
    assert found.tcti == f"device:{dev}/tpmrm0"
    assert found.present == (shutil.which("tpm2_unseal") is not None)
    configured = detect({TCTI_ENV: "swtpm:host=127.0.0.1,port=1"}, dev)
    assert configured.tcti == "swtpm:host=127.0.0.1,port=1"


def test_detect_says_when_tools_are_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "tpmrm0").touch()
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    found = detect({}, tmp_path)
    assert not found.present and "apt-get install tpm2-tools" in found.reason


@pytest.mark.peer
def test_sealed_kek_round_trip_and_vault(tmp_path: Path) -> None:
    keys = tmp_path / "data" / "keys"
    with software_tpm(tmp_path / "tpm-state") as tcti:
        store = TpmKek(keys, tcti)
        assert not store.exists()
        vault = Vault(tmp_path / "data" / "vault.bin", store)
        vault.create()  # creates and seals the KEK
        assert store.exists() and vault.backend == "tpm2"
        kek = store.load()
        assert len(kek) == 32 and store.load() == kek
        vault.put("alert_channel:x", b"smtp password")
        # Only the sealed blobs are on disk, 0600, in a 0700 folder; the key is in neither.
        assert sorted(p.name for p in keys.iterdir()) == ["kek.tpm.priv", "kek.tpm.pub"]
        assert oct(keys.stat().st_mode & 0o777) == "0o700"
        for blob in keys.iterdir():
            assert oct(blob.stat().st_mode & 0o777) == "0o600"
            assert kek not in blob.read_bytes()
        for path in tmp_path.joinpath("data").rglob("*"):
            if path.is_file():
                assert kek not in path.read_bytes()
    # A TPM restart (reboot): the primary is re-derived from the owner seed, the vault opens.
    with software_tpm(tmp_path / "tpm-state") as tcti:
        again = Vault(tmp_path / "data" / "vault.bin", TpmKek(keys, tcti))
        again.open()
        assert again.get("alert_channel:x") == b"smtp password"
        os.chmod(keys / "kek.tpm.priv", 0o644)
        with pytest.raises(VaultError, match="loose permissions"):
            TpmKek(keys, tcti).load()
        os.chmod(keys / "kek.tpm.priv", 0o600)
    # The data dir copied to another machine (another TPM) reveals nothing.
    with software_tpm(tmp_path / "other-tpm") as other:
        with pytest.raises(VaultError, match="integrity check failed"):
            Vault(tmp_path / "data" / "vault.bin", TpmKek(keys, other)).open()


@pytest.mark.peer
def test_destroy_is_crypto_erase_and_errors_are_clear(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    with software_tpm(tmp_path / "tpm-state") as tcti:
        store = TpmKek(keys, tcti)
        store.create()
        store.destroy()
        assert not store.exists() and list(keys.iterdir()) == []
        with pytest.raises(VaultError, match="missing"):
            store.load()
        store.create()
        (keys / "kek.tpm.priv").write_bytes(b"\x00\x10" + b"x" * 16)
        with pytest.raises(VaultError, match="TPM 2.0 failed while loading"):
            store.load()
    # No TPM answering: a clear error, not a hang or a crash.
    dead = TpmKek(keys, "swtpm:host=127.0.0.1,port=1", timeout=10)
    with pytest.raises(VaultError, match="TPM 2.0 failed while deriving"):
        dead.load()


def test_backend_selection(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    keys, kek_file = tmp_path / "keys", tmp_path / "keys" / "kek"
    no_tpm = {TCTI_ENV: ""}
    monkeypatch.setattr("vigilcam.platform.tpm.DEVICES", ())  # this host's /dev does not count
    assert isinstance(kek_store_for(keys, kek_file, no_tpm), FileKek)
    with pytest.raises(VaultError, match="sealed in a TPM 2.0, but no TPM"):
        kek_store_for(keys, kek_file, {**no_tpm, BACKEND_ENV: "tpm2"})
    with pytest.raises(VaultError, match="use auto, file or tpm2"):
        kek_store_for(keys, kek_file, {BACKEND_ENV: "hsm"})
    configured = {TCTI_ENV: "swtpm:host=127.0.0.1,port=9"}
    store = kek_store_for(keys, kek_file, configured)
    assert isinstance(store, TpmKek) and store.tcti == configured[TCTI_ENV]
    assert isinstance(kek_store_for(keys, kek_file, {**configured, BACKEND_ENV: "file"}),
                      FileKek)
    FileKek(kek_file).create()  # an existing file KEK stays in use even with a TPM
    assert isinstance(kek_store_for(keys, kek_file, configured), FileKek)
    kek_file.unlink()
    for name in ("kek.tpm.pub", "kek.tpm.priv"):
        (keys / name).write_bytes(b"sealed")
    with pytest.raises(VaultError, match="sealed in a TPM 2.0, but no TPM"):
        kek_store_for(keys, kek_file, no_tpm)  # data dir moved to a host without the TPM


@pytest.mark.peer
def test_whole_data_dir_put_back_is_refused_by_the_tpm_counter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """IoT-1005-1 5.4.1.2: an older vault is refused even with its anchor file put back too."""
    from vigilcam.platform.vault import VaultRollbackError

    data = tmp_path / "data"
    keys = data / "keys"

    def vault_of(tcti: str) -> Vault:
        return Vault(data / "vault.bin", TpmKek(keys, tcti), keys / "anchor.json")

    with software_tpm(tmp_path / "tpm-state") as tcti:
        vault = vault_of(tcti)
        vault.create()
        vault.put("stream_credential_bob", b"before revocation")
        snapshot = tmp_path / "snapshot"
        shutil.copytree(data, snapshot)  # the intruder's copy of the whole data dir
        vault.put("stream_credential_bob", b"rotated after revocation")
        # A crash after the vault file, before the counter: the counter lags, the vault opens.
        monkeypatch.setattr(TpmKek, "counter_increment", lambda self: 0)
        vault.put("alert_channel:x", b"written just before the crash")
        monkeypatch.undo()
        lagging = vault_of(tcti)
        lagging.open()
        assert lagging.get("alert_channel:x") == b"written just before the crash"
        crash_copy = tmp_path / "crash-copy"
        shutil.copytree(data, crash_copy)
        lagging.put("alert_channel:y", b"the next write catches the counter up")
        current = vault_of(tcti)
        current.open()
        assert TpmKek(keys, tcti).counter_read() == current.tpm_counter  # caught up
        shutil.rmtree(data)
        shutil.copytree(crash_copy, data)  # even the vault written just before the crash
        with pytest.raises(VaultRollbackError, match="TPM's counter is at"):
            vault_of(tcti).open()
        shutil.rmtree(data)
        shutil.copytree(snapshot, data)  # vault.bin, anchor.json and all, put back together
        with pytest.raises(VaultRollbackError, match="TPM's counter is at"):
            vault_of(tcti).open()
