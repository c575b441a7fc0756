"""Runs motion and tamper detection on the live picture and turns results into events.

Owns when the detectors run and what their results cause. Serves TAICS 5.1.2.1 (lens covered,
refocused or redirected raise a security event, and therefore an alert, and clear when the
view recovers) and motion (docs/detection.md): a motion start triggers an event recording.

The detectors (``vigilcam.analytics``) are pure; this service feeds them downscaled gray frames
from the media pipeline at a few frames per second on one worker thread of its own, behind a
one-frame mailbox, so analysis never slows the encoder (a late frame is replaced by a newer
one). Evidence thumbnails stay in memory: no picture of the scene is ever written to disk.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from vigilcam.analytics.motion import MotionDetector
from vigilcam.analytics.tamper import TamperDetector, TamperEvent
from vigilcam.motion_settings import MotionSettings
from vigilcam.platform.events import TAMPER_EVENTS, Event
from vigilcam.platform.ports import EventRecorder

if TYPE_CHECKING:
    from vigilcam.media.pipeline import AnalyticsFrame, MediaPipeline



ANALYSIS_FPS = 5.0
ANALYSIS_WIDTH = 320


@dataclass
class TamperEvidence:
    kind: str
    phase: str
    at: float
    before_jpeg: bytes = field(repr=False, default=b"")
    after_jpeg: bytes = field(repr=False, default=b"")


class DetectionService:
    def __init__(
        self,
        device: EventRecorder,
        pipeline: MediaPipeline,
        *,
        on_motion: Callable[[str], None] | None = None,
        tamper: TamperDetector | None = None,
        motion: MotionDetector | None = None,
        motion_settings: MotionSettings | None = None,
    ) -> None:
        self.device = device
        self.pipeline = pipeline
        self.on_motion = on_motion
        self.tamper = tamper or TamperDetector()
        self.motion_settings = motion_settings or MotionSettings()
        self.motion = motion or self.motion_settings.detector()
        self._pending_motion: MotionDetector | None = None
        self.evidence: dict[str, TamperEvidence] = {}
        self.frames_analysed = 0
        self.busy_seconds = 0.0
        self._mailbox: AnalyticsFrame | None = None
        self._cond = threading.Condition()
        self._stop = False
        self._thread: threading.Thread | None = None
        self._remove_listener: Callable[[], None] | None = None
        self._pending_rebaseline: tuple[str, str] | None = None

    def start(self) -> None:
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="vigilcam-analytics", daemon=True)
        self._thread.start()
        self._remove_listener = self.pipeline.add_analytics_listener(
            self._offer, fps=ANALYSIS_FPS, width=ANALYSIS_WIDTH
        )

    def stop(self) -> None:
        if self._remove_listener is not None:
            self._remove_listener()
        with self._cond:
            self._stop = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join(5)

    def _offer(self, frame: AnalyticsFrame) -> None:
        with self._cond:
            self._mailbox = frame  # newest wins
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._mailbox is None and not self._stop:
                    self._cond.wait()
                if self._stop:
                    return
                frame, self._mailbox = self._mailbox, None
            assert frame is not None
            started = time.perf_counter()
            self.analyse(frame.gray, frame.mono, frame.colour)
            self.busy_seconds += time.perf_counter() - started
            self.frames_analysed += 1

    def analyse(self, gray: object, t: float, colour: float | None = None) -> None:
        """One frame through both detectors; events go through ``record()``. ``colour`` is
        its colour level where the source has colour (the tamper detector tells the camera's
        own switch to IR mode by it)."""
        if self._pending_rebaseline is not None:
            by, source = self._pending_rebaseline
            self._pending_rebaseline = None
            self.device.record(Event.TAMPER_REBASELINED, user=by, source=source)
            for event in self.tamper.rebaseline(t):
                self._tamper_event(event)
        if self._pending_motion is not None:
            self.motion, self._pending_motion = self._pending_motion, None
        for event in self.tamper.update(gray, t, colour):  # type: ignore[arg-type]
            self._tamper_event(event)
        motion = self.motion.update(gray, t)  # type: ignore[arg-type]
        if motion is not None and motion.phase == "started":
            self.device.record(Event.MOTION_STARTED, zones=list(motion.zones),
                               score=round(motion.score, 4))
            if self.on_motion is not None:
                self.on_motion("motion")
        elif motion is not None and motion.phase == "ended":
            # ONVIF subscribers (IsMotion false) learn of the end; it raises no alert.
            self.device.record(Event.MOTION_ENDED, zones=list(motion.zones),
                               score=round(motion.score, 4))

    def _tamper_event(self, event: TamperEvent) -> None:
        self.evidence[event.kind] = TamperEvidence(
            event.kind, event.phase, time.time(), event.before_jpeg, event.after_jpeg
        )
        self.device.record(
            TAMPER_EVENTS[event.kind],
            result="failure" if event.phase == "raised" else "ok",
            phase=event.phase,
            since_s=round(event.t - event.since, 2),
            scores=event.scores,
            evidence="before/after thumbnails in memory (GET /api/v1/tamper)",
        )

    def rebaseline(self, by: str, source: str) -> None:
        """The owner accepts the current view as the new normal (a camera moved on purpose)."""
        self._pending_rebaseline = (by, source)

    def configure_motion(self, settings: MotionSettings) -> None:
        """New zones/sensitivity, taken up by the analysis thread at its next frame."""
        self.motion_settings = settings
        self._pending_motion = settings.detector()

    def status(self) -> dict[str, object]:
        per_frame = self.busy_seconds / self.frames_analysed if self.frames_analysed else 0.0
        return {
            "active_tamper": self.tamper.active,
            "motion": self.motion.active,
            "motion_zones": [z.name for z in self.motion_settings.zones],
            "motion_sensitivity": self.motion_settings.sensitivity,
            "frames_analysed": self.frames_analysed,
            "ms_per_frame": round(per_frame * 1000, 2),
            # the camera's own switches between day and IR mode the tamper detector saw
            "day_night_switches": self.tamper.mode_switches,
            "evidence": [{"kind": e.kind, "phase": e.phase, "at": e.at}
                         for e in self.evidence.values()],
        }
