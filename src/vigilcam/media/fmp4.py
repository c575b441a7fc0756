"""Fragmented MP4 (ISO/IEC 14496-12 + 14496-15) for H.264: writer, reader, timeline (pure).

Owns the container the browser live view (Media Source Extensions, one fragment per frame for
low latency) and the recorder (segments of a few seconds, later encrypted at rest, IoT-1005-1
5.4.1.2) put video in, and the one fragment timeline: :class:`FragmentTimeline` numbers the
fragments of a stream and places their decode times, for the live view (``web/api_media``),
the recorder (``recording/recorder``) and playback, which joins recorded segments into one
stream (``recording/playback.PlaybackJoiner``). One video track, ID 1, timescale 90 kHz (the
:data:`PTS_CLOCK`).

Layout: ``init_segment`` = ftyp + moov(mvhd, trak(avc1 + avcC), mvex(trex)); each
``fragment`` = moof(mfhd, traf(tfhd default-base-is-moof, tfdt, trun)) + mdat with
4-byte-length-prefixed NAL units. SPS/PPS/AUD are stripped from samples (they live in avcC),
so a change of parameter sets needs a new init segment. Reading (:func:`iter_boxes`,
:meth:`FragmentTimeline.retime`) understands this layout and refuses others with
:class:`Fmp4Error`.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from .h264 import NAL_AUD, NAL_PPS, NAL_SPS, nal_type
from .types import PTS_CLOCK, EncodedPacket, StreamInfo

__all__ = [
    "Fmp4Error", "FragmentTimeline", "TIMESCALE", "TRACK_ID", "fragment", "init_segment",
    "iter_boxes",
]

TRACK_ID = 1
TIMESCALE = PTS_CLOCK
_MATRIX = struct.pack(">9I", 0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000)
_SYNC_FLAGS = 0x02000000  # sample_depends_on = 2 (independent)
_NON_SYNC_FLAGS = 0x01010000  # sample_depends_on = 1, sample_is_non_sync_sample = 1
_SKIP_IN_SAMPLES = frozenset({NAL_SPS, NAL_PPS, NAL_AUD})
_MAX_SEQUENCE = 0xFFFFFFFF
_LONE_SAMPLE_DURATION = PTS_CLOCK // 30


class Fmp4Error(Exception):
    """The bytes are not a fragmented MP4 of the layout above."""


def _box(kind: bytes, *payload: bytes) -> bytes:
    body = b"".join(payload)
    return struct.pack(">I", 8 + len(body)) + kind + body


def _full_box(kind: bytes, version: int, flags: int, *payload: bytes) -> bytes:
    return _box(kind, struct.pack(">I", (version << 24) | flags), *payload)


def _avc1(info: StreamInfo) -> bytes:
    name = b"vigilcam H.264"
    compressor = bytes([len(name)]) + name + b"\x00" * (31 - len(name))
    entry = (
        b"\x00" * 6 + struct.pack(">H", 1)  # reserved, data_reference_index
        + b"\x00" * 16  # pre_defined, reserved, pre_defined[3]
        + struct.pack(">HH", info.width, info.height)
        + struct.pack(">II", 0x00480000, 0x00480000)  # 72 dpi
        + struct.pack(">IH", 0, 1)  # reserved, frame_count
        + compressor
        + struct.pack(">Hh", 0x0018, -1)  # depth, pre_defined
    )
    return _box(b"avc1", entry, _box(b"avcC", info.avcc()))


def init_segment(info: StreamInfo) -> bytes:
    """ftyp + moov for one H.264 video track described by ``info``."""
    ftyp = _box(b"ftyp", b"isom", struct.pack(">I", 0x200), b"isomiso6avc1mp41")
    mvhd = _full_box(
        b"mvhd", 0, 0,
        struct.pack(">IIII", 0, 0, 1000, 0),  # creation, modification, timescale, duration
        struct.pack(">IH", 0x00010000, 0x0100), b"\x00" * 10, _MATRIX, b"\x00" * 24,
        struct.pack(">I", TRACK_ID + 1),
    )
    tkhd = _full_box(
        b"tkhd", 0, 0x3,  # enabled, in movie
        struct.pack(">IIIII", 0, 0, TRACK_ID, 0, 0), b"\x00" * 8,
        struct.pack(">hhhH", 0, 0, 0, 0), _MATRIX,
        struct.pack(">II", info.width << 16, info.height << 16),
    )
    mdhd = _full_box(b"mdhd", 0, 0, struct.pack(">IIIIHH", 0, 0, TIMESCALE, 0, 0x55C4, 0))
    hdlr = _full_box(b"hdlr", 0, 0, struct.pack(">I", 0), b"vide", b"\x00" * 12,
                     b"VideoHandler\x00")
    vmhd = _full_box(b"vmhd", 0, 1, b"\x00" * 8)
    dinf = _box(b"dinf", _full_box(b"dref", 0, 0, struct.pack(">I", 1),
                                   _full_box(b"url ", 0, 1)))
    stbl = _box(
        b"stbl",
        _full_box(b"stsd", 0, 0, struct.pack(">I", 1), _avc1(info)),
        _full_box(b"stts", 0, 0, struct.pack(">I", 0)),
        _full_box(b"stsc", 0, 0, struct.pack(">I", 0)),
        _full_box(b"stsz", 0, 0, struct.pack(">II", 0, 0)),
        _full_box(b"stco", 0, 0, struct.pack(">I", 0)),
    )
    trak = _box(b"trak", tkhd, _box(b"mdia", mdhd, hdlr, _box(b"minf", vmhd, dinf, stbl)))
    trex = _full_box(b"trex", 0, 0, struct.pack(">IIIII", TRACK_ID, 1, 0, 0, 0))
    return ftyp + _box(b"moov", mvhd, trak, _box(b"mvex", trex))


def _sample_durations(packets: Sequence[EncodedPacket], last_duration: int | None) -> list[int]:
    """Each sample lasts until the next one's decode time; the last ``last_duration``."""
    durations = [max(1, b.dts - a.dts) for a, b in zip(packets, packets[1:], strict=False)]
    if last_duration is None:
        last_duration = durations[-1] if durations else _LONE_SAMPLE_DURATION
    durations.append(max(1, last_duration))
    return durations


