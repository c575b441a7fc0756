"""Erase-all, factory reset, inventory, masks store and telemetry, on real data dirs.

IoT-1005-1 5.7.1.1 (inventory; one action deletes personal data; factory reset crypto-erases),
5.7.1.2 (no telemetry), 5.1.3.1 / TAICS 5.1.3.2 (a NEW unique setup secret, forced change),
5.1.1.1 (the device ID survives a factory reset), 5.4.1.2 (old disk copies stay unreadable).
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path

import pytest

from tests.recording.rec_support import encode_pattern
from tests.support import run_cli
from vigilcam.app import create_device_state, open_device
from vigilcam.media import fmp4
from vigilcam.platform.config import Settings
from vigilcam.platform.paths import DataPaths
from vigilcam.platform.vault import FileKek, Vault, VaultError
from vigilcam.privacy import masks_store
from vigilcam.privacy.factory_reset import FactoryResetError, factory_reset
from vigilcam.privacy.inventory import NOT_PERSONAL, data_inventory
from vigilcam.privacy.telemetry import telemetry_statement
from vigilcam.recording.index import SegmentRecord
from vigilcam.recording.segment_format import SegmentFormatError, decrypt_all
from vigilcam.recording.service import MASTER_KEY_NAME
from vigilcam.recording.store import open_store


def record_segments(paths: DataPaths, count: int = 2) -> list[SegmentRecord]:
    """Write real encrypted segments with the device's own recording key."""
    info, packets = encode_pattern(frames=30, fps=30, gop=15, wallclock0=1_800_000_000.0)
    device = open_device(paths, Settings())
    try:
        store = open_store(paths.recordings_dir, device.vault.ensure_random(MASTER_KEY_NAME, 32))
        out = []
        for i in range(count):
            seg = store.open_segment("main", 1_800_000_000.0 + 2 * i, "continuous")
            seg.write(fmp4.init_segment(info))
            seg.write(fmp4.fragment(packets, 1, 0, last_duration=3000))
            out.append(seg.commit(1_800_000_001.0 + 2 * i))
        store.index.close()
        device.accounts.remember_source("admin", "192.0.2.7")
        return out
    finally:
        device.close()


def test_erase_all_from_the_cli(provisioned) -> None:
    paths, secret = provisioned
    segs = record_segments(paths)
    old_key = Vault(paths.vault_file, FileKek(paths.kek_file))
    old_key.open()
    key_before = old_key.get(MASTER_KEY_NAME)
    r = run_cli("erase", "--all", "--data-dir", str(paths.root))
    assert r.returncode != 0 and "--yes" in r.stderr  # no terminal: refused, nothing done
    assert all((paths.recordings_dir / "segments" / s.path).exists() for s in segs)
    paths.run_marker.write_text("1\n")  # the service runs (or crashed): refused
    r = run_cli("erase", "--all", "--yes", "--data-dir", str(paths.root))
    assert r.returncode == 1 and "running" in r.stderr
    paths.run_marker.unlink()
    r = run_cli("erase", "--all", "--yes", "--json", "--data-dir", str(paths.root))
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["deleted"]["recording_segments"] == 2
    assert report["deleted"]["accounts"] == 1
    assert report["deleted"]["known_sources"] == 1
    assert report["setup_secret"] != secret
    assert "security_log" in report["kept"]
    assert not any((paths.recordings_dir / "segments" / s.path).exists() for s in segs)
    assert paths.setup_secret_file.read_text().strip() == report["setup_secret"]
    device = open_device(paths, Settings())
    try:
        users = device.accounts.list()
        assert [(u.username, u.must_change) for u in users] == [("admin", True)]
        assert device.vault.find(MASTER_KEY_NAME) is None  # the key went with the footage
        assert not device.accounts.is_known_source("admin", "192.0.2.7")
        actions = [e.action for e in device.seclog.query(limit=1000)]
        assert "privacy.erased" in actions and "device.provisioned" in actions  # log kept
        assert device.seclog.verify().ok
    finally:
        device.close()
    assert key_before != b""


