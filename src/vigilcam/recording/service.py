"""The recording service: the encrypted store, its recorder and retention, run for the device.

Owns the running life of recordings (docs/privacy.md 'Inventory'). ``start()`` opens the store under
the master key from the vault (``recording.master_key``, IoT-1005-1 5.4.1.2: only ciphertext on
disk), runs ``recover()`` before anything writes and records every repair as a security event
(IoT-1005-1 5.6.1.1: a crash loses at most the segment in progress and the owner is told), then
records the main stream in the configured mode from the live encoder's hub (no second encode).
Retention runs periodically even when nothing is recorded (IoT-1005-1 5.7.1.1: footage is kept only
as long as the policy says). Recorder events (write failures, resumes, retention deletions) go to
``device.record`` (TAICS 5.2.8.2 spirit: a storage failure is never silent).

Access rules and access events belong to the edges (web, CLI): this service decrypts and
exports in its own bounded executor but never decides who may.

Lifetime: built by the composition root, ``await start()`` after the media pipeline started,
``await stop()`` before it stops. No thread or task exists outside start..stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from vigilcam.platform.events import Event
from vigilcam.platform.ports import DeviceState
from vigilcam.recording.erase import DeleteReport, delete_range, erase_all
from vigilcam.recording.index import SegmentRecord
from vigilcam.recording.planner import MODES, RecordMode
from vigilcam.recording.playback import (
    ExportResult,
    PlaybackSegment,
    Span,
    aiter_playback,
    export_range,
    timeline,
)
from vigilcam.recording.recorder import PacketSource, Recorder, RecorderSettings
from vigilcam.recording.retention import DAY, RetentionEnforcer, RetentionPolicy
from vigilcam.recording.store import RecoveryAction, SegmentStore, open_store

if TYPE_CHECKING:
    from vigilcam.media.pipeline import MediaPipeline
    from vigilcam.platform.config import RecordingSettings, Settings



class RecordingDevice(DeviceState, Protocol):
    """What the recording service needs of the device (the composition root hands it in)."""

    settings: Settings


log = logging.getLogger("vigilcam.recording")
_T = TypeVar("_T")

MASTER_KEY_NAME = "recording.master_key"
"""Vault entry holding the 256-bit key that wraps every segment's data key."""



def policy_from_settings(conf: RecordingSettings) -> RetentionPolicy:
    """The owner's ``[recording]`` settings as a retention policy."""
    return RetentionPolicy(
        max_age_s=None if conf.max_age_days is None else conf.max_age_days * DAY,
        quota_bytes=None if conf.quota_gib is None else int(conf.quota_gib * (1 << 30)),
        min_free_bytes=conf.min_free_mib * (1 << 20))

_RESULTS = {"success": "ok", "ok": "ok", "failure": "failure", "error": "error"}
_RECOVERY_RESULT = {"completed": "ok", "repaired": "ok"}


def recovery_event(action: RecoveryAction) -> tuple[str, dict[str, str]]:
    """The security-event result and details for one recovery action (pure)."""
    return _RECOVERY_RESULT.get(action.kind, "error"), action.to_json()


def master_key(device: DeviceState) -> bytes:
    """The recording master key (created from the OS CSPRNG on first use)."""
    return device.vault.ensure_random(MASTER_KEY_NAME, 32)


def open_device_store(device: DeviceState) -> SegmentStore | None:
    """The device's segment store for tools (CLI), or None when nothing was ever recorded.

    Never runs ``recover()``: the service may be recording at the same time, and recovery
    belongs to its start. Only finished segments are listed, played or deleted.
    """
    key = device.vault.find(MASTER_KEY_NAME)
    if key is None or not device.paths.recordings_dir.exists():
        return None
    return open_store(device.paths.recordings_dir, key)


MAX_TIME = 2.0**33  # year 2242: bounds every time a user gives