def fragment(
    packets: Sequence[EncodedPacket],
    sequence_number: int,
    base_decode_time: int,
    *,
    last_duration: int | None = None,
) -> bytes:
    """moof + mdat holding ``packets`` (in decode order) as consecutive samples.

    ``base_decode_time`` (90 kHz) is the decode time of the first sample on the track's
    timeline; the following samples are spaced by their dts differences. The last sample lasts
    ``last_duration`` ticks (default: the previous spacing, or 1/30 s for a lone sample).
    """
    if not packets:
        raise ValueError("a fragment needs at least one packet")
    if not 1 <= sequence_number <= _MAX_SEQUENCE:
        raise ValueError("fragment sequence_number must be a positive 32-bit number")
    if base_decode_time < 0:
        raise ValueError("fragment base_decode_time must not be negative")
    durations = _sample_durations(packets, last_duration)
    samples = [
        b"".join(struct.pack(">I", len(n)) + n for n in p.nals
                 if nal_type(n) not in _SKIP_IN_SAMPLES)
        for p in packets
    ]
    offsets = [p.pts - p.dts for p in packets]
    with_cto = any(offsets)
    flags = 0x001 | 0x100 | 0x200 | 0x400 | (0x800 if with_cto else 0)
    entry_fmt = ">IIIi" if with_cto else ">III"
    entries = []
    for p, dur, sample, cto in zip(packets, durations, samples, offsets, strict=True):
        sample_flags = _SYNC_FLAGS if p.keyframe else _NON_SYNC_FLAGS
        vals = (dur, len(sample), sample_flags, cto) if with_cto else (dur, len(sample),
                                                                       sample_flags)
        entries.append(struct.pack(entry_fmt, *vals))

    def build_moof(data_offset: int) -> bytes:
        trun = _full_box(b"trun", 1, flags, struct.pack(">Ii", len(packets), data_offset),
                         *entries)
        traf = _box(
            b"traf",
            _full_box(b"tfhd", 0, 0x020000, struct.pack(">I", TRACK_ID)),
            _full_box(b"tfdt", 1, 0, struct.pack(">Q", base_decode_time)),
            trun,
        )
        return _box(b"moof", _full_box(b"mfhd", 0, 0, struct.pack(">I", sequence_number)),
                    traf)

    moof_size = len(build_moof(0))
    moof = build_moof(moof_size + 8)  # samples start right after the mdat header
    return moof + _box(b"mdat", *samples)


def iter_boxes(
    data: bytes, offset: int = 0, end: int | None = None
) -> list[tuple[bytes, int, int]]:
    """Boxes side by side in ``data[offset:end]`` as (type, start, end); stops at the first
    incomplete box."""
    limit = len(data) if end is None else end
    out: list[tuple[bytes, int, int]] = []
    pos = offset
    while pos + 8 <= limit:
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        header = 8
        if size == 1:
            if pos + 16 > limit:
                break
            (size,) = struct.unpack(">Q", data[pos + 8 : pos + 16])
            header = 16
        elif size == 0:
            size = limit - pos
        if size < header or pos + size > limit:
            break
        out.append((kind, pos, pos + size))
        pos += size
    return out


