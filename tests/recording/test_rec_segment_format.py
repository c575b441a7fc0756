"""The encrypted segment format: round trip, and every tampering is refused (IoT-1005-1 5.4.1.2)."""

from __future__ import annotations

import io
import os
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vigilcam.recording.segment_format import (
    TAG_SIZE,
    SegmentAuthError,
    SegmentFormatError,
    SegmentWriter,
    decrypt_all,
    decrypt_chunks,
    encrypted_size,
    read_header,
    salvage,
)

CHUNK = 1024


def seal(key: bytes, data: bytes, seg_id: uuid.UUID | None = None, pieces: int = 3,
         stream: str = "main") -> tuple[uuid.UUID, bytes, int]:
    sid = seg_id or uuid.uuid4()
    buf = io.BytesIO()
    w = SegmentWriter(buf, key, sid, stream, CHUNK)
    step = max(1, len(data) // pieces)
    for i in range(0, len(data), step):
        w.write(data[i : i + step])
    w.finish()
    return sid, buf.getvalue(), w.header.size


def chunks_of(blob: bytes, header_size: int) -> list[bytes]:
    body = blob[header_size:]
    n = CHUNK + TAG_SIZE
    return [body[i : i + n] for i in range(0, len(body), n)]


@given(st.binary(max_size=5000), st.integers(min_value=1, max_value=7))
@settings(max_examples=60, deadline=None)
def test_round_trip_any_size_any_write_pattern(data: bytes, pieces: int) -> None:
    key = bytes(range(32))
    sid, blob, hsize = seal(key, data, pieces=pieces)
    assert decrypt_all(io.BytesIO(blob), key, sid) == data
    assert len(blob) == encrypted_size(len(data), hsize, CHUNK)


def test_ciphertext_has_no_plaintext_and_keys_nonces_are_fresh() -> None:
    key = os.urandom(32)
    data = b"A" * (CHUNK * 4)  # identical plaintext chunks
    sid = uuid.uuid4()
    _, b1, h = seal(key, data, sid)
    _, b2, _ = seal(key, data, sid)  # same id, same key, same plaintext
    assert b"AAAAAAAA" not in b1
    c1 = chunks_of(b1, h)
    assert len(set(c1)) == len(c1), "equal plaintext chunks must encrypt differently"
    assert not set(c1) & set(chunks_of(b2, h)), "a fresh data key per segment"
    assert read_header(io.BytesIO(b1)).nonce_prefix != read_header(io.BytesIO(b2)).nonce_prefix \
        or read_header(io.BytesIO(b1)).wrapped_key != read_header(io.BytesIO(b2)).wrapped_key


@pytest.fixture
def sealed() -> tuple[bytes, uuid.UUID, bytes, int, bytes]:
    key = os.urandom(32)
    data = os.urandom(CHUNK * 5 + 100)
    sid, blob, hsize = seal(key, data)
    return key, sid, blob, hsize, data


def refuse(blob: bytes, key: bytes, sid: uuid.UUID | None, match: str) -> str:
    with pytest.raises(SegmentAuthError, match=match) as err:
        decrypt_all(io.BytesIO(blob), key, sid)
    return str(err.value)


@pytest.mark.parametrize("where", ["header_id", "header_stream", "wrapped_key", "chunk0",
                                   "chunk_mid", "last_tag"])
def test_flip_one_byte_anywhere_is_refused(sealed, where: str) -> None:
    key, sid, blob, hsize, _ = sealed
    pos = {"header_id": 12, "header_stream": 27, "wrapped_key": hsize - 5, "chunk0": hsize + 3,
           "chunk_mid": hsize + 2 * (CHUNK + TAG_SIZE) + 500, "last_tag": len(blob) - 1}[where]
    bad = bytearray(blob)
    bad[pos] ^= 0x01
    with pytest.raises(SegmentAuthError):
        decrypt_all(io.BytesIO(bytes(bad)), key, None)


def test_swapped_chunks_are_refused(sealed) -> None:
    key, sid, blob, hsize, _ = sealed
    c = chunks_of(blob, hsize)
    c[1], c[2] = c[2], c[1]
    msg = refuse(blob[:hsize] + b"".join(c), key, sid, "chunk 1 failed authentication")
    assert "reordered" in msg


def test_truncation_at_chunk_boundary_and_mid_chunk_is_refused(sealed) -> None:
    key, sid, blob, hsize, _ = sealed
    c = chunks_of(blob, hsize)
    refuse(blob[:hsize] + b"".join(c[:3]), key, sid, "chunk 2 failed")  # last chunk not final
    refuse(blob[:-7], key, sid, "failed authentication")
    refuse(blob[: hsize + 5], key, sid, "truncated")
    with pytest.raises(SegmentFormatError):
        decrypt_all(io.BytesIO(blob[: hsize - 3]), key, sid)


def test_appended_or_duplicated_chunk_is_refused(sealed) -> None:
    key, sid, blob, hsize, _ = sealed
    c = chunks_of(blob, hsize)
    refuse(blob[:hsize] + b"".join(c[:2] + c[1:]), key, sid, "failed authentication")
    refuse(blob + c[0], key, sid, "failed authentication")


def test_chunk_from_another_segment_is_refused(sealed) -> None:
    key, sid, blob, hsize, data = sealed
    _, other, _ = seal(key, data, sid)  # even with the same id and content
    c, o = chunks_of(blob, hsize), chunks_of(other, hsize)
    c[2] = o[2]
    refuse(blob[:hsize] + b"".join(c), key, sid, "chunk 2 failed authentication")
    refuse(other[:hsize] + blob[hsize:], key, sid, "chunk 0 failed authentication")


def test_segment_swapped_between_files_is_refused(sealed) -> None:
    key, sid, blob, hsize, data = sealed
    other_id, other, _ = seal(key, data)
    # the other file is intact, but the index expects ``sid`` at this path
    refuse(other, key, sid, "files swapped or renamed")
    assert decrypt_all(io.BytesIO(other), key, other_id) == data


def test_wrong_master_key_is_a_clear_refusal(sealed) -> None:
    key, sid, blob, _, _ = sealed
    refuse(blob, os.urandom(32), sid, "wrong master key")


def test_not_a_segment_and_bad_version() -> None:
    with pytest.raises(SegmentFormatError, match="bad magic"):
        decrypt_all(io.BytesIO(b"\x00\x00\x00\x18ftypisom" + b"x" * 100), os.urandom(32))
    key = os.urandom(32)
    _, blob, _ = seal(key, b"hello")
    bad = bytearray(blob)
    bad[8] = 9
    with pytest.raises(SegmentFormatError, match="version 9"):
        decrypt_all(io.BytesIO(bytes(bad)), key)


def test_decrypt_streams_chunk_by_chunk_and_stops_at_first_bad_chunk(sealed) -> None:
    key, sid, blob, hsize, data = sealed
    bad = bytearray(blob)
    bad[hsize + 3 * (CHUNK + TAG_SIZE) + 1] ^= 0x80
    got = []
    with pytest.raises(SegmentAuthError, match="chunk 3"):
        for chunk in decrypt_chunks(io.BytesIO(bytes(bad)), key, sid):
            got.append(chunk)
    assert b"".join(got) == data[: 3 * CHUNK]


def test_salvage_keeps_the_authenticated_prefix_of_a_torn_file(sealed) -> None:
    key, sid, blob, hsize, data = sealed
    whole = salvage(io.BytesIO(blob), key)
    assert whole.complete and whole.plaintext == data
    for cut in range(hsize, len(blob), 97):
        s = salvage(io.BytesIO(blob[:cut]), key)
        assert not s.complete
        assert data.startswith(s.plaintext)
        assert len(s.plaintext) == ((cut - hsize) // (CHUNK + TAG_SIZE)) * CHUNK
    with pytest.raises(SegmentAuthError):
        salvage(io.BytesIO(blob), os.urandom(32))


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        SegmentWriter(io.BytesIO(), b"short", uuid.uuid4(), "main")
    with pytest.raises(ValueError, match="stream name"):
        SegmentWriter(io.BytesIO(), os.urandom(32), uuid.uuid4(), "x" * 65)
    w = SegmentWriter(io.BytesIO(), os.urandom(32), uuid.uuid4(), "main")
    w.finish()
    with pytest.raises(ValueError, match="finished"):
        w.write(b"late")


def test_plaintext_scan_reads_past_the_header() -> None:
    # The tests' plaintext scan looks for H.264 start codes. The first segment of a timeline
    # has seq 1 (00 00 00 01 in its header) right before the random wrap nonce: one segment in
    # 256 per NAL type reads as a start code there. The scan reads the ciphertext only, and
    # still finds a start code in it.
    from tests.recording.rec_support import scan_plaintext
    from vigilcam.recording.segment_format import Timeline

    buf = io.BytesIO()
    w = SegmentWriter(buf, os.urandom(32), uuid.uuid4(), "main", CHUNK,
                      timeline=Timeline(start=1.0e9, seq=1))
    w.write(os.urandom(3 * CHUNK))
    w.finish(end=1.0e9 + 6.0)
    data = bytearray(buf.getvalue())
    data[data.index(w.header.wrap_nonce)] = 0x68
    assert b"\x00\x00\x00\x01\x68" in data
    assert scan_plaintext(bytes(data), []) == []
    assert scan_plaintext(bytes(data) + b"\x00\x00\x00\x01\x67\x64", [])
