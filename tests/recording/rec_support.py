"""Test support for recording tests: a known H.264 test pattern, fMP4 muxing, plaintext scans.

Builds EncodedPacket lists by encoding frames with PyAV libx264 (the same codec the media layer
uses), so recording tests do not depend on a camera.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from vigilcam.media.types import PTS_CLOCK, EncodedPacket, StreamInfo
from vigilcam.recording.segment_format import MAGIC, read_header

PATTERN_TEXT = b"VIGILCAM-KNOWN-TEST-PATTERN"


def split_annexb(data: bytes) -> list[bytes]:
    """NAL units of an Annex B byte stream (3- or 4-byte start codes)."""
    starts = [m.end() for m in re.finditer(b"\x00\x00\x01", data)]
    nals = []
    for i, s in enumerate(starts):
        e = starts[i + 1] - 3 if i + 1 < len(starts) else len(data)
        nal = data[s:e]
        while nal.endswith(b"\x00"):
            nal = nal[:-1]
        if nal:
            nals.append(nal)
    return nals


def pattern_frame(i: int, w: int, h: int) -> np.ndarray:
    """A deterministic, moving test pattern (colour bars + a sliding block)."""
    img = np.zeros((h, w, 3), dtype=np.uint8)
    bars = [(255, 255, 255), (255, 255, 0), (0, 255, 255), (0, 255, 0),
            (255, 0, 255), (255, 0, 0), (0, 0, 255), (0, 0, 0)]
    bw = w // len(bars)
    for k, c in enumerate(bars):
        img[: h * 2 // 3, k * bw : (k + 1) * bw] = c
    x = (i * 7) % (w - 32)
    img[h * 2 // 3 :, :] = 40
    img[h * 2 // 3 + 8 : h * 2 // 3 + 40, x : x + 32] = (250, 250, 250)
    return img


def encode_pattern(
    frames: int = 60,
    fps: int = 30,
    width: int = 320,
    height: int = 240,
    gop: int = 15,
    wallclock0: float = 1_700_000_000.0,
    stream: str = "main",
) -> tuple[StreamInfo, list[EncodedPacket]]:
    cc = av.CodecContext.create("libx264", "w")
    cc.width = width
    cc.height = height
    cc.pix_fmt = "yuv420p"
    cc.time_base = Fraction(1, fps)
    cc.framerate = Fraction(fps, 1)
    cc.options = {
        "preset": "ultrafast",
        "tune": "zerolatency",
        "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes=0:repeat-headers=1",
    }
    raw: list[tuple[int, bool, bytes]] = []
    for i in range(frames):
        frame = av.VideoFrame.from_ndarray(pattern_frame(i, width, height), format="rgb24")
        frame = frame.reformat(format="yuv420p")
        frame.pts = i
        for p in cc.encode(frame):
            raw.append((int(p.pts), bool(p.is_keyframe), bytes(p)))
    for p in cc.encode(None):
        raw.append((int(p.pts), bool(p.is_keyframe), bytes(p)))
    sps = pps = b""
    packets: list[EncodedPacket] = []
    step = PTS_CLOCK // fps
    for pts, key, data in raw:
        nals = [n for n in split_annexb(data) if (n[0] & 0x1F) != 9]
        for n in nals:
            if n[0] & 0x1F == 7 and not sps:
                sps = n
            if n[0] & 0x1F == 8 and not pps:
                pps = n
        packets.append(
            EncodedPacket(
                stream=stream,
                nals=tuple(nals),
                pts=pts * step,
                dts=pts * step,
                keyframe=key,
                wallclock=wallclock0 + pts / fps,
            )
        )
    info = StreamInfo(name=stream, width=width, height=height, fps=float(fps), sps=sps, pps=pps)
    return info, packets


def retime(packets: list[EncodedPacket], offset_frames: int, fps: int = 30,
           wallclock0: float = 1_700_000_000.0) -> list[EncodedPacket]:
    """The same packets shifted later by ``offset_frames`` (to loop a pattern)."""
    step = PTS_CLOCK // fps
    return [
        EncodedPacket(p.stream, p.nals, p.pts + offset_frames * step, p.dts + offset_frames * step,
                      p.keyframe, wallclock0 + (p.dts // step + offset_frames) / fps)
        for p in packets
    ]


def fmp4_with_pyav(info: StreamInfo, packets: list[EncodedPacket]) -> bytes:
    """A fragmented MP4 of the packets made by ffmpeg's muxer (independent of media/fmp4)."""
    es = b"".join(p.annexb() for p in packets)
    src = av.open(io.BytesIO(es), "r", format="h264", options={"framerate": str(int(info.fps))})
    ist = src.streams.video[0]
    buf = io.BytesIO()
    out = av.open(buf, "w", format="mp4",
                  options={"movflags": "frag_keyframe+empty_moov+default_base_moof"})
    ost = out.add_stream_from_template(ist)
    for i, pkt in enumerate(src.demux(ist)):
        if pkt.size == 0:
            continue
        pkt.pts = pkt.dts = i
        pkt.time_base = Fraction(1, int(info.fps))
        pkt.duration = 1
        pkt.stream = ost
        out.mux(pkt)
    out.close()
    src.close()
    return buf.getvalue()