def test_factory_reset_crypto_erases_and_keeps_the_device_id(provisioned, tmp_path) -> None:
    paths, secret = provisioned
    segs = record_segments(paths)
    ident_before = json.loads(paths.identity_file.read_text())
    copy = tmp_path / "stolen-copy"
    shutil.copytree(paths.root, copy)  # an attacker's copy of the disk, taken BEFORE the reset
    (paths.root / "running").write_text("1\n")
    with pytest.raises(FactoryResetError, match="running"):
        factory_reset(paths.root, create_device_state)
    (paths.root / "running").unlink()
    r = run_cli("factory-reset", "--yes", "--json", "--data-dir", str(paths.root))
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["device_id"] == ident_before["device_id"]
    assert report["destroyed_keys"][0] == "keys/kek"
    new_secret = report["setup_secret"]
    assert new_secret and new_secret != secret
    assert json.loads(paths.identity_file.read_text()) == ident_before
    assert not paths.recordings_dir.exists()
    device = open_device(paths, Settings())
    try:
        assert device.identity.device_id == ident_before["device_id"]
        assert [(u.username, u.must_change) for u in device.accounts.list()] == [("admin", True)]
        assert device.hasher.verify(device.accounts.stored_hash("admin"), new_secret)
        new_key = device.vault.ensure_random(MASTER_KEY_NAME, 32)
        assert [e.action for e in device.seclog.query(limit=10)][::-1][:2] == [
            "device.provisioned", "device.factory_reset"]
        cert = device.tls.certificate()
        assert ident_before["device_id"] in str(cert.extensions)
    finally:
        device.close()
    # No old segment decrypts with the new keys ...
    for s in segs:
        with open(copy / "recordings" / "segments" / s.path, "rb") as fh, \
                pytest.raises(SegmentFormatError):
            decrypt_all(fh, new_key, s.id)
    # ... and the old vault does not open with the new key-encryption key
    with pytest.raises(VaultError):
        Vault(copy / "vault.bin", FileKek(paths.kek_file)).open()
    # (with the OLD kek, which the reset destroyed, it would: proof the copy is real)
    old = Vault(copy / "vault.bin", FileKek(copy / "keys" / "kek"))
    old.open()
    store = open_store(copy / "recordings", old.get(MASTER_KEY_NAME))
    assert store.read_all(segs[0]).startswith(b"\x00\x00\x00")
    store.index.close()


def test_factory_reset_refuses_a_dir_that_is_not_a_device(tmp_path) -> None:
    with pytest.raises(FactoryResetError, match="not a provisioned"):
        factory_reset(tmp_path, create_device_state)


def test_inventory_covers_every_file_of_a_device(provisioned) -> None:
    paths, _ = provisioned
    record_segments(paths, 1)
    masks_store.save(paths.root, [{"rect": [0, 0, 0.5, 0.5]}])
    (paths.alerts_db).write_bytes(b"")
    kinds = data_inventory(paths, 365, 30)
    ids = [k.id for k in kinds]
    assert len(ids) == len(set(ids))
    for required in ("recordings", "snapshots", "accounts", "sessions", "known_sources",
                     "security_log", "alert_channels", "alert_outbox", "telemetry"):
        assert required in ids
    covered = {w.split("/")[0] for k in kinds for w in k.where}
    # files that hold no personal data: identity, keys and certificate, config, markers
    not_personal = set(NOT_PERSONAL)
    assert not covered & not_personal
    for entry in paths.root.iterdir():
        name = entry.name
        if name.endswith(("-wal", "-shm")):
            name = name[:-4]
        assert name in covered or name in not_personal, f"{entry.name} not in the inventory"
    for k in kinds:
        assert k.why and k.retention and k.erased_by
        assert all(not os.path.isabs(w) for w in k.where)
    rec = next(k for k in kinds if k.id == "recordings")
    assert "30 days" in rec.retention and "AES-256-GCM" in rec.protection


def test_masks_store_round_trip_and_bad_input(tmp_path: Path) -> None:
    assert masks_store.load(tmp_path) == []
    items = [{"rect": [0, 0, 0.5, 0.25]}, {"polygon": [[0.1, 0.1], [0.9, 0.1], [0.5, 0.9]]}]
    saved = masks_store.save(tmp_path, items)
    assert masks_store.load(tmp_path) == saved
    assert saved[0] == {"rect": [0.0, 0.0, 0.5, 0.25]}
    assert (tmp_path / "masks.json").stat().st_mode & 0o077 == 0
    for bad in [{"rect": [0, 0, 2, 1]}, {"circle": [1]}, {"rect": [0.5, 0, 0.1, 1]},
                {"polygon": [[0, 0], [1, 1]]}, "rect"]:
        with pytest.raises(ValueError):
            masks_store.save(tmp_path, [bad])
    with pytest.raises(ValueError):
        masks_store.save(tmp_path, [{"rect": [0, 0, 1, 1]}] * 33)
    (tmp_path / "masks.json").write_text("{not json")
    with pytest.raises(masks_store.MaskStoreError, match="masks.json"):
        masks_store.load(tmp_path)


def test_no_telemetry() -> None:
    statement = telemetry_statement()
    assert statement["enabled"] is False
    assert statement["fields"] == [] and statement["recipients"] == []


def test_uuid_in_report_is_the_kept_one(provisioned) -> None:
    paths, _ = provisioned
    before = json.loads(paths.identity_file.read_text())["device_id"]
    report = factory_reset(paths.root, create_device_state)
    assert uuid.UUID(report.device_id) == uuid.UUID(before)
    assert not (paths.root / "masks.json").exists()


async def test_erase_also_clears_a_damaged_recording_store(provisioned) -> None:
    from vigilcam.privacy.erase import erase_all_personal_data

    paths, _ = provisioned
    segs = record_segments(paths, 1)
    (paths.recordings_dir / "index.db").write_bytes(b"garbage" * 200)
    for suffix in ("-wal", "-shm"):
        (paths.recordings_dir / f"index.db{suffix}").unlink(missing_ok=True)
    device = open_device(paths, Settings())
    try:
        report = await erase_all_personal_data(device, by="tester", source="test")
        assert report.deleted["recording_segments"] == len(segs)
        assert not paths.recordings_dir.exists()
        assert device.vault.find(MASTER_KEY_NAME) is None
    finally:
        device.close()
