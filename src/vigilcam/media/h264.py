"""H.264 bitstream framing helpers (pure): Annex B / AVCC splitting, parameter sets.

Owns how encoded access units are cut into NAL units for :class:`EncodedPacket`, whether they
come from our encoder (Annex B) or are passed through from an upstream camera or file (Annex B
or length-prefixed AVCC). No IO. Serves the pass-through of an H.264 upstream without
re-encoding (docs/architecture.md: one encode per stream).
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "NAL_IDR",
    "NAL_SPS",
    "NAL_PPS",
    "NAL_AUD",
    "nal_type",
    "split_annexb",
    "split_length_prefixed",
    "parse_avcc_record",
    "parameter_sets",
    "to_nals",
]

NAL_SLICE = 1
NAL_IDR = 5
NAL_SEI = 6
NAL_SPS = 7
NAL_PPS = 8
NAL_AUD = 9


def nal_type(nal: bytes) -> int:
    return nal[0] & 0x1F if nal else -1


def split_annexb(data: bytes) -> list[bytes]:
    """NAL units of an Annex B byte stream, without start codes (3- or 4-byte)."""
    out: list[bytes] = []
    n = len(data)
    i = data.find(b"\x00\x00\x01")
    if i < 0:
        return [data] if data else []
    start = i + 3
    while True:
        j = data.find(b"\x00\x00\x01", start)
        if j < 0:
            nal = data[start:n]
        else:
            # A 4-byte start code leaves one zero byte behind; so can trailing_zero_8bits.
            end = j
            while end > start and data[end - 1] == 0:
                end -= 1
            nal = data[start:end]
        if nal:
            out.append(nal)
        if j < 0:
            break
        start = j + 3
    return out


def split_length_prefixed(data: bytes, length_size: int = 4) -> list[bytes]:
    """NAL units of an AVCC (MP4-style) sample: each prefixed by a big-endian length."""
    if length_size not in (1, 2, 4):
        raise ValueError("NAL length size must be 1, 2 or 4")
    out: list[bytes] = []
    i = 0
    n = len(data)
    while i < n:
        if i + length_size > n:
            raise ValueError("truncated NAL length prefix")
        size = int.from_bytes(data[i : i + length_size], "big")
        i += length_size
        if size == 0 or i + size > n:
            raise ValueError("NAL length prefix runs past the end of the sample")
        out.append(data[i : i + size])
        i += size
    return out


def parse_avcc_record(record: bytes) -> tuple[int, list[bytes], list[bytes]]:
    """(NAL length size, SPS list, PPS list) of an AVCDecoderConfigurationRecord."""
    if len(record) < 7 or record[0] != 1:
        raise ValueError("not an AVCDecoderConfigurationRecord")
    length_size = (record[4] & 0x03) + 1
    i = 5
    sps: list[bytes] = []
    pps: list[bytes] = []
    for target, count_mask in ((sps, 0x1F), (pps, 0xFF)):
        if i >= len(record):
            raise ValueError("truncated AVCDecoderConfigurationRecord")
        count = record[i] & count_mask
        i += 1
        for _ in range(count):
            if i + 2 > len(record):
                raise ValueError("truncated AVCDecoderConfigurationRecord")
            size = int.from_bytes(record[i : i + 2], "big")
            i += 2
            if i + size > len(record):
                raise ValueError("truncated AVCDecoderConfigurationRecord")
            target.append(record[i : i + size])
            i += size
    return length_size, sps, pps


def parameter_sets(nals: Iterable[bytes]) -> tuple[bytes | None, bytes | None]:
    """The first SPS and PPS among ``nals`` (None where absent)."""
    sps = pps = None
    for nal in nals:
        t = nal_type(nal)
        if t == NAL_SPS and sps is None:
            sps = nal
        elif t == NAL_PPS and pps is None:
            pps = nal
    return sps, pps


def to_nals(data: bytes, length_size: int | None) -> list[bytes]:
    """Split one sample: AVCC when ``length_size`` is given, otherwise Annex B."""
    return split_annexb(data) if length_size is None else split_length_prefixed(data, length_size)