# --- plaintext scan ---------------------------------------------------------------------------

_NAL_SIGNATURES = [
    # 4-byte start code + a typical H.264 NAL header (IDR, non-IDR slice, SEI, SPS, PPS, AUD)
    re.compile(rb"\x00\x00\x00\x01[\x65\x41\x21\x61\x06\x67\x68\x09\x25\x45]"),
    # 3-byte start code + slice header (first_mb_in_slice = 0 -> top bit set) or SPS + profile
    re.compile(rb"\x00\x00\x01[\x65\x41\x21\x61\x25\x45][\x80-\xff]"),
    re.compile(rb"\x00\x00\x01\x67[\x42\x4d\x58\x64\x6e\x7a\xf4]"),
]
_BOX_SIGNATURES = [
    re.compile(rb"\x00\x00[\x00-\xff]{2}ftyp"),
    re.compile(rb"\x00\x00[\x00-\xff]{2}moov"),
    re.compile(rb"\x00\x00[\x00-\xff]{2}moof"),
    re.compile(rb"\x00[\x00-\xff]{3}mdat"),
]
_JPEG_SIGNATURES = [
    re.compile(rb"\xff\xd8\xff\xe0[\x00-\xff]{2}JFIF"),
    re.compile(rb"\xff\xd8\xff\xe1[\x00-\xff]{2}Exif"),
    re.compile(rb"\xff\xd8\xff\xdb"),
]


def pattern_needles(info: StreamInfo, packets: list[EncodedPacket]) -> list[bytes]:
    """Byte strings that only the plaintext pattern contains: SPS, PPS, slices, x264 SEI."""
    needles = [info.sps, info.pps, b"x264 - core"]
    for p in packets[:: max(1, len(packets) // 12)]:
        for n in p.nals:
            if len(n) >= 64 and (n[0] & 0x1F) in (1, 5):
                mid = len(n) // 2
                needles.append(n[mid : mid + 24])
    return [n for n in needles if len(n) >= 8]


def past_segment_header(data: bytes) -> bytes:
    """The ciphertext of a segment file (``data`` itself if it is not one). The header is
    fields of the format, not video: a timeline seq of 1 (00 00 00 01) followed by a random
    wrap nonce starting 0x67 or 0x68 reads as an H.264 start code in one segment in 128."""
    if not data.startswith(MAGIC):
        return data
    src = io.BytesIO(data)
    read_header(src)
    return data[src.tell():]


def scan_plaintext(data: bytes, needles: list[bytes]) -> list[str]:
    data = past_segment_header(data)
    hits: list[str] = []
    for group, name in ((_NAL_SIGNATURES, "H.264 start code"), (_BOX_SIGNATURES, "MP4 box"),
                        (_JPEG_SIGNATURES, "JPEG marker")):
        for rx in group:
            m = rx.search(data)
            if m:
                hits.append(f"{name} {m.group(0)!r} at {m.start()}")
    for n in needles:
        pos = data.find(n)
        if pos >= 0:
            hits.append(f"pattern bytes {n[:12]!r}... at {pos}")
    return hits


def ffprobe(path: Path) -> dict:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams",
         "-count_packets", str(path)],
        capture_output=True, text=True, timeout=30, check=False,
    )
    if out.returncode != 0:
        raise AssertionError(f"ffprobe refused {path}: {out.stderr.strip()}")
    return json.loads(out.stdout)


# --- packet sources -----------------------------------------------------------------------------


class ListSource:
    """A PacketSource over a list (what StreamHub.subscribe() gives, minus the hub)."""

    def __init__(self, info: StreamInfo, packets: list[EncodedPacket], delay: float = 0.0,
                 before_each=None) -> None:
        self._info = info
        self.packets = packets
        self.delay = delay
        self.closed = False
        self.close_reason: str | None = None
        self.before_each = before_each

    @property
    def info(self) -> StreamInfo:
        return self._info

    def __aiter__(self):
        return self._gen()

    async def _gen(self):
        import asyncio

        for i, p in enumerate(self.packets):
            if self.closed:
                return
            if self.before_each is not None:
                self.before_each(i, p)
            yield p
            if self.delay:
                await asyncio.sleep(self.delay)
            else:
                await asyncio.sleep(0)
        self.close_reason = "hub"

    def close(self) -> None:
        self.closed = True


def looped(packets: list[EncodedPacket], times: int, fps: int = 30) -> list[EncodedPacket]:
    """The pattern repeated ``times`` times on one continuous timeline."""
    n = packets[-1].dts // (PTS_CLOCK // fps) + 1
    out: list[EncodedPacket] = []
    for k in range(times):
        out += retime(packets, k * n, fps)
    return out
