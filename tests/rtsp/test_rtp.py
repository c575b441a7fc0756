"""RFC 6184 packetizer, interleaved framing and SDP: depacketized output equals the input."""

from __future__ import annotations

import base64
import os
import struct

import av
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vigilcam.media.types import EncodedPacket, StreamInfo
from vigilcam.rtsp.rtp import RtpPacketizer, build_sdp, interleave, profile_level_id

SPS = bytes.fromhex("6742c01fda014016ec0440000003004000000f03c60ca8")
PPS = bytes.fromhex("68ce0f2c80")


def depacketize(packets: list[bytes]) -> list[bytes]:
    """A reference RFC 6184 receiver (single NAL + FU-A)."""
    nals: list[bytes] = []
    fu = bytearray()
    for p in packets:
        payload = p[12:]
        kind = payload[0] & 0x1F
        if kind == 28:
            s, e = payload[1] & 0x80, payload[1] & 0x40
            if s:
                fu = bytearray([(payload[0] & 0xE0) | (payload[1] & 0x1F)])
            fu += payload[2:]
            if e:
                nals.append(bytes(fu))
        else:
            assert 1 <= kind <= 23
            nals.append(payload)
    return nals


def au(nals: tuple[bytes, ...], pts: int = 0) -> EncodedPacket:
    return EncodedPacket("main", nals, pts, pts, nals[0][0] & 0x1F in (5, 7), 0.0)


@settings(max_examples=200, deadline=None)
@given(sizes=st.lists(st.integers(1, 5000), min_size=1, max_size=6),
       limit=st.integers(16, 1500))
def test_roundtrip_and_marker(sizes: list[int], limit: int) -> None:
    nals = tuple(bytes([0x65 if i == 0 else 0x41]) + os.urandom(n - 1) + b"" for i, n in
                 enumerate(sizes))
    pk = RtpPacketizer(ssrc=0x1234, first_seq=65530, first_timestamp=1000, max_payload=limit)
    packets = pk.packetize(au(nals, pts=9000))
    assert depacketize(packets) == list(nals)
    assert all(len(p) - 12 <= limit for p in packets)
    markers = [bool(p[1] & 0x80) for p in packets]
    assert markers[-1] and not any(markers[:-1])
    seqs = [struct.unpack(">H", p[2:4])[0] for p in packets]
    assert seqs == [(65530 + i) & 0xFFFF for i in range(len(packets))]  # wraps
    assert {struct.unpack(">I", p[8:12])[0] for p in packets} == {0x1234}
    assert {struct.unpack(">I", p[4:8])[0] for p in packets} == {1000}
    assert all(p[0] == 0x80 and p[1] & 0x7F == 96 for p in packets)


def test_timestamps_follow_pts_from_announced_rtptime() -> None:
    pk = RtpPacketizer(first_timestamp=0xFFFFFF00)
    ts = [struct.unpack(">I", pk.packetize(au((b"\x41x",), pts))[0][4:8])[0]
          for pts in (123456, 123456 + 6000, 123456 + 12000)]
    assert ts == [0xFFFFFF00, (0xFFFFFF00 + 6000) & 0xFFFFFFFF, (0xFFFFFF00 + 12000) & 0xFFFFFFFF]


def test_interleave() -> None:
    assert interleave(1, b"abc") == b"$\x01\x00\x03abc"
    with pytest.raises(ValueError):
        interleave(256, b"")
    with pytest.raises(ValueError):
        interleave(0, b"x" * 70000)


def test_real_encoder_output_decodes_after_depacketizing() -> None:
    """Encode with libx264, packetize with FU-A, reassemble, decode with FFmpeg."""
    import numpy as np

    from vigilcam.media.encoder import H264Encoder

    enc = H264Encoder("main", 320, 240, 15.0)
    pk = RtpPacketizer(max_payload=500)
    stream = b""
    for i in range(10):
        frame = np.full((240, 320, 3), i * 20, dtype=np.uint8)
        frame[::7, ::5] = 255
        for pkt in enc.encode(frame, i * 6000, 0.0):
            stream += b"".join(b"\x00\x00\x00\x01" + n for n in depacketize(pk.packetize(pkt)))
    enc.close()
    codec = av.CodecContext.create("h264", "r")
    frames = []
    for packet in codec.parse(stream) + codec.parse(None):
        frames += codec.decode(packet)
    assert len(frames) >= 9 and frames[0].width == 320 and frames[0].height == 240


def test_sdp() -> None:
    info = StreamInfo("main", 1280, 720, 15.0, SPS, PPS)
    sdp = build_sdp(info, session_id=42, origin_address="127.0.0.1")
    assert profile_level_id(SPS) == "42C01F"
    lines = sdp.split("\r\n")
    assert "m=video 0 RTP/AVP 96" in lines and "a=rtpmap:96 H264/90000" in lines
    fmtp = [x for x in lines if x.startswith("a=fmtp:96 ")][0]
    assert "packetization-mode=1" in fmtp and "profile-level-id=42C01F" in fmtp
    sprop = fmtp.split("sprop-parameter-sets=")[1].split(",")
    assert [base64.b64decode(x) for x in sprop] == [SPS, PPS]
    assert "a=control:trackID=0" in lines and "a=framerate:15" in lines
    assert build_sdp(info, session_id=1, origin_address="::1").startswith(
        "v=0\r\no=- 1 1 IN IP6 ::1\r\n")


def test_sender_report() -> None:
    from vigilcam.rtsp.rtp import sender_report

    pk = RtpPacketizer(ssrc=0xABCDEF01, first_timestamp=5000)
    pk.packetize(au((b"\x65" + b"x" * 99,), pts=0))
    sr = sender_report(pk, 1_700_000_000.25, 5000)
    v, pt, length, ssrc, sec, frac, ts, packets, octets = struct.unpack(">BBHIIIIII", sr)
    assert (v, pt, length, ssrc) == (0x80, 200, 6, 0xABCDEF01) and len(sr) == 28
    assert sec == 1_700_000_000 + 2_208_988_800 and frac == 1 << 30
    assert (ts, packets, octets) == (5000, 1, 100)
