"""The recorder: packets from the one live encoder -> fMP4 segments -> encrypted store.

Owns the recording loop of one stream (IoT-1005-1 5.4.1.2, 5.6.1.1). It subscribes to the stream's
hub like any viewer, so recording never encodes a second time and a slow disk never slows the
live view (IoT-1005-1 5.6.1.1: a full, read-only or failing disk is reported once through
``on_event`` and recording resumes by itself when writes succeed again). Every segment is an
init segment plus fragments, so each file plays alone, and goes through ``SegmentStore``, so
only ciphertext reaches the disk (IoT-1005-1 5.4.1.2).

Threads: ``run()`` creates one worker thread for muxing, encryption and file IO and shuts it
down when it returns; the event loop only plans. ``stop()`` ends ``run()``.
"""

from __future__ import annotations

import asyncio
import errno
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

from vigilcam.media import fmp4
from vigilcam.media.types import PTS_CLOCK, EncodedPacket, StreamInfo
from vigilcam.platform.events import Event
from vigilcam.recording.index import SegmentRecord
from vigilcam.recording.planner import (
    CloseOp,
    Op,
    OpenOp,
    PlannerSettings,
    RecordingPlanner,
    RecordMode,
    WriteOp,
)
from vigilcam.recording.retention import EventSink, RetentionEnforcer, WriteFailureMonitor
from vigilcam.recording.store import OpenSegment, SegmentStore


class PacketSource(Protocol):
    """What ``StreamHub.subscribe()`` returns: async packets starting at a keyframe + info."""

    @property
    def info(self) -> StreamInfo | None: ...

    def __aiter__(self) -> AsyncIterator[EncodedPacket]: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class RecorderSettings:
    planner: PlannerSettings = PlannerSettings()
    fragment_seconds: float = 1.0
    """Longest fMP4 fragment; a fragment also ends at every keyframe."""
    retry_interval: float = 5.0
    """Seconds between attempts after a storage failure."""
    retention_interval: float = 60.0


