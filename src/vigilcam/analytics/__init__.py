"""Video analytics: motion and tamper detection on the low-resolution sub-stream.

Owns the analytics service's pure logic. Serves TAICS TS 5100-2-1 5.1.2.1 (alert on a lens
covered, refocused or redirected) and the motion-event part of the recording service.

Everything here is pure computation on numpy grey frames: no IO, no threads, no clocks. The
caller (the media hub's analytics worker, run in a bounded executor) feeds frames with their
timestamps and turns the returned events into security events.
"""

from vigilcam.analytics.frames import FrameError
from vigilcam.analytics.motion import MotionDetector, MotionEvent
from vigilcam.analytics.tamper import TamperConfig, TamperDetector, TamperEvent
from vigilcam.analytics.zones import Zone

__all__ = [
    "FrameError",
    "MotionDetector",
    "MotionEvent",
    "TamperConfig",
    "TamperDetector",
    "TamperEvent",
    "Zone",
]
