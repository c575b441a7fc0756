"""One H.264 encode per stream (PyAV libx264), producing :class:`EncodedPacket` values.

Owns encoder settings: ultrafast preset and zerolatency tune (no frame delay, no B-frames, so
dts == pts), a GOP of about one second, IDR with SPS/PPS repeated at every keyframe so any
viewer can join at any keyframe ("one encode, many viewers", docs/architecture.md). Called from the
media thread, never from the event loop. Not thread-safe: one owner thread per encoder.
"""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import numpy.typing as npt

from .h264 import NAL_AUD, NAL_IDR, nal_type, parameter_sets, split_annexb
from .types import PTS_CLOCK, EncodedPacket, StreamInfo

__all__ = ["H264Encoder"]

_TIME_BASE = Fraction(1, PTS_CLOCK)


class H264Encoder:
    """Encodes BGR frames of a fixed size into H.264 access units of one stream."""

    def __init__(
        self,
        name: str,
        width: int,
        height: int,
        fps: float,
        *,
        crf: int = 23,
        max_bitrate: int | None = None,
        gop_seconds: float = 1.0,
        threads: int = 0,
    ) -> None:
        if width < 16 or height < 16 or width % 2 or height % 2:
            raise ValueError(f"{name}: encoder size must be even and at least 16x16")
        if not 0 < fps <= 120:
            raise ValueError(f"{name}: encoder frame rate must be within (0, 120]")
        self.name = name
        self.width = width
        self.height = height
        self.fps = fps
        self.info: StreamInfo | None = None
        self._last_pts = -1
        gop = max(1, round(fps * gop_seconds))
        ctx = av.CodecContext.create("libx264", "w")
        assert isinstance(ctx, av.VideoCodecContext)
        ctx.width = width
        ctx.height = height
        ctx.pix_fmt = "yuv420p"
        ctx.time_base = _TIME_BASE
        ctx.framerate = Fraction(fps).limit_denominator(1001)
        ctx.gop_size = gop
        params = [f"keyint={gop}", f"min-keyint={gop}", "scenecut=0", "repeat-headers=1"]
        if max_bitrate:
            kbps = max(50, max_bitrate // 1000)
            params += [f"vbv-maxrate={kbps}", f"vbv-bufsize={kbps}"]
        ctx.options = {
            "preset": "ultrafast",
            "tune": "zerolatency",
            "crf": str(crf),
            "forced-idr": "1",
            "x264-params": ":".join(params),
        }
        if threads:
            ctx.thread_count = threads
        self._ctx = ctx

    def encode(
        self,
        frame: npt.NDArray[np.uint8],
        pts: int,
        wallclock: float,
        *,
        force_keyframe: bool = False,
    ) -> list[EncodedPacket]:
        """Encode one BGR frame (resized by the caller to this encoder's size).

        ``pts`` is in 1/90000 s and must increase; a non-increasing value is bumped by one tick.
        ``force_keyframe`` makes this frame an IDR (after a discontinuity such as privacy mode).
        """
        if frame.shape[0] != self.height or frame.shape[1] != self.width:
            raise ValueError(f"{self.name}: frame size does not match the encoder")
        if pts <= self._last_pts:
            pts = self._last_pts + 1
        self._last_pts = pts
        vf = av.VideoFrame.from_ndarray(frame, format="bgr24")
        vf.pts = pts
        vf.time_base = _TIME_BASE
        if force_keyframe:
            vf.pict_type = av.video.frame.PictureType.I
        return [p for p in (self._packet(pkt, wallclock) for pkt in self._ctx.encode(vf)) if p]

    def close(self) -> None:
        """Flush and release the encoder (delayed frames are discarded: live video)."""
        try:
            self._ctx.encode(None)
        except (av.error.FFmpegError, ValueError):
            pass

    def _packet(self, pkt: av.Packet, wallclock: float) -> EncodedPacket | None:
        nals = tuple(n for n in split_annexb(bytes(pkt)) if nal_type(n) != NAL_AUD)
        if not nals or pkt.pts is None:
            return None
        keyframe = any(nal_type(n) == NAL_IDR for n in nals)
        if keyframe and self.info is None:
            sps, pps = parameter_sets(nals)
            if sps is not None and pps is not None:
                self.info = StreamInfo(
                    name=self.name, width=self.width, height=self.height, fps=self.fps,
                    sps=sps, pps=pps,
                )
        pts = int(pkt.pts)
        dts = int(pkt.dts) if pkt.dts is not None else pts
        return EncodedPacket(
            stream=self.name, nals=nals, pts=pts, dts=dts, keyframe=keyframe,
            wallclock=wallclock,
        )
