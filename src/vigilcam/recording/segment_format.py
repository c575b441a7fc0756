"""The encrypted segment file format: pure crypto, no paths, no index.

Owns how a recording segment is laid out and protected at rest. Serves IoT-1005-1 5.4.1.2
(stored sensitive data encrypted with AES-256-GCM, NIST SP 800-38D, key sizes per SP 800-131A),
5.7.1.1 (crypto-erase: without the master key nothing decrypts) and EN 303 645 5.8.

Layout (all integers big-endian)::

    header   magic "VCSEG\\x00\\r\\n" (8) | version u8 | reserved u8 | segment id (16, UUID)
             | stream length u8 | stream (UTF-8) | chunk size u32 | nonce prefix (4)
             | [version 2: start time f64 (UTC epoch s) | timeline seq u64]
             | wrap nonce (12) | wrapped data key (32 + 16 tag)
    chunks   ciphertext of each plaintext chunk + 16-byte tag, back to back

Invariants:
- The AEAD is ``platform/aead.py`` (AES-256-GCM); this module owns the nonces and associated
  data below, and maps an authentication failure to ``SegmentAuthError`` naming what failed.
- Every segment has its own random 256-bit data key, wrapped by the master key with
  AES-256-GCM under a random 12-byte wrap nonce (one wrap per master key and segment); the
  associated data of the wrap is every header byte before the wrapped key, so any change to
  the header (id, stream, chunk size, nonce prefix) refuses the whole file.
- A chunk's nonce is the segment's random 4-byte prefix followed by the 64-bit chunk counter.
  The key is never used for another segment and the counter never repeats inside one, so a
  (key, nonce) pair is never reused. Repairing a torn segment re-encrypts under a NEW data key
  (see ``salvage``) rather than re-using a counter.
- A chunk's associated data is ``segment id | chunk index | final flag``: a chunk moved to
  another index, copied from another segment, or a file cut at a chunk boundary (its last
  chunk is not flagged final) all fail authentication.
- Every chunk except the last holds exactly ``chunk_size`` plaintext bytes; the last holds
  0..chunk_size bytes and carries the final flag. The reader needs no length fields.
- Format 2 binds the segment's place on the timeline (integrity of evidence): its start time
  and its sequence number on the stream's timeline are header fields, hence associated data of
  the key wrap; its end time is associated data of the final chunk (the end is only known when
  the segment is finished). A reader given the index's ``Timeline`` refuses a segment whose
  index times or seq differ from the ones it was recorded with (times swapped or edited in the
  index, footage moved), naming the segment and the field. Format 1 segments (no timeline)
  stay readable; they can be moved on the timeline unnoticed, which ``verify`` reports, and a
  format-1 file under an index row that carries a seq (a format-2 recording) is refused.
- Decryption yields a chunk only after its tag verified: no unauthenticated plaintext leaves
  this module. Nothing here touches the disk; callers pass file objects.
"""

from __future__ import annotations

import io
import os
import struct
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, Protocol

from vigilcam.platform import aead
from vigilcam.platform.aead import Aead, AeadError

MAGIC = b"VCSEG\x00\r\n"
VERSION = 2
LEGACY_VERSION = 1
DEFAULT_CHUNK_SIZE = 64 * 1024
MIN_CHUNK_SIZE = 256
MAX_CHUNK_SIZE = 16 * 1024 * 1024
KEY_SIZE = aead.KEY_BYTES
TAG_SIZE = aead.TAG_BYTES
NONCE_PREFIX_SIZE = 4  # + the 8-byte chunk counter = the AEAD's 12-byte nonce
_WRAP_NONCE_SIZE = aead.NONCE_BYTES
_WRAPPED_KEY_SIZE = KEY_SIZE + TAG_SIZE
_MAX_STREAM_LEN = 64
_AAD_TAG = b"vigilcam-seg-chunk-v1"
_WRAP_TAG = b"vigilcam-seg-key-v1"