class _StorageFailure(Exception):
    """A write to the store failed; carries the original error."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


def _as_oserror(exc: BaseException) -> OSError:
    if isinstance(exc, OSError):
        return exc
    text = str(exc)
    lowered = text.lower()
    if "full" in lowered:
        code = errno.ENOSPC
    elif "readonly" in lowered or "read-only" in lowered:
        code = errno.EROFS
    else:
        code = errno.EIO
    return OSError(code, f"recording index: {text}")


class SegmentSink:
    """Turns planner operations into fMP4 bytes in an open segment. Runs in one thread."""

    def __init__(self, store: SegmentStore, stream: str, fragment_seconds: float = 1.0) -> None:
        self.store = store
        self.stream = stream
        self._frag_len = int(fragment_seconds * PTS_CLOCK)
        self._seg: OpenSegment | None = None
        self._timeline = fmp4.FragmentTimeline()
        """Numbering and decode times of the open segment's fragments (a new one per segment:
        each segment is a file of its own)."""
        self._pending: list[EncodedPacket] = []
        self._start_wallclock = 0.0
        self._frame_dur = PTS_CLOCK // 15
        self.committed = 0
        self.leftovers: list[SegmentRecord] = []

    @property
    def is_open(self) -> bool:
        return self._seg is not None

    def apply(self, ops: list[Op], info: StreamInfo | None) -> int:
        """Apply in order; returns how many segments were committed. Raises _StorageFailure
        after aborting the open segment."""
        done = 0
        try:
            for op in ops:
                if isinstance(op, OpenOp):
                    self._open(op, info)
                elif isinstance(op, WriteOp):
                    self._write(op.packet)
                elif isinstance(op, CloseOp):
                    done += self._close()
        except (OSError, sqlite3.Error) as exc:
            self.abort()
            raise _StorageFailure(exc) from exc
        return done

    def abort(self) -> None:
        if self._seg is not None and not self._seg.abort():
            self.leftovers.append(self._seg.record)
        self._seg = None
        self._pending = []

    def sweep(self) -> None:
        """Retry removing segments whose abort failed while the disk was failing."""
        while self.leftovers:
            self.store.discard(self.leftovers[0])
            self.leftovers.pop(0)

    def _open(self, op: OpenOp, info: StreamInfo | None) -> None:
        if info is None:
            raise ValueError("stream description unknown: cannot start a segment")
        if self._seg is not None:
            self._close()
        first = op.packets[0]
        self._timeline = fmp4.FragmentTimeline(origin=first.dts)
        self._start_wallclock = first.wallclock
        self._pending = []
        self._frame_dur = max(1, int(PTS_CLOCK / info.fps)) if info.fps > 0 else PTS_CLOCK // 15
        self._seg = self.store.open_segment(self.stream, first.wallclock, op.trigger)
        self._seg.write(fmp4.init_segment(info))
        for pkt in op.packets:
            self._write(pkt)

    def _write(self, pkt: EncodedPacket) -> None:
        if self._seg is None:
            return
        if self._pending and (
            pkt.keyframe or pkt.dts - self._pending[0].dts >= self._frag_len
        ):
            self._flush(next_dts=pkt.dts)
        elif self._pending and pkt.dts > self._pending[-1].dts:
            self._frame_dur = pkt.dts - self._pending[-1].dts
        self._pending.append(pkt)

    def _flush(self, next_dts: int | None = None) -> None:
        if self._seg is None or not self._pending:
            return
        last = self._pending[-1].dts
        duration = next_dts - last if next_dts is not None and next_dts > last else self._frame_dur
        self._seg.write(self._timeline.fragment(self._pending, last_duration=duration))
        self._pending = []

    def _close(self) -> int:
        if self._seg is None:
            return 0
        self._flush()
        end = self._start_wallclock + self._timeline.end / PTS_CLOCK
        self._seg.commit(end)
        self._seg = None
        self.committed += 1
        return 1


class Recorder:
    """Records one stream according to its mode. Owned and started by the composition root."""

    def __init__(
        self,
        store: SegmentStore,
        stream: str,
        subscribe: Callable[[], PacketSource],
        *,
        mode: RecordMode = "continuous",
        settings: RecorderSettings | None = None,
        on_event: EventSink | None = None,
        retention: RetentionEnforcer | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings or RecorderSettings()
        self.stream = stream
        self.store = store
        self._subscribe = subscribe
        self._planner = RecordingPlanner(mode, self.settings.planner)
        self._sink = SegmentSink(store, stream, self.settings.fragment_seconds)
        self._monitor = WriteFailureMonitor(stream, on_event, self.settings.retry_interval)
        self._on_event = on_event
        self._retention = retention
        self._clock = clock
        self._stopping = False
        self._source: PacketSource | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._queued_ops: list[Op] = []
        self._next_retention = 0.0
        self._needs_sweep = False

    # -- control (event loop thread) ------------------------------------------------------------

    @property
    def mode(self) -> RecordMode:
        return self._planner.mode

    def set_mode(self, mode: RecordMode) -> None:
        self._queued_ops.extend(self._planner.set_mode(mode))

    def trigger(self, reason: str) -> None:
        """An event (motion, manual, tamper...): call on the event loop thread."""
        self._planner.trigger(reason)

    def status(self) -> dict[str, object]:
        return {
            "stream": self.stream,
            "mode": self.mode,
            "recording": self._planner.recording,
            "failing": self._monitor.failing,
            "last_error": self._monitor.last_error,
            "segments_written": self._sink.committed,
        }

    def stop(self) -> None:
        self._stopping = True
        if self._source is not None:
            self._source.close()

    async def run(self) -> None:
        """Record until ``stop()`` (or until the hub closes)."""
        loop = asyncio.get_running_loop()
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"vigilcam-rec-{self.stream}")
        try:
            while not self._stopping:
                source = self._subscribe()
                self._source = source
                try:
                    async for pkt in source:
                        if self._stopping:
                            break
                        await self._handle(loop, pkt, source.info)
                finally:
                    source.close()
                    self._source = None
                # The subscription ended (overflow or source lost): finish cleanly, resubscribe.
                await self._run_ops(loop, self._planner.close(), source.info)
                if getattr(source, "close_reason", None) == "hub":
                    break
                if not self._stopping:
                    await asyncio.sleep(0.05)
        finally:
            try:
                await self._run_ops(loop, self._planner.close(), None)
            finally:
                self._executor.shutdown(wait=True)
                self._executor = None

    async def _handle(
        self, loop: asyncio.AbstractEventLoop, pkt: EncodedPacket, info: StreamInfo | None
    ) -> None:
        now = self._clock()
        may_try = info is not None and self._monitor.may_try(now)
        if may_try and self._needs_sweep:
            await self._maintenance(loop, sweep=True)
        ops = self._queued_ops + self._planner.on_packet(pkt, may_open=may_try)
        self._queued_ops = []
        await self._run_ops(loop, ops, info)
        if self._retention is not None and now >= self._next_retention:
            self._next_retention = now + self.settings.retention_interval
            await self._maintenance(loop, sweep=False)

    async def _run_ops(
        self, loop: asyncio.AbstractEventLoop, ops: list[Op], info: StreamInfo | None
    ) -> None:
        if not ops or self._executor is None:
            return
        try:
            committed = await loop.run_in_executor(self._executor, self._sink.apply, ops, info)
        except _StorageFailure as failure:
            self._planner.reset()
            self._monitor.failed(_as_oserror(failure.cause), self._clock())
            self._needs_sweep = True
            return
        except Exception as exc:  # noqa: BLE001 - a bad packet must not end recording
            # Not the disk: drop the segment in progress, say so, start again at a keyframe.
            self._planner.reset()
            await loop.run_in_executor(self._executor, self._sink.abort)
            if self._on_event is not None:
                self._on_event(
                    Event.RECORDING_SEGMENT_DROPPED,
                    "failure",
                    {"stream": self.stream, "error": f"{type(exc).__name__}: {exc}"[:200]},
                )
            return
        if committed:
            self._monitor.succeeded()

    async def _maintenance(self, loop: asyncio.AbstractEventLoop, *, sweep: bool) -> None:
        """After a failure: free space by policy and tidy leftovers before trying again."""
        if self._executor is None:
            return

        def work() -> None:
            if self._retention is not None:
                self._retention.run_once()
            if sweep:
                self._sink.sweep()

        try:
            await loop.run_in_executor(self._executor, work)
        except (OSError, sqlite3.Error):
            return
        if sweep:
            self._needs_sweep = False
