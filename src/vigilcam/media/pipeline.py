"""The media pipeline: source -> masks -> one encode per stream -> hubs; snapshots; analytics.

Owns the camera's video path and its state (IoT-1005-1 5.6.1.1, TAICS 5.1.2.1 signal loss,
TAICS 5.5.1.1 no unseen viewer; docs/privacy.md 'Privacy masks'):

- One capture thread (reader + reconnect with back-off, IoT-1005-1 5.6.1.1) and one encode
  thread, both started by :meth:`MediaPipeline.start` and joined by :meth:`MediaPipeline.stop`.
  The event loop never encodes.
- Privacy masks are applied to the raw frame before anything else sees it, so they are in no
  stream, snapshot or analytics frame (docs/privacy.md 'Privacy masks').
- Pass-through: an H.264 upstream's packets feed the main hub untouched (unless masks are set,
  which need pixels); the sub stream is always decoded, scaled and encoded.
- Privacy mode (TAICS 5.5.1.1 privacy switch): nothing is encoded or published, snapshots and
  analytics frames are refused; state reads "privacy".
- Signal loss and recovery are security events (TAICS 5.1.2.1), reported through ``on_event``
  with details that name the source kind, never its credentials.

``on_event(action, result, details)`` is called on the event loop that called :meth:`start`
(when there is one), else on the capture thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal, cast

import cv2
import numpy as np
import numpy.typing as npt

from vigilcam.analytics.frames import grey_and_colour
from vigilcam.platform.backoff import Backoff
from vigilcam.platform.events import Event

from .backoff import source_backoff
from .capture import CapturedFrame, CaptureWorker, FrameReader, make_reader
from .encoder import H264Encoder
from .hub import StreamHub
from .masks import Mask, MaskSet
from .rate import RateGate
from .snapshot import encode_jpeg
from .source_spec import SourceSpec, UpstreamCredentials, UpstreamTls, parse_source
from .types import PTS_CLOCK

__all__ = ["MediaPipeline", "AnalyticsFrame", "MediaUnavailable", "PipelineState"]

Frame = npt.NDArray[np.uint8]
PipelineState = Literal["starting", "live", "signal_lost", "privacy", "stopped"]
EventSink = Callable[[Event, str, dict[str, object]], None]


def _resize(frame: Frame, width: int, height: int) -> Frame:
    return cast(Frame, cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA))


class MediaUnavailable(RuntimeError):
    """No picture can be given now (no frame yet, privacy mode, stopped). Message is safe."""


@dataclass(frozen=True, slots=True)
class AnalyticsFrame:
    """A downscaled gray picture for motion/tamper detection."""

    gray: Frame  # (H, W) uint8, privacy masks applied; do not modify
    wallclock: float  # time.time() at capture
    mono: float  # time.monotonic() at capture
    colour: float | None = None  # colour level (analytics.frames.grey_and_colour); 0: IR mode


class _Slot:
    """Single-item hand-over between capture and encode threads; newest frame wins."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: CapturedFrame | None = None
        self.replaced = 0

    def put(self, item: CapturedFrame) -> None:
        with self._cond:
            if self._item is not None:
                self.replaced += 1
            self._item = item
            self._cond.notify()

    def get(self, timeout: float) -> CapturedFrame | None:
        with self._cond:
            if self._item is None:
                self._cond.wait(timeout)
            item, self._item = self._item, None
            return item

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()


class _Listener:
    def __init__(self, cb: Callable[[AnalyticsFrame], None], fps: float, width: int) -> None:
        self.cb = cb
        self.gate = RateGate(fps)
        self.width = width


