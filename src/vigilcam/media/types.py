"""Shared media value types: one encoded access unit and the description of a stream.

Owns the contract between the encoder (producer) and every consumer (RTSPS server, browser
live view, recorder, analytics). Pure values, no IO. Serves IoT-1005-1 5.4.2.1 / TAICS 5.5.2.3
indirectly: one encode is fanned out to TLS-only edges.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

__all__ = ["EncodedPacket", "StreamInfo", "PTS_CLOCK"]

PTS_CLOCK = 90_000
"""Units per second of :attr:`EncodedPacket.pts` / :attr:`EncodedPacket.dts` (RTP video clock)."""

_HIGH_PROFILES = frozenset({100, 110, 122, 144, 44, 83, 86, 118, 128, 134, 135, 138, 139})


@dataclass(frozen=True, slots=True)
class EncodedPacket:
    """One H.264 access unit of one stream."""

    stream: str  # "main" or "sub"
    nals: tuple[bytes, ...]  # NAL units of one access unit, WITHOUT start codes
    pts: int  # presentation time in 1/90000 s units
    dts: int  # decode time in 1/90000 s units
    keyframe: bool  # IDR access unit (SPS/PPS are repeated in nals at every keyframe)
    wallclock: float  # time.time() when the source frame was captured

    @property
    def size(self) -> int:
        """Payload bytes (without start codes or length prefixes)."""
        return sum(len(n) for n in self.nals)

    def annexb(self) -> bytes:
        """The access unit as an Annex B byte stream (4-byte start codes)."""
        return b"".join(b"\x00\x00\x00\x01" + n for n in self.nals)


@dataclass(frozen=True, slots=True)
class StreamInfo:
    """What a consumer needs to describe a stream (SDP, avcC, MSE codec string)."""

    name: str  # "main" / "sub"
    width: int
    height: int
    fps: float
    sps: bytes  # without start codes
    pps: bytes  # without start codes
    codec_string: str = field(default="")  # e.g. "avc1.42E01F"; derived from sps when empty

    def __post_init__(self) -> None:
        if len(self.sps) < 4 or (self.sps[0] & 0x1F) != 7:
            raise ValueError("StreamInfo.sps is not an H.264 sequence parameter set")
        if len(self.pps) < 1 or (self.pps[0] & 0x1F) != 8:
            raise ValueError("StreamInfo.pps is not an H.264 picture parameter set")
        if not self.codec_string:
            object.__setattr__(self, "codec_string", codec_string_from_sps(self.sps))

    @property
    def profile_idc(self) -> int:
        return self.sps[1]

    @property
    def level_idc(self) -> int:
        return self.sps[3]

    def avcc(self) -> bytes:
        """AVCDecoderConfigurationRecord (ISO/IEC 14496-15 5.3.3.1) with 4-byte NAL lengths."""
        out = bytearray(
            [1, self.sps[1], self.sps[2], self.sps[3], 0xFC | 3, 0xE0 | 1]
        )
        out += struct.pack(">H", len(self.sps)) + self.sps
        out += bytes([1]) + struct.pack(">H", len(self.pps)) + self.pps
        if self.sps[1] in _HIGH_PROFILES:
            # chroma_format_idc=1 (4:2:0), 8-bit luma/chroma, no SPS extensions: what the
            # encoder produces (yuv420p); required by the record for high profiles.
            out += bytes([0xFC | 1, 0xF8 | 0, 0xF8 | 0, 0])
        return bytes(out)


def codec_string_from_sps(sps: bytes) -> str:
    """RFC 6381 codec string ("avc1.PPCCLL") from an SPS NAL unit."""
    if len(sps) < 4:
        raise ValueError("SPS too short")
    return f"avc1.{sps[1]:02X}{sps[2]:02X}{sps[3]:02X}"