class Sink(Protocol):
    """Where ciphertext goes: anything with ``write(bytes)`` that writes all of it."""

    def write(self, data: bytes, /) -> object: ...


class SegmentFormatError(Exception):
    """The bytes are not a segment this version understands (bad magic, version, header)."""


class SegmentAuthError(SegmentFormatError):
    """Authentication failed: wrong key, tampering, truncation, reordering or a swapped file."""


@dataclass(frozen=True)
class Timeline:
    """Where a segment sits on its stream's timeline (bound into format 2)."""

    start: float
    seq: int | None
    """None for a row of the legacy format (recorded before timelines were bound)."""
    end: float | None = None
    """Known once the segment is finished; bound into the final chunk."""


@dataclass(frozen=True)
class SegmentHeader:
    segment_id: uuid.UUID
    stream: str
    chunk_size: int
    nonce_prefix: bytes
    wrap_nonce: bytes
    wrapped_key: bytes
    version: int = VERSION
    start: float | None = None
    seq: int | None = None

    def authenticated_prefix(self) -> bytes:
        """The header bytes bound as associated data of the key wrap."""
        stream = self.stream.encode("utf-8")
        timeline = b""
        if self.version >= 2:
            assert self.start is not None and self.seq is not None
            timeline = struct.pack(">dQ", self.start, self.seq)
        return b"".join(
            (
                MAGIC,
                struct.pack(">BB", self.version, 0),
                self.segment_id.bytes,
                struct.pack(">B", len(stream)),
                stream,
                struct.pack(">I", self.chunk_size),
                self.nonce_prefix,
                timeline,
                self.wrap_nonce,
            )
        )

    def to_bytes(self) -> bytes:
        return self.authenticated_prefix() + self.wrapped_key

    @property
    def size(self) -> int:
        return len(self.to_bytes())


def _check_master_key(master_key: bytes) -> None:
    if not isinstance(master_key, bytes | bytearray) or len(master_key) != KEY_SIZE:
        raise ValueError("the recording master key must be 32 bytes (AES-256)")


def _check_stream(stream: str) -> bytes:
    raw = stream.encode("utf-8")
    if not raw or len(raw) > _MAX_STREAM_LEN:
        raise ValueError(f"stream name must be 1..{_MAX_STREAM_LEN} bytes of UTF-8")
    return raw


def _chunk_nonce(prefix: bytes, index: int) -> bytes:
    return prefix + struct.pack(">Q", index)


def _chunk_aad(
    segment_id: uuid.UUID, index: int, final: bool, end: float | None = None
) -> bytes:
    aad = _AAD_TAG + segment_id.bytes + struct.pack(">QB", index, 1 if final else 0)
    if final and end is not None:  # format 2: the end time is bound to the final chunk
        aad += struct.pack(">d", end)
    return aad


def _wrap_aad(prefix: bytes) -> bytes:
    return _WRAP_TAG + prefix


def encrypted_size(plaintext_size: int, header_size: int, chunk_size: int) -> int:
    """Bytes on disk for ``plaintext_size`` bytes of content (used for overhead figures)."""
    full, rest = divmod(plaintext_size, chunk_size)
    chunks = full + 1 if rest or full == 0 else full
    return header_size + plaintext_size + chunks * TAG_SIZE


