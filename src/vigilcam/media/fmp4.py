"""Fragmented MP4 (ISO/IEC 14496-12 + 14496-15) writer for H.264 (pure; bytes in, bytes out).

Owns the container the browser live view (Media Source Extensions, one fragment per frame for
low latency) and the recorder (segments of a few seconds, later encrypted at rest, IoT-1005-1
5.4.1.2) put video in. One video track, ID 1, timescale 90 kHz (the :data:`PTS_CLOCK`).

Layout: ``init_segment`` = ftyp + moov(mvhd, trak(avc1 + avcC), mvex(trex)); each
``fragment`` = moof(mfhd, traf(tfhd default-base-is-moof, tfdt, trun)) + mdat with
4-byte-length-prefixed NAL units. SPS/PPS/AUD are stripped from samples (they live in avcC),
so a change of parameter sets needs a new init segment.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from .h264 import NAL_AUD, NAL_PPS, NAL_SPS, nal_type
from .types import PTS_CLOCK, EncodedPacket, StreamInfo

__all__ = ["init_segment", "fragment", "Fragmenter", "TRACK_ID", "TIMESCALE"]

TRACK_ID = 1
TIMESCALE = PTS_CLOCK
_MATRIX = struct.pack(">9I", 0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000)
_SYNC_FLAGS = 0x02000000  # sample_depends_on = 2 (independent)
_NON_SYNC_FLAGS = 0x01010000  # sample_depends_on = 1, sample_is_non_sync_sample = 1
_SKIP_IN_SAMPLES = frozenset({NAL_SPS, NAL_PPS, NAL_AUD})


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
    if not 1 <= sequence_number <= 0xFFFFFFFF:
        raise ValueError("fragment sequence_number must be a positive 32-bit number")
    if base_decode_time < 0:
        raise ValueError("fragment base_decode_time must not be negative")
    durations = [max(1, b.dts - a.dts) for a, b in zip(packets, packets[1:], strict=False)]
    if last_duration is None:
        last_duration = durations[-1] if durations else PTS_CLOCK // 30
    durations.append(max(1, last_duration))
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


class Fragmenter:
    """Stateful helper: numbers fragments and keeps decode times on one timeline.

    The first packet pushed (which should be a keyframe) defines time zero; a fragment never
    starts before the end of the previous one, so the timeline has no overlap.
    """

    def __init__(self, info: StreamInfo) -> None:
        self.info = info
        self.sequence_number = 0
        self._origin: int | None = None
        self._next_decode_time = 0
        self._nominal = max(1, round(PTS_CLOCK / info.fps)) if info.fps > 0 else PTS_CLOCK // 30

    def init_segment(self) -> bytes:
        return init_segment(self.info)

    def push(self, packets: Sequence[EncodedPacket]) -> bytes:
        """The fragment for ``packets`` (one per frame for live view, or a whole segment)."""
        if not packets:
            raise ValueError("a fragment needs at least one packet")
        if self._origin is None:
            self._origin = packets[0].dts
        base = max(self._next_decode_time, packets[0].dts - self._origin)
        self.sequence_number += 1
        data = fragment(packets, self.sequence_number, base, last_duration=self._nominal)
        span = packets[-1].dts - packets[0].dts + self._nominal
        self._next_decode_time = base + max(1, span)
        return data
