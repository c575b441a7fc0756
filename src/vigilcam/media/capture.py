"""Video capture through PyAV (FFmpeg) with reconnect: test pattern, file, V4L2, RTSP(S).

Owns reading frames from the configured source and surviving its loss (IoT-1005-1 5.6.1.1
return to normal operation; TAICS 5.1.2.1 signal loss alert). There is no shell-command or
pipe source: every source is opened by PyAV in this process. Upstream credentials go into the
URL handed to FFmpeg only; every message leaving this module is built from the exception type
and errno text, then scrubbed of the credentials (IoT-1005-1 5.4.2.2). An ``rtsps://``
upstream gets its TLS options from the one client policy (``platform/tls.py``,
docs/upstream-tls.md): TLS >= 1.2 with ECDHE AES-GCM in FFmpeg's GnuTLS, or the source is
refused (IoT-1005-1 5.4.2.1).

Readers are blocking and run in the capture thread started by :class:`CaptureWorker`, which
is started and stopped by the pipeline (no hidden threads).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Protocol, cast

import av
import numpy as np
import numpy.typing as npt

from vigilcam.platform import tls as tls_policy
from vigilcam.platform.backoff import Backoff

from .backoff import source_backoff
from .h264 import (
    NAL_AUD,
    NAL_IDR,
    NAL_PPS,
    NAL_SPS,
    nal_type,
    parameter_sets,
    parse_avcc_record,
    split_annexb,
    to_nals,
)
from .source_spec import (
    FileSource,
    RtspSource,
    SourceSpec,
    TestSource,
    UpstreamCredentials,
    UpstreamTls,
    V4l2Source,
)
from .testsrc import TestPattern
from .types import PTS_CLOCK, EncodedPacket, StreamInfo

__all__ = [
    "CapturedFrame",
    "SourceError",
    "FrameReader",
    "TestPatternReader",
    "AvReader",
    "CaptureWorker",
    "make_reader",
    "rtsp_options",
    "tls_options",
    "v4l2_options",
]

Frame = npt.NDArray[np.uint8]


class SourceError(Exception):
    """The source cannot be opened or was lost. The message is safe to log."""


@dataclass(slots=True)
class CapturedFrame:
    """One decoded picture (BGR) and, in pass-through mode, the packet it came from."""

    image: Frame
    wallclock: float  # time.time() at capture
    mono: float  # time.monotonic() at capture
    passthrough: EncodedPacket | None = None
    passthrough_info: StreamInfo | None = None
    forwarded: bool = False  # the reader forwards this source's packets as the main stream


class FrameReader(Protocol):
    kind: str

    def read(self) -> list[CapturedFrame]:
        """Block until at least one frame (or a pass-through packet) is ready.

        Returns an empty list when an upstream packet produced no picture yet. Raises
        SourceError when the source is lost.
        """
        ...

    def interrupt(self) -> None:
        """Ask a blocked ``read`` to give up soon; callable from any thread."""
        ...

    def close(self) -> None:
        """Release the source; only from the thread that reads."""
        ...


def safe_error(exc: BaseException, secrets: tuple[str, ...] = ()) -> str:
    """A log-safe description of ``exc``: type and errno text, never the URL or secrets."""
    if isinstance(exc, SourceError):
        text = str(exc)
    elif isinstance(exc, av.error.FFmpegError):
        text = f"{type(exc).__name__}: {exc.strerror or 'error'}"
    elif isinstance(exc, OSError):
        text = f"{type(exc).__name__}: {exc.strerror or 'error'}"
    else:
        text = type(exc).__name__
    for s in secrets:
        if s:
            text = text.replace(s, "***")
    return text[:200]


class TestPatternReader:
    """The built-in pattern, paced by the monotonic clock at ``fps``."""

    __test__ = False
    kind = "testsrc"

    def __init__(self, width: int, height: int, fps: float) -> None:
        self._pattern = TestPattern(width, height)
        self._interval = 1.0 / fps
        self._next = time.monotonic()
        self._counter = 0
        self._stop = threading.Event()

    def read(self) -> list[CapturedFrame]:
        now = time.monotonic()
        if self._next > now:
            self._stop.wait(self._next - now)
        now = time.monotonic()
        if now - self._next > 4 * self._interval:  # fell behind (slow host): do not burst
            self._next = now
        self._next += self._interval
        self._counter += 1
        wall = time.time()
        return [CapturedFrame(self._pattern.render(self._counter, wall), wall, now)]

    def interrupt(self) -> None:
        self._stop.set()

    def close(self) -> None:
        self._stop.set()


def rtsp_options(timeout_s: float = 5.0) -> dict[str, str]:
    """FFmpeg options for an upstream RTSP camera: TCP interleaved, bounded waits, low delay."""
    return {
        "rtsp_transport": "tcp",
        "timeout": str(int(timeout_s * 1_000_000)),  # socket I/O timeout, microseconds
        "allowed_media_types": "video",
        "fflags": "nobuffer",
        "flags": "low_delay",
        "max_delay": "500000",
        "analyzeduration": "1000000",
        "probesize": "1000000",
    }


SYSTEM_CA_BUNDLES = (
    "/etc/ssl/certs/ca-certificates.crt",  # Debian, Ubuntu, Alpine
    "/etc/pki/tls/certs/ca-bundle.crt",  # Fedora, RHEL
    "/etc/ssl/cert.pem",  # Arch, macOS
)


def tls_options(tls: UpstreamTls, bundles: tuple[str, ...] = SYSTEM_CA_BUNDLES) -> dict[str, str]:
    """FFmpeg TLS options for an ``rtsps://`` upstream, from the one client TLS policy
    (``platform/tls.py``: verification here, version and suites through FFmpeg's GnuTLS).
    Raises SourceError when the upstream cannot be verified or the policy is not in force."""
    try:
        return tls_policy.ffmpeg_client_options(verify=tls.verify, cafile=tls.ca_file,
                                                bundles=bundles)
    except tls_policy.TlsPolicyError as exc:
        raise SourceError(f"rtsps upstream refused: {exc}") from None


def v4l2_options(width: int, height: int, fps: float) -> dict[str, str]:
    """FFmpeg options asking a V4L2 device for the configured size and rate."""
    return {"video_size": f"{width}x{height}", "framerate": f"{fps:g}"}


class AvReader:
    """File, V4L2 or RTSP(S) through PyAV; optionally forwards H.264 packets untouched.

    ``size`` (w, h): decoded pictures are scaled to it (None keeps the source size).
    ``realtime``: pace packets by their timestamps (files). ``loop``: reopen at end of file.
    ``passthrough``: attach each H.264 access unit as an :class:`EncodedPacket` ("main").
    """

    def __init__(
        self,
        kind: str,
        target: str,
        *,
        fmt: str | None = None,
        options: dict[str, str] | None = None,
        size: tuple[int, int] | None = None,
        realtime: bool = False,
        loop: bool = False,
        passthrough: bool = False,
        timeline_origin: float | None = None,
        timeout: tuple[float, float] = (10.0, 5.0),
        secrets: tuple[str, ...] = (),
    ) -> None:
        self.kind = kind
        self._target = target
        self._fmt = fmt
        self._options = dict(options or {})
        self._size = size
        self._realtime = realtime
        self._loop = loop
        self._passthrough = passthrough
        self._origin = time.monotonic() if timeline_origin is None else timeline_origin
        self._timeout = timeout
        self._secrets = secrets
        self._container: av.container.InputContainer | None = None
        self._packets: object = None
        self._stream: av.video.stream.VideoStream | None = None
        self._length_size: int | None = None
        self._sps: bytes | None = None
        self._pps: bytes | None = None
        self._info: StreamInfo | None = None
        self._info_sent = False
        self._offset90: int | None = None
        self._last_dts90 = -1
        self._pace_start: tuple[float, float] | None = None
        self._seen_keyframe = False
        self._stopped = threading.Event()
        self.passthrough_active = False
        self._open()

    # -- opening ---------------------------------------------------------------------------

    def _open(self) -> None:
        # The FFmpeg exception carries the URL (with credentials) as its filename: keep only a
        # safe description and raise outside the handler so no __context__ chain holds it.
        failure: str | None = None
        container = None
        started = time.monotonic()
        try:
            container = av.open(
                self._target, mode="r", format=self._fmt, options=self._options,
                timeout=self._timeout,
            )
        except (av.error.FFmpegError, OSError, ValueError) as e:
            failure = safe_error(e, self._secrets)
            waited = time.monotonic() - started
            if waited >= self._timeout[1]:
                # FFmpeg reports an RTSP request left unanswered as "invalid data": say what
                # happened, so the owner looks at a slow or hung camera, not at its stream.
                failure = f"no answer within {self._timeout[1]:g} s ({failure})"
        if container is None:
            raise SourceError(f"cannot open {self.kind} source: {failure}")
        if not isinstance(container, av.container.InputContainer) or not container.streams.video:
            container.close()
            raise SourceError(f"{self.kind} source has no video stream")
        stream = container.streams.video[0]
        self._container = container
        self._stream = stream
        self._packets = container.demux(stream)
        self._pace_start = None
        self._seen_keyframe = False
        # New connection: keep pass-through timestamps continuing on our own timeline.
        self._offset90 = None
        cc = stream.codec_context
        self.passthrough_active = self._passthrough and cc.name == "h264"
        self._length_size = None
        if self.passthrough_active:
            extra = cc.extradata or b""
            if extra[:1] == b"\x01":
                self._length_size, sps_l, pps_l = parse_avcc_record(extra)
                self._sps = sps_l[0] if sps_l else None
                self._pps = pps_l[0] if pps_l else None
            elif extra:
                self._sps, self._pps = parameter_sets(split_annexb(extra))
        self._info_sent = False

    def _fps(self) -> float:
        s = self._stream
        assert s is not None
        for rate in (s.average_rate, s.guessed_rate, s.base_rate):
            if rate and 0 < float(rate) <= 240:
                return float(rate)
        return 15.0

    # -- reading ---------------------------------------------------------------------------

    def read(self) -> list[CapturedFrame]:
        while True:
            if self._stopped.is_set():
                raise SourceError("capture stopped")
            failure: str | None = None
            try:
                packet = next(self._packets)  # type: ignore[call-overload]
            except StopIteration:
                packet = None
            except (av.error.FFmpegError, OSError, ValueError) as e:
                failure = safe_error(e, self._secrets)
            if failure is not None:  # raised outside the handler: see _open
                raise SourceError(f"{self.kind} source lost: {failure}")
            if packet is None or (packet.size == 0 and packet.dts is None):
                if self._loop:
                    self.close_container()
                    self._open()
                    continue
                raise SourceError(f"{self.kind} source ended")
            if packet.size == 0:
                continue
            out = self._handle(packet)
            if out:
                return out

    def _to90(self, ts: int | None, tb: Fraction | None) -> int | None:
        if ts is None or tb is None:
            return None
        return round(ts * tb * PTS_CLOCK)

    def _handle(self, packet: av.Packet) -> list[CapturedFrame]:
        now = time.monotonic()
        wall = time.time()
        tb = packet.time_base
        dts90 = self._to90(packet.dts if packet.dts is not None else packet.pts, tb)
        if self._realtime and dts90 is not None:
            if self._pace_start is None:
                self._pace_start = (now, dts90 / PTS_CLOCK)
            due = self._pace_start[0] + (dts90 / PTS_CLOCK - self._pace_start[1])
            if due > now:
                self._stopped.wait(min(due - now, 1.0))
                now = time.monotonic()
                wall = time.time()
        pt_pkt: EncodedPacket | None = None
        if self.passthrough_active:
            pt_pkt = self._passthrough_packet(packet, now, wall)
        try:
            frames = packet.decode()
        except (av.error.FFmpegError, ValueError):
            frames = []  # a damaged packet: skip it, the decoder resynchronises
        out: list[CapturedFrame] = []
        for f in frames:
            if not isinstance(f, av.VideoFrame):
                continue
            if self._size is not None:
                img = f.to_ndarray(width=self._size[0], height=self._size[1], format="bgr24")
            else:
                img = f.to_ndarray(format="bgr24")
            out.append(CapturedFrame(cast(Frame, img), wall, now,
                                     forwarded=self.passthrough_active))
        if pt_pkt is not None:
            info = None
            if not self._info_sent and self._info is not None:
                info = self._info
                self._info_sent = True
            if out:
                out[0].passthrough, out[0].passthrough_info = pt_pkt, info
            else:
                # Decoder delay: carry the packet on a frame-less item (image is empty).
                out.append(CapturedFrame(np.empty((0, 0, 3), np.uint8), wall, now, pt_pkt,
                                         info, forwarded=True))
        return out

    def _passthrough_packet(
        self, packet: av.Packet, mono: float, wall: float
    ) -> EncodedPacket | None:
        try:
            nals = [n for n in to_nals(bytes(packet), self._length_size) if nal_type(n) != NAL_AUD]
        except ValueError:
            return None
        if not nals:
            return None
        sps, pps = parameter_sets(nals)
        if sps is not None:
            self._sps = sps
        if pps is not None:
            self._pps = pps
        keyframe = any(nal_type(n) == NAL_IDR for n in nals)
        if not self._seen_keyframe:
            if not keyframe:
                return None
            self._seen_keyframe = True
        if keyframe:
            if self._sps is None or self._pps is None:
                return None
            if sps is None or pps is None:  # repeat parameter sets at every keyframe
                nals = [self._sps, self._pps] + [n for n in nals
                                                 if nal_type(n) not in (NAL_SPS, NAL_PPS)]
            cc = self._stream.codec_context if self._stream else None
            if cc is not None and cc.width and (self._info is None or self._info.sps != self._sps
                                                or self._info.pps != self._pps):
                self._info = StreamInfo("main", cc.width, cc.height, self._fps(),
                                        self._sps, self._pps)
                self._info_sent = False
        tb = packet.time_base
        dts90 = self._to90(packet.dts, tb)
        pts90 = self._to90(packet.pts, tb)
        if dts90 is None:
            dts90 = pts90 if pts90 is not None else self._last_dts90 + 1
        if pts90 is None:
            pts90 = dts90
        if self._offset90 is None:
            self._offset90 = round((mono - self._origin) * PTS_CLOCK) - dts90
        dts = dts90 + self._offset90
        pts = pts90 + self._offset90
        if dts <= self._last_dts90:  # timestamps went back (loop, upstream reset): re-anchor
            shift = self._last_dts90 + 1 - dts
            self._offset90 += shift
            dts += shift
            pts += shift
        self._last_dts90 = dts
        return EncodedPacket("main", tuple(nals), pts, dts, keyframe, wall)

    def close_container(self) -> None:
        if self._container is not None:
            try:
                self._container.close()
            except (av.error.FFmpegError, OSError):
                pass
            self._container = None

    def interrupt(self) -> None:
        # Only a flag: closing FFmpeg state under a demux running in another thread is unsafe.
        # A blocked read returns within the read timeout given to av.open.
        self._stopped.set()

    def close(self) -> None:
        self._stopped.set()
        self.close_container()


def make_reader(
    spec: SourceSpec,
    *,
    width: int,
    height: int,
    fps: float,
    passthrough: bool,
    credentials: UpstreamCredentials | None,
    timeline_origin: float,
    rtsp_timeout: float = 5.0,
    upstream_tls: UpstreamTls | None = None,
) -> FrameReader:
    """Open the reader for ``spec`` (raises SourceError). Blocking: call from the capture thread.

    With ``passthrough`` an H.264 source keeps its own size; otherwise frames are scaled to
    ``width`` x ``height``.
    """
    size = None if passthrough else (width, height)
    if isinstance(spec, TestSource):
        return TestPatternReader(width, height, fps)
    if isinstance(spec, FileSource):
        return AvReader("file", spec.path, size=size, realtime=True, loop=True,
                        passthrough=passthrough, timeline_origin=timeline_origin)
    if isinstance(spec, V4l2Source):
        return AvReader("v4l2", spec.device, fmt="video4linux2",
                        options=v4l2_options(width, height, fps), size=(width, height),
                        timeline_origin=timeline_origin)
    if isinstance(spec, RtspSource):
        secrets: tuple[str, ...] = ()
        if credentials is not None:
            secrets = (spec.url(credentials), credentials.password, credentials.username)
        options = rtsp_options(rtsp_timeout)
        if spec.scheme == "rtsps":
            options.update(tls_options(upstream_tls or UpstreamTls()))
        return AvReader(
            "rtsp", spec.url(credentials), options=options, size=size, passthrough=passthrough,
            timeline_origin=timeline_origin, timeout=(rtsp_timeout * 2, rtsp_timeout),
            secrets=secrets,
        )
    raise SourceError("unsupported source")


class CaptureWorker:
    """Runs a reader in one thread, reconnecting with back-off; reports loss and recovery.

    ``on_frames`` receives every batch of captured frames. ``on_lost(error)`` is called once
    per outage (also when the first connection fails), ``on_restored(down_seconds)`` when
    frames flow again after an outage.
    """

    def __init__(
        self,
        open_reader: Callable[[], FrameReader],
        on_frames: Callable[[list[CapturedFrame]], None],
        on_lost: Callable[[str, int], None],
        on_restored: Callable[[float, int], None],
        on_live: Callable[[], None] | None = None,
        backoff: Backoff | None = None,
        name: str = "vigilcam-capture",
    ) -> None:
        self._open_reader = open_reader
        self._on_frames = on_frames
        self._on_lost = on_lost
        self._on_restored = on_restored
        self._on_live = on_live
        self.backoff = backoff or source_backoff()
        self._stop = threading.Event()
        self._reader: FrameReader | None = None
        self._reader_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.lost_since: float | None = None
        self.attempts = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        with self._reader_lock:
            reader = self._reader
        if reader is not None:
            reader.interrupt()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        ever_live = False
        while not self._stop.is_set():
            error = ""
            try:
                reader = self._open_reader()
                with self._reader_lock:
                    self._reader = reader
                if self._stop.is_set():
                    reader.close()
                    break
                first = True
                while not self._stop.is_set():
                    frames = reader.read()
                    if not frames:
                        continue
                    if first:
                        first = False
                        self.backoff.reset()
                        if self.lost_since is not None:
                            down = time.monotonic() - self.lost_since
                            self.lost_since = None
                            self._on_restored(down, self.attempts)
                        elif not ever_live and self._on_live is not None:
                            self._on_live()
                        ever_live = True
                        self.attempts = 0
                    self._on_frames(frames)
            except SourceError as e:
                error = str(e)
            except Exception as e:  # noqa: BLE001 - a capture bug must not kill the camera
                error = f"capture error: {type(e).__name__}"
            finally:
                with self._reader_lock:
                    r, self._reader = self._reader, None
                if r is not None:
                    r.close()
            if self._stop.is_set():
                break
            self.attempts += 1
            if self.lost_since is None:
                self.lost_since = time.monotonic()
                self._on_lost(error, self.attempts)
            self._stop.wait(self.backoff.next_delay())