def parse_time(text: str) -> float:
    """ISO-8601 (``2026-11-23T17:00:00Z``, offsets allowed, naive = UTC) or epoch seconds."""
    value = text.strip()
    if not value or len(value) > 40:
        raise ValueError("a time is ISO-8601 (2026-11-23T17:00:00Z) or epoch seconds")
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise ValueError(
                f"{value[:40]!r} is not a time: use ISO-8601 (2026-11-23T17:00:00Z) or epoch "
                "seconds"
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        seconds = moment.timestamp()
    if not (0 <= seconds <= MAX_TIME) or seconds != seconds:
        raise ValueError("time out of range")
    return seconds


@dataclass(frozen=True)
class Listing:
    segments: list[SegmentRecord]
    spans: list[Span]

    def to_json(self) -> dict[str, object]:
        return {
            "segments": [s.to_json() for s in self.segments],
            "spans": [
                {"start": s.start, "end": s.end, "triggers": list(s.triggers),
                 "segments": s.segments}
                for s in self.spans
            ],
        }


def list_recordings(
    store: SegmentStore, start: float | None = None, end: float | None = None,
    stream: str | None = None,
) -> Listing:
    segments = store.index.query(start, end, stream)
    return Listing(segments, timeline(segments))


class RecordingService:
    """Recording of the main stream plus retention, playback, export and deletion."""

    def __init__(
        self,
        device: RecordingDevice,
        pipeline: MediaPipeline | None,
        *,
        stream: str = "main",
        mode: RecordMode | None = None,
        policy: RetentionPolicy | None = None,
        recorder_settings: RecorderSettings | None = None,
        retention_interval: float = 60.0,
        io_workers: int = 2,
    ) -> None:
        self.device = device
        self.pipeline = pipeline
        self.stream = stream
        chosen = mode if mode is not None else device.settings.record
        if chosen not in MODES:
            raise ValueError(f"recording mode must be one of {', '.join(MODES)}")
        self._mode: RecordMode = chosen
        self.policy = policy or policy_from_settings(device.settings.recording)
        self._recorder_settings = recorder_settings or RecorderSettings()
        self._retention_interval = retention_interval
        self._io_workers = io_workers
        self.store: SegmentStore | None = None
        self.recovered: list[RecoveryAction] = []
        self._recorder: Recorder | None = None
        self._retention: RetentionEnforcer | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._executor: ThreadPoolExecutor | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = asyncio.Lock()
        self._started = False
        self.unavailable: str | None = None
        """Why recordings cannot be used (store unreadable), or None."""

    # -- events -------------------------------------------------------------------------------

    def _on_event(self, action: Event, result: str, details: dict[str, str]) -> None:
        """Recorder / retention news -> the security log (the one path for events)."""
        self.device.record(action, result=_RESULTS.get(result, "error"), **details)

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        if self._started:
            raise RuntimeError("recording service already started")
        self._loop = asyncio.get_running_loop()
        self._executor = ThreadPoolExecutor(self._io_workers,
                                            thread_name_prefix="vigilcam-recio")
        self._started = True
        try:
            await self._open()
        except Exception as exc:  # noqa: BLE001 - never take the camera down with recordings
            # The camera stays live without recordings (IoT-1005-1 5.6.1.1); the owner is told.
            self.unavailable = f"{type(exc).__name__}: {exc}"[:300]
            log.error("recordings unavailable: %s", self.unavailable)
            self.device.record(Event.RECORDING_UNAVAILABLE, result="error", error=self.unavailable)
            return
        self._tasks.append(asyncio.create_task(self._retention_loop(), name="rec-retention"))

    async def _open(self) -> None:
        """Open the store, recover it, record what recovery did, start the recorder."""
        key = master_key(self.device)
        store = await self._run(open_store, self.device.paths.recordings_dir, key)
        try:
            actions = await self._run(store.recover)
        except BaseException:
            store.index.close()
            raise
        for action in actions:
            result, details = recovery_event(action)
            self.device.record(Event.RECORDING_RECOVERED, result=result, **details)
        self.recovered = actions
        self.store = store
        self._retention = RetentionEnforcer(store, self.policy, self._on_event)
        self._start_recorder()

    def _start_recorder(self) -> None:
        assert self.store is not None
        if self.pipeline is None:
            return
        hub = self.pipeline.hubs[self.stream]

        def subscribe() -> PacketSource:
            return hub.subscribe()

        self._recorder = Recorder(
            self.store, self.stream, subscribe, mode=self._mode,
            settings=self._recorder_settings, on_event=self._on_event,
            retention=self._retention,
        )
        self._tasks.append(asyncio.create_task(self._run_recorder(self._recorder),
                                               name="rec-recorder"))

    async def _run_recorder(self, recorder: Recorder) -> None:
        try:
            await recorder.run()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - report, never take the camera down
            log.exception("recorder stopped")
            self.device.record(Event.RECORDING_STOPPED, result="error", stream=self.stream,
                               error=f"{type(exc).__name__}: {exc}"[:200])

    async def _stop_recorder(self) -> None:
        recorder, self._recorder = self._recorder, None
        if recorder is None:
            return
        recorder.stop()
        for task in [t for t in self._tasks if t.get_name() == "rec-recorder"]:
            with contextlib.suppress(asyncio.CancelledError, asyncio.TimeoutError):
                await asyncio.wait_for(task, 15)
            self._tasks.remove(task)

    async def stop(self) -> None:
        """Finish the open segment durably, stop retention, close the store."""
        if not self._started:
            return
        self._started = False
        await self._stop_recorder()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        if self.store is not None:
            self.store.index.close()
            self.store = None
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    async def _retention_loop(self) -> None:
        while True:
            await self.run_retention()
            await asyncio.sleep(self._retention_interval)

    async def run_retention(self) -> int:
        """Apply the retention policy once; returns how many segments were deleted."""
        enforcer = self._retention
        if enforcer is None:
            return 0
        try:
            result = await self._run(enforcer.run_once)
        except (OSError, sqlite3.Error) as exc:
            text = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            self._on_event(Event.RECORDING_RETENTION_FAILED, "error", {"error": text[:200]})
            return 0
        return result.deleted

    async def _run(self, fn: Callable[..., _T], *args: Any) -> _T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, fn, *args)

    # -- control ------------------------------------------------------------------------------

    @property
    def mode(self) -> RecordMode:
        return self._mode

    def set_mode(self, mode: str) -> RecordMode:
        """Switch continuous / events / off now (not persisted: the config file is)."""
        if mode not in MODES:
            raise ValueError(f"recording mode must be one of {', '.join(MODES)}")
        self._mode = mode
        if self._recorder is not None:
            self._recorder.set_mode(self._mode)
        return self._mode

    def trigger(self, reason: str) -> None:
        """An event (motion, tamper, manual) asks for recording; safe from any thread."""
        if not reason or len(reason) > 32:
            raise ValueError("trigger reason must be 1..32 characters")
        recorder, loop = self._recorder, self._loop
        if recorder is None or loop is None:
            return
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            recorder.trigger(reason)
        else:
            with contextlib.suppress(RuntimeError):  # loop closed: shutting down
                loop.call_soon_threadsafe(recorder.trigger, reason)

    def status(self) -> dict[str, object]:
        store = self.store
        recorder = self._recorder.status() if self._recorder is not None else None
        out: dict[str, object] = {
            "mode": self._mode,
            "stream": self.stream,
            "running": self._started and self.store is not None,
            "recorder": recorder,
            "retention": {
                "max_age_days": None if self.policy.max_age_s is None
                else round(self.policy.max_age_s / DAY, 3),
                "quota_bytes": self.policy.quota_bytes,
                "min_free_bytes": self.policy.min_free_bytes,
            },
            "recovered_at_start": [a.to_json() for a in self.recovered],
            "unavailable": self.unavailable,
        }
        if store is not None:
            out["segments"] = len(store.index.query())
            out["bytes"] = store.index.total_size()
        return out

    # -- reading and deleting -----------------------------------------------------------------

    def _require(self) -> SegmentStore:
        if self.store is None:
            raise RuntimeError("recordings are not available (service stopped)")
        return self.store

    async def listing(self, start: float | None = None, end: float | None = None) -> Listing:
        store = self._require()
        listing: Listing = await self._run(list_recordings, store, start, end, self.stream)
        return listing

    async def playback(self, start: float, end: float) -> AsyncIterator[PlaybackSegment]:
        """Decrypted whole segments from ``start`` (memory only); refusals are logged."""
        store = self._require()

        def refused(rec: SegmentRecord, message: str) -> None:
            assert self._loop is not None
            self._loop.call_soon_threadsafe(self._refused, rec, message)

        async for seg in aiter_playback(store, start, end, self.stream, refused,
                                        self._executor):
            yield seg

    def _refused(self, rec: SegmentRecord, message: str) -> None:
        self.device.record(Event.RECORDING_SEGMENT_REFUSED, result="failure",
                           segment_id=str(rec.id), error=message[:200])

    async def export(self, start: float, end: float, out_path: Path) -> ExportResult:
        """Remux [start, end) into a standard MP4 at ``out_path`` (off the loop)."""
        store = self._require()

        def refused(rec: SegmentRecord, message: str) -> None:
            assert self._loop is not None
            self._loop.call_soon_threadsafe(self._refused, rec, message)

        result: ExportResult = await self._run(export_range, store, start, end, out_path,
                                               self.stream, refused)
        return result

    async def delete_range(self, start: float, end: float) -> DeleteReport:
        store = self._require()
        report: DeleteReport = await self._run(delete_range, store, start, end, self.stream)
        return report

    async def erase_all(self) -> DeleteReport:
        """Stop recording, delete every segment and the index, replace the master key (old
        copies of the disk no longer decrypt without the old vault), start again."""
        async with self._lock:
            await self._stop_recorder()
            store = self._require()
            self.store = None
            report: DeleteReport = await self._run(erase_all, store)
            self.device.vault.delete(MASTER_KEY_NAME)
            self._retention = None
            await self._open()
            return report
