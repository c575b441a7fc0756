"""The one AEAD helper: known answer, refusals, and every stored format still opens.

The "old code path" below is plain ``cryptography`` AESGCM following each format as its module
documents it, with no vigilcam code involved: blobs written that way (as the modules wrote them
before ``platform/aead.py``) must still open, and blobs the modules write now must still open
that way, so no file, segment or package on a device or a mirror is orphaned.
"""

from __future__ import annotations

import base64
import io
import json
import os
import struct
import uuid
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tests.platform.test_seclog import fill, make_log
from vigilcam.platform.aead import Aead, AeadError, new_key
from vigilcam.platform.seclog import LogError
from vigilcam.platform.vault import FileKek, Vault, VaultError
from vigilcam.recording import segment_format as sf
from vigilcam.update import package
from vigilcam.update.errors import UpdateError

# The GCM specification's test case 16 (AES-256, 96-bit IV, associated data).
K = bytes.fromhex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308")
IV = bytes.fromhex("cafebabefacedbaddecaf888")
AAD = bytes.fromhex("feedfacedeadbeeffeedfacedeadbeefabaddad2")
PLAIN = bytes.fromhex(
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39")
SEALED = bytes.fromhex(
    "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
    "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
    "76fc6ece0f4e1768cddf8853bb2d551b")


def test_known_answer_is_aes_256_gcm() -> None:
    assert Aead(K).seal(IV, PLAIN, AAD) == SEALED
    assert Aead(K).open(IV, SEALED, AAD) == PLAIN


def test_refusals_are_clear_and_typed() -> None:
    for size in (0, 16, 24, 31, 33):  # AESGCM itself takes 16 and 24: the helper must not
        with pytest.raises(ValueError, match="32 bytes"):
            Aead(bytes(size))
    for nonce in (b"", bytes(8), bytes(16)):  # AESGCM takes 8..128: the helper only 12
        with pytest.raises(ValueError, match="12 bytes"):
            Aead(K).seal(nonce, b"x", b"")
    for bad in (SEALED[:-1] + bytes([SEALED[-1] ^ 1]), SEALED[:20]):
        with pytest.raises(AeadError) as info:
            Aead(K).open(IV, bad, AAD)
        assert info.value.__cause__ is None and info.value.__suppress_context__  # no InvalidTag
    with pytest.raises(AeadError):
        Aead(K).open(IV, SEALED, AAD + b"x")
    with pytest.raises(AeadError):
        Aead(K).open_random(b"short", b"")
    one, two = Aead(K).seal_random(b"same", b""), Aead(K).seal_random(b"same", b"")
    assert one[:12] != two[:12] and len(one) == 12 + 4 + 16


def test_vault_written_by_the_old_code_opens(tmp_path: Path) -> None:
    kek_store = FileKek(tmp_path / "keys" / "kek")
    kek_store.create()
    kek = kek_store.load()
    plain = json.dumps({"version": 3, "tpm_counter": None,
                        "secrets": {"api": base64.b64encode(b"s3cret").decode()}}).encode()
    nonce = os.urandom(12)
    path = tmp_path / "vault.bin"
    path.write_bytes(b"VCVAULT2" + nonce + AESGCM(kek).encrypt(nonce, plain, b"vigilcam vault v2"))
    path.chmod(0o600)
    vault = Vault(path, kek_store)
    vault.open()
    assert vault.get("api") == b"s3cret" and vault.version == 3
    vault.put("other", b"x")  # and what the helper writes, the old code reads
    blob = path.read_bytes()
    raw = json.loads(AESGCM(kek).decrypt(blob[8:20], blob[20:], b"vigilcam vault v2"))
    assert raw["version"] == 4 and set(raw["secrets"]) == {"api", "other"}
    path.write_bytes(blob[:-1] + bytes([blob[-1] ^ 1]))
    with pytest.raises(VaultError, match="failed authentication"):
        Vault(path, kek_store).open()


def test_update_package_written_by_the_old_code_decrypts() -> None:
    key, dist = new_key(), new_key()
    aad = package.MAGIC + b"vigilcam\x001.2.3"
    nonce = os.urandom(12)
    old_blob = package.MAGIC + nonce + AESGCM(key).encrypt(nonce, b"tar bytes", aad)
    assert package.decrypt(old_blob, key, "vigilcam", "1.2.3") == b"tar bytes"
    with pytest.raises(UpdateError, match="does not decrypt"):
        package.decrypt(old_blob, key, "vigilcam", "1.2.4")  # passed off as another release
    wrap_nonce = os.urandom(12)
    old_wrapped = base64.b64encode(wrap_nonce + AESGCM(dist).encrypt(
        wrap_nonce, key, b"vigilcam-package-key\x00" + aad)).decode()
    assert package.unwrap_key(old_wrapped, dist, "vigilcam", "1.2.3") == key
    with pytest.raises(UpdateError, match="does not unwrap"):
        package.unwrap_key(old_wrapped, new_key(), "vigilcam", "1.2.3")
    new_blob = package.encrypt(b"tar bytes", key, "vigilcam", "1.2.3")
    body = new_blob[len(package.MAGIC):]
    assert AESGCM(key).decrypt(body[:12], body[12:], aad) == b"tar bytes"


def _old_code_segment(master: bytes, seg_id: uuid.UUID, chunks: list[bytes]) -> bytes:
    """A format-1 segment written with plain AESGCM, byte for byte as the format says."""
    data_key, prefix, wrap_nonce = os.urandom(32), os.urandom(4), os.urandom(12)
    head = (sf.MAGIC + bytes([1, 0]) + seg_id.bytes + bytes([3]) + b"cam"
            + struct.pack(">I", 256) + prefix + wrap_nonce)
    out = head + AESGCM(master).encrypt(wrap_nonce, data_key, b"vigilcam-seg-key-v1" + head)
    for index, chunk in enumerate(chunks):
        final = index == len(chunks) - 1
        aad = b"vigilcam-seg-chunk-v1" + seg_id.bytes + struct.pack(">QB", index, final)
        out += AESGCM(data_key).encrypt(prefix + struct.pack(">Q", index), chunk, aad)
    return out


def test_segment_written_by_the_old_code_opens() -> None:
    master, seg_id = os.urandom(32), uuid.uuid4()
    chunks = [os.urandom(256), os.urandom(256), b"tail"]
    blob = _old_code_segment(master, seg_id, chunks)
    assert sf.decrypt_all(io.BytesIO(blob), master, seg_id) == b"".join(chunks)
    salvaged = sf.salvage(io.BytesIO(blob[:-20]), master)  # torn final chunk
    assert salvaged.plaintext == b"".join(chunks[:2]) and not salvaged.complete
    with pytest.raises(sf.SegmentAuthError, match="does not unwrap"):
        sf.decrypt_all(io.BytesIO(blob), os.urandom(32))
    with pytest.raises(sf.SegmentAuthError, match="chunk 0 failed authentication"):
        swapped = bytearray(blob)
        start = len(blob) - (4 + 16) - 2 * (256 + 16)
        swapped[start:start + 272], swapped[start + 272:start + 544] = (
            blob[start + 272:start + 544], blob[start:start + 272])
        sf.decrypt_all(io.BytesIO(bytes(swapped)), master)


def test_segment_written_now_opens_with_the_old_code() -> None:
    master, seg_id = os.urandom(32), uuid.uuid4()
    dst = io.BytesIO()
    writer = sf.SegmentWriter(dst, master, seg_id, "cam", chunk_size=256,
                              timeline=sf.Timeline(start=100.0, seq=7))
    writer.write(b"a" * 300)
    writer.finish(end=104.5)
    src = io.BytesIO(dst.getvalue())
    header = sf.read_header(src)
    data_key = AESGCM(master).decrypt(header.wrap_nonce, header.wrapped_key,
                                      b"vigilcam-seg-key-v1" + header.authenticated_prefix())
    first = src.read(256 + 16)
    aad0 = b"vigilcam-seg-chunk-v1" + seg_id.bytes + struct.pack(">QB", 0, 0)
    assert AESGCM(data_key).decrypt(header.nonce_prefix + struct.pack(">Q", 0), first,
                                    aad0) == b"a" * 256
    aad1 = (b"vigilcam-seg-chunk-v1" + seg_id.bytes + struct.pack(">QB", 1, 1)
            + struct.pack(">d", 104.5))
    assert AESGCM(data_key).decrypt(header.nonce_prefix + struct.pack(">Q", 1), src.read(),
                                    aad1) == b"a" * 44


def test_log_archive_written_by_the_old_code_opens(tmp_path: Path) -> None:
    log = make_log(tmp_path, rotate_bytes=2000)
    fill(log, 30)
    archive = sorted((tmp_path / "seclog" / "archive").glob("*.enc"))[0]
    blob = archive.read_bytes()
    archive_key = b"a" * 32  # make_log's
    plain = AESGCM(archive_key).decrypt(blob[:12], blob[12:], archive.name.encode())
    assert plain.count(b"\n") >= 2
    nonce = os.urandom(12)  # rewrite it as the old code did: nonce || AESGCM, AAD = file name
    archive.write_bytes(nonce + AESGCM(archive_key).encrypt(nonce, plain,
                                                            archive.name.encode()))
    report = log.verify()
    assert report.ok, report.problems
    assert sum(1 for _ in log.records()) == report.records
    archive.write_bytes(archive.read_bytes()[:10])  # cut below nonce + tag
    with pytest.raises(LogError, match="failed authentication"):
        list(log.records())