def _child(data: bytes, start: int, end: int, kind: bytes) -> tuple[int, int]:
    for k, s, e in iter_boxes(data, start, end):
        if k == kind:
            return s, e
    raise Fmp4Error(f"fragment has no {kind.decode()} box")


def _trun_duration(data: bytes, start: int, end: int) -> int:
    """Sum of the sample durations a ``trun`` box lists."""
    flags = int.from_bytes(data[start + 9 : start + 12], "big")
    count = int.from_bytes(data[start + 12 : start + 16], "big")
    pos = start + 16 + (4 if flags & 0x1 else 0) + (4 if flags & 0x4 else 0)
    if not flags & 0x100:
        raise Fmp4Error("trun without sample durations")
    step = 4 * sum(1 for bit in (0x100, 0x200, 0x400, 0x800) if flags & bit)
    if pos + step * count > end:
        raise Fmp4Error("trun is truncated")
    return sum(int.from_bytes(data[pos + i * step : pos + i * step + 4], "big")
               for i in range(count))


class FragmentTimeline:
    """Sequence numbers and decode times of the fragments of one stream (pure).

    Invariants:

    - fragments are numbered 1, 2, 3, ... (``mfhd``) in the order they are made, also across
      :meth:`restart`; the 32-bit number wraps from 2**32 - 1 to 1, never 0;
    - a written fragment's decode time (``tfdt``) is its first sample's dts minus ``origin``
      (never negative); a fragment read back (:meth:`retime`) keeps its recorded decode time
      plus the shift. Nothing is re-spaced: samples keep the spacing of their dts;
    - ``end`` is the latest decode time a sample placed since the last restart reaches;
    - a fragment that cannot be made (bad packets, malformed box) changes nothing.
    """

    def __init__(self, origin: int = 0) -> None:
        self.origin = origin
        """The dts that is decode time zero."""
        self.sequence = 0
        """Number of the last fragment made (0: none yet)."""
        self.end = 0
        self._previous_dts: int | None = None

    def restart(self, origin: int) -> None:
        """A new init segment on the same stream: decode times count from ``origin`` again,
        the numbering goes on."""
        self.origin = origin
        self.end = 0
        self._previous_dts = None

    def _next_sequence(self) -> int:
        return self.sequence % _MAX_SEQUENCE + 1

    def _commit(self, sequence: int, end: int) -> None:
        self.sequence = sequence
        self.end = max(self.end, end)

    def fragment(self, packets: Sequence[EncodedPacket], *,
                 last_duration: int | None = None) -> bytes:
        """The next fragment, holding ``packets`` (decode order); its last sample lasts
        ``last_duration`` ticks (default: the spacing before it, 1/30 s for a lone sample)."""
        if not packets:
            raise ValueError("a fragment needs at least one packet")
        base = max(0, packets[0].dts - self.origin)
        durations = _sample_durations(packets, last_duration)
        sequence = self._next_sequence()
        data = fragment(packets, sequence, base, last_duration=durations[-1])
        self._commit(sequence, base + sum(durations))
        self._previous_dts = packets[-1].dts
        return data

    def frame(self, packet: EncodedPacket) -> bytes:
        """One fragment for one frame, made before the next frame exists (live view): it
        lasts as long as the spacing before it, 1/30 s for the first frame after a restart."""
        last = None if self._previous_dts is None else packet.dts - self._previous_dts
        return self.fragment([packet], last_duration=last)

    def retime(self, moof: bytes, shift: int) -> bytes:
        """A ``moof`` read back from a file of this layout, numbered as the next fragment and
        moved ``shift`` ticks later (its ``mdat`` follows unchanged). Raises Fmp4Error."""
        mfhd = _child(moof, 8, len(moof), b"mfhd")
        traf = _child(moof, 8, len(moof), b"traf")
        tfdt = _child(moof, traf[0] + 8, traf[1], b"tfdt")
        trun = _child(moof, traf[0] + 8, traf[1], b"trun")
        if moof[tfdt[0] + 8] != 1:
            raise Fmp4Error("tfdt version 0 is not supported")
        decode_time = shift + int.from_bytes(moof[tfdt[0] + 12 : tfdt[0] + 20], "big")
        end = decode_time + _trun_duration(moof, *trun)
        sequence = self._next_sequence()
        out = bytearray(moof)
        out[mfhd[0] + 12 : mfhd[0] + 16] = sequence.to_bytes(4, "big")
        out[tfdt[0] + 12 : tfdt[0] + 20] = decode_time.to_bytes(8, "big")
        self._commit(sequence, end)
        return bytes(out)