class MediaPipeline:
    """Source, encoders and hubs of one camera."""

    def __init__(
        self,
        spec: SourceSpec | str,
        *,
        width: int = 1280,
        height: int = 720,
        fps: float = 15.0,
        sub_width: int = 640,
        sub_height: int = 360,
        sub_fps: float = 10.0,
        masks: MaskSet | Sequence[Mask] | Sequence[Mapping[str, object]] | None = None,
        credentials: UpstreamCredentials | None = None,
        on_event: EventSink | None = None,
        passthrough: bool = True,
        crf: int = 23,
        sub_crf: int = 26,
        backoff: Backoff | None = None,
        rtsp_timeout: float = 5.0,
        upstream_tls: UpstreamTls | None = None,
    ) -> None:
        self.spec: SourceSpec = parse_source(spec) if isinstance(spec, str) else spec
        for label, w, h, r in (("main", width, height, fps), ("sub", sub_width, sub_height,
                                                             sub_fps)):
            if not (16 <= w <= 7680 and 16 <= h <= 4320 and w % 2 == 0 and h % 2 == 0):
                raise ValueError(f"{label} stream size must be even, 16x16 to 7680x4320")
            if not 0 < r <= 120:
                raise ValueError(f"{label} stream frame rate must be within (0, 120]")
        self.width, self.height, self.fps = width, height, fps
        self.sub_width, self.sub_height, self.sub_fps = sub_width, sub_height, sub_fps
        self._masks = self._to_maskset(masks)
        self._credentials = credentials
        self._on_event = on_event
        self._passthrough_wanted = passthrough
        self._crf, self._sub_crf = crf, sub_crf
        self._backoff = backoff or source_backoff()
        self._rtsp_timeout = rtsp_timeout
        self.upstream_tls = upstream_tls or UpstreamTls()
        self.hubs: dict[str, StreamHub] = {"main": StreamHub("main"), "sub": StreamHub("sub")}
        self._state: PipelineState = "starting"
        self._privacy = False
        self._lock = threading.Lock()
        self._latest: dict[str, Frame | None] = {"main": None, "sub": None}
        self._listeners: list[_Listener] = []
        self._state_listeners: list[Callable[[PipelineState], None]] = []
        self._slot = _Slot()
        self._stop = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._origin = time.monotonic()
        self._worker: CaptureWorker | None = None
        self._encode_thread: threading.Thread | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vigilcam-jpeg")
        self._force_key = {"main": True, "sub": True}
        self._need_pt_key = True
        self._pt_active: bool | None = None
        self.frames_captured = 0
        self.frames_encoded = {"main": 0, "sub": 0}

    # -- configuration ---------------------------------------------------------------------

    @staticmethod
    def _to_maskset(
        masks: MaskSet | Sequence[Mask] | Sequence[Mapping[str, object]] | None,
    ) -> MaskSet:
        if masks is None:
            return MaskSet()
        if isinstance(masks, MaskSet):
            return masks
        items = list(masks)
        if items and all(isinstance(m, Mapping) for m in items):
            return MaskSet.from_config(items)  # type: ignore[arg-type]
        return MaskSet(items)  # type: ignore[arg-type]

    @property
    def masks(self) -> MaskSet:
        return self._masks

    @masks.setter
    def masks(self, value: MaskSet | Sequence[Mask] | Sequence[Mapping[str, object]]) -> None:
        new = self._to_maskset(value)
        if bool(new) != bool(self._masks) and self.passthrough_possible:
            raise ValueError("changing between masked and unmasked video of a pass-through "
                             "source needs a restart of the pipeline")
        self._masks = new

    @property
    def passthrough_possible(self) -> bool:
        return self._passthrough_wanted and self.spec.kind in ("file", "rtsp")

    @property
    def passthrough_requested(self) -> bool:
        """Pass-through is tried (file/RTSP source, allowed, no masks)."""
        return self.passthrough_possible and not self._masks

    @property
    def passthrough(self) -> bool:
        """True when the main stream forwards upstream H.264 without re-encoding.

        Before the first frame this is what will be tried; afterwards what the source does
        (a non-H.264 upstream is decoded and encoded like any other source).
        """
        active = self._pt_active
        return self.passthrough_requested if active is None else active

    # -- state -----------------------------------------------------------------------------

    @property
    def state(self) -> PipelineState:
        with self._lock:
            if self._state != "stopped" and self._privacy:
                return "privacy"
            return self._state

    @property
    def privacy(self) -> bool:
        return self._privacy

    @privacy.setter
    def privacy(self, on: bool) -> None:
        with self._lock:
            if on == self._privacy:
                return
            self._privacy = on
            if on:
                self._latest = {"main": None, "sub": None}
            else:
                self._force_key = {"main": True, "sub": True}
                self._need_pt_key = True
        if on:
            for hub in self.hubs.values():
                hub.interrupt()
        self._notify_state()

    def add_state_listener(self, callback: Callable[[PipelineState], None]) -> Callable[[], None]:
        """Call ``callback(state)`` on every state change (so viewers can show "signal lost"
        or "privacy" instead of a frozen picture). Called like ``on_event``: on the loop that
        started the pipeline when there is one. Returns a function that removes it."""
        with self._lock:
            self._state_listeners.append(callback)

        def remove() -> None:
            with self._lock:
                if callback in self._state_listeners:
                    self._state_listeners.remove(callback)

        return remove

    def _notify_state(self) -> None:
        state = self.state
        with self._lock:
            listeners = list(self._state_listeners)
        for cb in listeners:
            self._call_on_loop(cb, state)

    def _set_state(self, state: PipelineState) -> None:
        with self._lock:
            if self._state == "stopped" or self._state == state:
                return
            self._state = state
        self._notify_state()

    def stats(self) -> dict[str, object]:
        """Counters for status pages and benchmarks."""
        return {
            "state": self.state,
            "source": self.spec.kind,
            "passthrough": self.passthrough,
            "frames_captured": self.frames_captured,
            "frames_encoded": dict(self.frames_encoded),
            "frames_skipped_by_encoder": self._slot.replaced,
            "subscribers": {k: h.subscriber_count for k, h in self.hubs.items()},
        }

    def _emit(self, action: Event, result: str, details: dict[str, object]) -> None:
        if self._on_event is not None:
            self._call_on_loop(self._on_event, action, result, details)

    def _call_on_loop(self, fn: Callable[..., None], *args: object) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # loop closed: the app is shutting down
                loop.call_soon_threadsafe(fn, *args)
            return
        try:
            fn(*args)
        except Exception:  # noqa: BLE001, S110 - a listener bug must not stop capture
            pass

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Start the capture and encode threads. Returns at once."""
        if self._worker is not None:
            raise RuntimeError("pipeline already started")
        try:
            self._loop = asyncio.get_running_loop()
        except RuntimeError:
            self._loop = None
        self._origin = time.monotonic()
        self._worker = CaptureWorker(
            self._open_reader, self._on_frames, self._on_lost, self._on_restored,
            on_live=lambda: self._set_state("live"), backoff=self._backoff,
        )
        self._encode_thread = threading.Thread(
            target=self._encode_loop, name="vigilcam-encode", daemon=True
        )
        self._encode_thread.start()
        self._worker.start()

    def stop(self, timeout: float = 8.0) -> None:
        """Stop threads (bounded wait), end every subscription. Blocking; idempotent."""
        with self._lock:
            if self._state == "stopped":
                return
            self._state = "stopped"
            self._latest = {"main": None, "sub": None}
        self._notify_state()
        self._stop.set()
        self._slot.wake()
        if self._worker is not None:
            self._worker.stop(timeout)
        if self._encode_thread is not None and self._encode_thread.is_alive():
            self._encode_thread.join(timeout)
        for hub in self.hubs.values():
            hub.close()
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def aclose(self) -> None:
        """:meth:`stop` without blocking the event loop."""
        await asyncio.get_running_loop().run_in_executor(None, self.stop)

    # -- frames out ------------------------------------------------------------------------

    def latest_frame(self, stream: str = "main") -> Frame | None:
        """The newest masked BGR frame of ``stream`` (shared: do not modify), or None."""
        if stream not in self._latest:
            raise ValueError("stream must be 'main' or 'sub'")
        with self._lock:
            if self._privacy:
                return None
            return self._latest[stream]

    async def snapshot_jpeg(self, stream: str = "main", quality: int = 85) -> bytes:
        """JPEG of the newest frame, encoded off the loop. Raises MediaUnavailable."""
        if self.state == "privacy":
            raise MediaUnavailable("privacy mode is on: no video is available")
        frame = self.latest_frame(stream)
        if frame is None:
            raise MediaUnavailable("no video frame is available yet")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, encode_jpeg, frame, quality)
        except RuntimeError:  # executor shut down
            raise MediaUnavailable("the video pipeline is stopped") from None

    def add_analytics_listener(
        self, callback: Callable[[AnalyticsFrame], None], *, fps: float = 5.0, width: int = 320
    ) -> Callable[[], None]:
        """Call ``callback`` (on the encode thread; keep it short) with gray frames.

        Frames are ``width`` wide (height follows the aspect ratio), at most ``fps`` per second,
        masked. Returns a function that removes the listener.
        """
        if not 16 <= width <= 1920:
            raise ValueError("analytics width must be within 16..1920")
        listener = _Listener(callback, fps, width)
        with self._lock:
            self._listeners.append(listener)

        def remove() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return remove

    async def frames_for_analytics(
        self, fps: float = 5.0, width: int = 320
    ) -> AsyncIterator[AnalyticsFrame]:
        """Async iterator of analytics frames; a slow consumer sees only the newest."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[AnalyticsFrame] = asyncio.Queue(maxsize=1)

        def put(f: AnalyticsFrame) -> None:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(f)

        def on_frame(f: AnalyticsFrame) -> None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(put, f)

        remove = self.add_analytics_listener(on_frame, fps=fps, width=width)
        try:
            while self.state != "stopped":
                try:
                    yield await asyncio.wait_for(queue.get(), timeout=1.0)
                except TimeoutError:
                    continue
        finally:
            remove()

    # -- capture thread --------------------------------------------------------------------

    def _open_reader(self) -> FrameReader:
        return make_reader(
            self.spec, width=self.width, height=self.height, fps=self.fps,
            passthrough=self.passthrough_requested, credentials=self._credentials,
            timeline_origin=self._origin, rtsp_timeout=self._rtsp_timeout,
            upstream_tls=self.upstream_tls,
        )

    def _on_frames(self, frames: list[CapturedFrame]) -> None:
        for item in frames:
            self._pt_active = item.forwarded
            if item.passthrough is not None:
                self._publish_passthrough(item)
            if item.image.size:
                self.frames_captured += 1
                self._slot.put(item)

    def _publish_passthrough(self, item: CapturedFrame) -> None:
        pkt = item.passthrough
        assert pkt is not None
        hub = self.hubs["main"]
        if item.passthrough_info is not None:
            hub.set_info(item.passthrough_info)
        if self._privacy:
            self._need_pt_key = True
            return
        if self._need_pt_key:
            if not pkt.keyframe:
                return
            self._need_pt_key = False
        self.frames_encoded["main"] += 1
        hub.publish(pkt)

    def _on_lost(self, error: str, attempt: int) -> None:
        self._set_state("signal_lost")
        for hub in self.hubs.values():
            hub.interrupt()
        with self._lock:
            self._force_key = {"main": True, "sub": True}
            self._need_pt_key = True
        self._emit(Event.MEDIA_SIGNAL_LOST, "failure",
                   {"source": self.spec.kind, "error": error, "attempt": attempt})

    def _on_restored(self, down_seconds: float, attempts: int) -> None:
        self._set_state("live")
        self._emit(Event.MEDIA_SIGNAL_RESTORED, "success",
                   {"source": self.spec.kind, "down_seconds": round(down_seconds, 3),
                    "attempts": attempts})

    # -- encode thread ---------------------------------------------------------------------

    def _encode_loop(self) -> None:
        encoders: dict[str, H264Encoder] = {}
        gates = {"main": RateGate(self.fps), "sub": RateGate(self.sub_fps)}
        try:
            while not self._stop.is_set():
                item = self._slot.get(timeout=0.25)
                if item is None or self._stop.is_set():
                    continue
                self._process(item, encoders, gates)
        finally:
            for enc in encoders.values():
                enc.close()

    def _encoder(self, encoders: dict[str, H264Encoder], name: str) -> H264Encoder:
        enc = encoders.get(name)
        if enc is None:
            if name == "main":
                enc = H264Encoder("main", self.width, self.height, self.fps, crf=self._crf)
            else:
                enc = H264Encoder("sub", self.sub_width, self.sub_height, self.sub_fps,
                                  crf=self._sub_crf)
            encoders[name] = enc
        return enc

    def _process(
        self, item: CapturedFrame, encoders: dict[str, H264Encoder], gates: dict[str, RateGate]
    ) -> None:
        if self._privacy:
            return
        frame = self._masks.apply(item.image)  # before any encoder, snapshot or analytics
        main_frame = frame
        if not item.forwarded and gates["main"].accept(item.mono):
            if frame.shape[1] != self.width or frame.shape[0] != self.height:
                main_frame = _resize(frame, self.width, self.height)
            self._encode("main", encoders, main_frame, self._grid_pts(gates["main"]),
                         item.wallclock)
        sub_frame = None
        if gates["sub"].accept(item.mono):
            sub_frame = _resize(frame, self.sub_width, self.sub_height)
            self._encode("sub", encoders, sub_frame, self._grid_pts(gates["sub"]),
                         item.wallclock)
        with self._lock:
            if self._privacy:
                return
            self._latest["main"] = main_frame
            if sub_frame is not None:
                self._latest["sub"] = sub_frame
            listeners = [x for x in self._listeners if x.gate.accept(item.mono)]
        for lst in listeners:
            src = sub_frame if sub_frame is not None else frame
            h = max(2, round(lst.width * frame.shape[0] / frame.shape[1]))
            gray, colour = grey_and_colour(_resize(src, lst.width, h))
            try:
                lst.cb(AnalyticsFrame(cast(Frame, gray), item.wallclock, item.mono, colour))
            except Exception:  # noqa: BLE001, S110 - a listener bug must not stop the video
                pass

    def _grid_pts(self, gate: RateGate) -> int:
        """Stamp on the stream's own frame grid (even durations when decimating)."""
        return round((gate.slot_time - self._origin) * PTS_CLOCK)

    def _encode(
        self, name: str, encoders: dict[str, H264Encoder], frame: Frame, pts: int, wall: float
    ) -> None:
        with self._lock:
            force = self._force_key[name]
            self._force_key[name] = False
        enc = self._encoder(encoders, name)
        packets = enc.encode(frame, pts, wall, force_keyframe=force)
        hub = self.hubs[name]
        if enc.info is not None and hub.info is not enc.info:
            hub.set_info(enc.info)  # also after a switch from a pass-through upstream
        for pkt in packets:
            if self._privacy:
                return
            self.frames_encoded[name] += 1
            hub.publish(pkt)
