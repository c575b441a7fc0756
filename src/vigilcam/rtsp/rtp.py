"""H.264 over RTP (RFC 6184), RTSP interleaved framing (RFC 2326 10.12) and the SDP description.

Owns the bytes of the video as an RTSPS client receives them. Pure: no sockets. Serves the
RTSPS edge (RTP interleaved on the TLS connection, so video never leaves TLS: IoT-1005-1 5.4.2.1,
TAICS 5.5.2.3).

- Packetization mode 1 (non-interleaved): a NAL unit that fits is sent as a single-NAL packet;
  a larger one is cut into FU-A fragments (RFC 6184 5.8). No STAP-A: SPS/PPS go as separate
  single-NAL packets, which every client accepts.
- The marker bit is set on the last packet of an access unit (RFC 6184 5.1).
- Timestamps are the 90 kHz pts of :class:`EncodedPacket`, shifted so the first packet of a
  viewer carries the ``rtptime`` announced in its PLAY response (RTP-Info).
- RTCP sender reports (RFC 3550 6.4.1) map an RTP timestamp to the capture wall-clock time of
  the frame, so NVRs can show and align the real time of each picture.
"""

from __future__ import annotations

import base64
import secrets
import struct

from vigilcam.media.types import EncodedPacket, StreamInfo

__all__ = [
    "DEFAULT_MAX_PAYLOAD",
    "PAYLOAD_TYPE",
    "RtpPacketizer",
    "sender_report",
    "build_sdp",
    "interleave",
    "profile_level_id",
]

PAYLOAD_TYPE = 96
DEFAULT_MAX_PAYLOAD = 1400
"""RTP payload bytes per packet: fits a typical path MTU if a client forwards it as UDP."""

_HEADER = struct.Struct(">BBHII")
_SR = struct.Struct(">BBHIIIIII")
_NTP_EPOCH_OFFSET = 2_208_988_800  # seconds from 1900-01-01 to 1970-01-01
_FRAME = struct.Struct(">cBH")


def interleave(channel: int, payload: bytes) -> bytes:
    """``$`` + channel + 16-bit length + payload (RFC 2326 10.12)."""
    if not 0 <= channel <= 255:
        raise ValueError("interleaved channel must be 0..255")
    if len(payload) > 0xFFFF:
        raise ValueError("interleaved payload larger than 65535 bytes")
    return _FRAME.pack(b"$", channel, len(payload)) + payload


class RtpPacketizer:
    """One RTP sender (one SSRC) of one viewer."""

    def __init__(
        self,
        *,
        ssrc: int | None = None,
        first_seq: int | None = None,
        first_timestamp: int | None = None,
        payload_type: int = PAYLOAD_TYPE,
        max_payload: int = DEFAULT_MAX_PAYLOAD,
    ) -> None:
        if max_payload < 16:
            raise ValueError("max_payload too small")
        self.ssrc = secrets.randbits(32) if ssrc is None else ssrc & 0xFFFFFFFF
        self.seq = secrets.randbits(16) if first_seq is None else first_seq & 0xFFFF
        self.first_timestamp = (
            secrets.randbits(32) if first_timestamp is None else first_timestamp & 0xFFFFFFFF
        )
        self.payload_type = payload_type
        self.max_payload = max_payload
        self._pts_origin: int | None = None
        self.packets = 0
        self.octets = 0

    def timestamp_of(self, pts: int) -> int:
        if self._pts_origin is None:
            self._pts_origin = pts
        return (self.first_timestamp + pts - self._pts_origin) & 0xFFFFFFFF

    def _packet(self, marker: bool, timestamp: int, payload: bytes) -> bytes:
        header = _HEADER.pack(
            0x80, (0x80 if marker else 0) | self.payload_type, self.seq, timestamp, self.ssrc
        )
        self.seq = (self.seq + 1) & 0xFFFF
        self.packets += 1
        self.octets += len(payload)
        return header + payload

    def packetize(self, pkt: EncodedPacket) -> list[bytes]:
        """The RTP packets (header + payload) of one access unit, in sending order."""
        ts = self.timestamp_of(pkt.pts)
        nals = [n for n in pkt.nals if n]
        out: list[bytes] = []
        limit = self.max_payload
        for index, nal in enumerate(nals):
            last_nal = index == len(nals) - 1
            if len(nal) <= limit:
                out.append(self._packet(last_nal, ts, nal))
                continue
            nri_type = nal[0]
            indicator = bytes([(nri_type & 0xE0) | 28])  # FU-A
            nal_kind = nri_type & 0x1F
            body = memoryview(nal)[1:]
            chunk = limit - 2
            pos = 0
            total = len(body)
            while pos < total:
                end = min(pos + chunk, total)
                fu_header = nal_kind
                if pos == 0:
                    fu_header |= 0x80  # S
                if end == total:
                    fu_header |= 0x40  # E
                out.append(
                    self._packet(last_nal and end == total, ts,
                                 indicator + bytes([fu_header]) + body[pos:end])
                )
                pos = end
        return out

    def interleaved(self, pkt: EncodedPacket, channel: int) -> bytes:
        """One access unit as ready-to-write interleaved frames (one write per frame)."""
        return b"".join(interleave(channel, p) for p in self.packetize(pkt))


def sender_report(pk: RtpPacketizer, wallclock: float, rtp_timestamp: int) -> bytes:
    """An RTCP SR without report blocks: ``rtp_timestamp`` was captured at ``wallclock``."""
    ntp = wallclock + _NTP_EPOCH_OFFSET
    seconds = int(ntp)
    fraction = int((ntp - seconds) * (1 << 32)) & 0xFFFFFFFF
    return _SR.pack(0x80, 200, 6, pk.ssrc, seconds & 0xFFFFFFFF, fraction,
                    rtp_timestamp & 0xFFFFFFFF, pk.packets & 0xFFFFFFFF, pk.octets & 0xFFFFFFFF)


def profile_level_id(sps: bytes) -> str:
    """RFC 6184 profile-level-id: profile_idc, constraint flags, level_idc as 6 hex digits."""
    if len(sps) < 4:
        raise ValueError("SPS too short")
    return f"{sps[1]:02X}{sps[2]:02X}{sps[3]:02X}"


def build_sdp(info: StreamInfo, *, session_id: int, origin_address: str = "0.0.0.0",
              control: str = "trackID=0") -> str:
    """The DESCRIBE answer (RFC 4566) for one H.264 video stream."""
    family = "IP6" if ":" in origin_address else "IP4"
    sprop = ",".join(base64.b64encode(x).decode("ascii") for x in (info.sps, info.pps))
    fps = f"{info.fps:g}"
    lines = [
        "v=0",
        f"o=- {session_id} 1 IN {family} {origin_address}",
        f"s=vigilcam {info.name}",
        f"c=IN {family} {'::' if family == 'IP6' else '0.0.0.0'}",
        "t=0 0",
        "a=control:*",
        "a=range:npt=now-",
        f"m=video 0 RTP/AVP {PAYLOAD_TYPE}",
        f"a=rtpmap:{PAYLOAD_TYPE} H264/90000",
        f"a=fmtp:{PAYLOAD_TYPE} packetization-mode=1;profile-level-id="
        f"{profile_level_id(info.sps)};sprop-parameter-sets={sprop}",
        f"a=framerate:{fps}",
        f"a=x-dimensions:{info.width},{info.height}",
        f"a=control:{control}",
    ]
    return "\r\n".join(lines) + "\r\n"