class SegmentWriter:
    """Streaming encryptor: ``write()`` plaintext as it comes, ``finish()`` once.

    Holds at most one chunk of plaintext in memory. The destination sees only the header and
    authenticated ciphertext.
    """

    def __init__(
        self,
        dst: Sink,
        master_key: bytes,
        segment_id: uuid.UUID,
        stream: str,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        timeline: Timeline | None = None,
    ) -> None:
        """``timeline`` (start, seq) writes format 2, bound to its place on the timeline;
        without it the legacy format 1 is written (kept for readers of old files and tests)."""
        _check_master_key(master_key)
        _check_stream(stream)
        if not MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE:
            raise ValueError(f"chunk size must be {MIN_CHUNK_SIZE}..{MAX_CHUNK_SIZE} bytes")
        self._dst = dst
        self._segment_id = segment_id
        data_key = aead.new_key()
        self._aead = Aead(data_key)
        partial = SegmentHeader(
            segment_id=segment_id,
            stream=stream,
            chunk_size=chunk_size,
            nonce_prefix=os.urandom(NONCE_PREFIX_SIZE),
            wrap_nonce=os.urandom(_WRAP_NONCE_SIZE),
            wrapped_key=b"",
            version=VERSION if timeline is not None else LEGACY_VERSION,
            start=None if timeline is None else float(timeline.start),
            seq=None if timeline is None else int(timeline.seq or 0),
        )
        wrapped = Aead(master_key).seal(
            partial.wrap_nonce, data_key, _wrap_aad(partial.authenticated_prefix())
        )
        self.header = SegmentHeader(
            segment_id=partial.segment_id,
            stream=partial.stream,
            chunk_size=partial.chunk_size,
            nonce_prefix=partial.nonce_prefix,
            wrap_nonce=partial.wrap_nonce,
            wrapped_key=wrapped,
            version=partial.version,
            start=partial.start,
            seq=partial.seq,
        )
        del data_key
        self._buffer = bytearray()
        self._index = 0
        self._finished = False
        self.plaintext_size = 0
        self.bytes_written = 0
        self._emit(self.header.to_bytes())

    def _emit(self, data: bytes) -> None:
        self._dst.write(data)
        self.bytes_written += len(data)

    def _seal(self, plaintext: bytes, final: bool, end: float | None = None) -> None:
        nonce = _chunk_nonce(self.header.nonce_prefix, self._index)
        aad = _chunk_aad(self._segment_id, self._index, final, end)
        self._emit(self._aead.seal(nonce, plaintext, aad))
        self._index += 1

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._finished:
            raise ValueError("segment already finished")
        self._buffer += data
        self.plaintext_size += len(data)
        size = self.header.chunk_size
        # Strictly more than one chunk: the bytes after it prove this chunk is not the last.
        start = 0
        while len(self._buffer) - start > size:
            self._seal(bytes(self._buffer[start : start + size]), final=False)
            start += size
        if start:
            del self._buffer[:start]

    def finish(self, end: float | None = None) -> None:
        """Seal the final chunk; format 2 needs the segment's ``end`` time (bound to it)."""
        if self._finished:
            raise ValueError("segment already finished")
        if self.header.version >= 2:
            if end is None:
                raise ValueError("a timeline-bound segment needs its end time to finish")
            end = float(end)
        else:
            end = None
        self._seal(bytes(self._buffer), final=True, end=end)
        self._buffer.clear()
        self._finished = True

    @property
    def chunks_written(self) -> int:
        return self._index


def read_header(src: BinaryIO) -> SegmentHeader:
    """Parse the header (not yet authenticated: ``unwrap_key`` authenticates it)."""
    fixed = _read_exact(src, len(MAGIC) + 2 + 16 + 1)
    if len(fixed) < len(MAGIC) or fixed[: len(MAGIC)] != MAGIC:
        raise SegmentFormatError("not a vigilcam segment (bad magic)")
    if len(fixed) < len(MAGIC) + 19:
        raise SegmentFormatError("segment header truncated")
    version = fixed[len(MAGIC)]
    if version not in (VERSION, LEGACY_VERSION):
        raise SegmentFormatError(f"unsupported segment format version {version}")
    seg_id = uuid.UUID(bytes=fixed[len(MAGIC) + 2 : len(MAGIC) + 18])
    stream_len = fixed[-1]
    if not 1 <= stream_len <= _MAX_STREAM_LEN:
        raise SegmentFormatError("segment header has an invalid stream name length")
    timeline_len = 16 if version >= 2 else 0
    rest_len = (stream_len + 4 + NONCE_PREFIX_SIZE + timeline_len + _WRAP_NONCE_SIZE
                + _WRAPPED_KEY_SIZE)
    rest = _read_exact(src, rest_len)
    if len(rest) != rest_len:
        raise SegmentFormatError("segment header truncated")
    try:
        stream = rest[:stream_len].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SegmentFormatError("segment header has an invalid stream name") from exc
    pos = stream_len
    (chunk_size,) = struct.unpack(">I", rest[pos : pos + 4])
    pos += 4
    if not MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE:
        raise SegmentFormatError(f"segment header has an invalid chunk size {chunk_size}")
    prefix = rest[pos : pos + NONCE_PREFIX_SIZE]
    pos += NONCE_PREFIX_SIZE
    start: float | None = None
    seq: int | None = None
    if timeline_len:
        start, seq = struct.unpack(">dQ", rest[pos : pos + timeline_len])
        pos += timeline_len
    wrap_nonce = rest[pos : pos + _WRAP_NONCE_SIZE]
    pos += _WRAP_NONCE_SIZE
    wrapped = rest[pos : pos + _WRAPPED_KEY_SIZE]
    return SegmentHeader(seg_id, stream, chunk_size, prefix, wrap_nonce, wrapped, version,
                         start, seq)


def unwrap_key(header: SegmentHeader, master_key: bytes) -> bytes:
    _check_master_key(master_key)
    try:
        return Aead(master_key).open(
            header.wrap_nonce, header.wrapped_key, _wrap_aad(header.authenticated_prefix())
        )
    except AeadError as exc:
        raise SegmentAuthError(
            f"segment {header.segment_id}: data key does not unwrap "
            "(wrong master key, or the header was altered)"
        ) from exc


def _read_exact(src: BinaryIO, n: int) -> bytes:
    parts: list[bytes] = []
    remaining = n
    while remaining:
        block = src.read(remaining)
        if not block:
            break
        parts.append(block)
        remaining -= len(block)
    return b"".join(parts)


def _fmt_time(t: float | None) -> str:
    return "none" if t is None else f"{t:.6f}"


def check_timeline(header: SegmentHeader, expected: Timeline | None) -> float | None:
    """Compare an (authenticated) header with the index's timeline; the end to bind, if any.

    Raises ``SegmentAuthError`` naming the segment and what differs.
    """
    sid = header.segment_id
    if header.version < 2:
        if expected is not None and expected.seq is not None:
            raise SegmentAuthError(
                f"segment {sid}: file is in the legacy format without a timeline, but the index "
                f"places it at seq {expected.seq} (file replaced by older footage)")
        return None
    if expected is None:
        raise SegmentAuthError(f"segment {sid}: timeline-bound segment read without its "
                               "timeline")
    if expected.seq != header.seq:
        raise SegmentAuthError(
            f"segment {sid}: the index places it at seq {expected.seq} on the timeline but it "
            f"was recorded as seq {header.seq} (segments reordered or footage moved)")
    if expected.start != header.start:
        raise SegmentAuthError(
            f"segment {sid}: the index says it starts at {_fmt_time(expected.start)} but it "
            f"was recorded starting at {_fmt_time(header.start)} (times edited or swapped in "
            "the index, or footage moved)")
    return expected.end


def decrypt_chunks(
    src: BinaryIO,
    master_key: bytes,
    expected_id: uuid.UUID | None = None,
    timeline: Timeline | None = None,
) -> Iterator[bytes]:
    """Yield authenticated plaintext chunks in order; raise ``SegmentAuthError`` on any fault.

    ``expected_id`` is the id the index holds for this file: a segment copied over another
    file's name is refused even though it is itself intact. ``timeline`` is where the index
    places it (start, seq, end): a format-2 segment recorded elsewhere on the timeline is
    refused (see ``check_timeline``); its final chunk authenticates only with its own end time.
    """
    header = read_header(src)
    if expected_id is not None and header.segment_id != expected_id:
        raise SegmentAuthError(
            f"segment file holds segment {header.segment_id}, expected {expected_id} "
            "(files swapped or renamed)"
        )
    cipher = Aead(unwrap_key(header, master_key))
    end = check_timeline(header, timeline)
    if header.version >= 2 and end is None:
        raise SegmentAuthError(f"segment {header.segment_id}: the index holds no end time for "
                               "it, so its final chunk cannot be authenticated")
    block = header.chunk_size + TAG_SIZE
    index = 0
    current = _read_exact(src, block)
    while True:
        following = _read_exact(src, block) if len(current) == block else b""
        final = not following
        if len(current) < TAG_SIZE:
            raise SegmentAuthError(
                f"segment {header.segment_id}: truncated at chunk {index} (no final chunk)"
            )
        try:
            plain = cipher.open(
                _chunk_nonce(header.nonce_prefix, index),
                current,
                _chunk_aad(header.segment_id, index, final, end),
            )
        except AeadError as exc:
            if final and end is not None:
                raise SegmentAuthError(
                    f"segment {header.segment_id}: final chunk {index} failed authentication "
                    f"with the end time {_fmt_time(end)} the index holds (end time edited or "
                    "swapped in the index, footage moved, or the file tampered or truncated)"
                ) from exc
            raise SegmentAuthError(
                f"segment {header.segment_id}: chunk {index} failed authentication "
                "(tampered, truncated, reordered, or copied from another segment)"
            ) from exc
        yield plain
        if final:
            return
        index += 1
        current = following


def decrypt_all(
    src: BinaryIO,
    master_key: bytes,
    expected_id: uuid.UUID | None = None,
    timeline: Timeline | None = None,
) -> bytes:
    """Whole plaintext in memory (segments are a few seconds); all-or-nothing."""
    out = io.BytesIO()
    for chunk in decrypt_chunks(src, master_key, expected_id, timeline):
        out.write(chunk)
    return out.getvalue()


@dataclass(frozen=True)
class Salvage:
    """What survives of a segment whose writer stopped: the authenticated prefix."""

    header: SegmentHeader
    plaintext: bytes
    complete: bool
    """True when the final chunk was present: the file is whole and needs no re-encryption."""


def salvage(
    src: BinaryIO,
    master_key: bytes,
    max_bytes: int = 256 * 1024 * 1024,
    end: float | None = None,
) -> Salvage:
    """Recover the longest authenticated prefix of a torn segment (crash during writing).

    Chunks are accepted in order while they authenticate as non-final chunks; a full-size last
    chunk is tried both ways because a crash can land exactly on a chunk boundary. The header
    must authenticate, otherwise ``SegmentAuthError``. ``end`` is the end time the index holds
    for a format-2 segment: its final chunk only counts as final when bound to that end.
    """
    header = read_header(src)
    cipher = Aead(unwrap_key(header, master_key))
    if header.version < 2:
        end = None
    block = header.chunk_size + TAG_SIZE
    out = bytearray()
    index = 0
    current = _read_exact(src, block)
    while len(current) >= TAG_SIZE:
        following = _read_exact(src, block) if len(current) == block else b""
        nonce = _chunk_nonce(header.nonce_prefix, index)
        if not following:
            try:
                if header.version < 2 or end is not None:
                    aad = _chunk_aad(header.segment_id, index, True, end)
                    out += cipher.open(nonce, current, aad)
                    return Salvage(header, bytes(out), True)
            except AeadError:
                pass
        try:
            out += cipher.open(nonce, current, _chunk_aad(header.segment_id, index, False))
        except AeadError:
            break
        if len(out) > max_bytes:
            raise SegmentFormatError(f"segment {header.segment_id} is larger than {max_bytes}")
        index += 1
        current = following
    return Salvage(header, bytes(out), False)
