"""Runs a provisioned device: every listener and background service, started and stopped here.

Owns the service lifetime. Serves IoT-1005-1 5.6.1.1 (clean start and stop; an unclean stop is
found at the next start), 5.2.2.1 (only the configured listeners start) and TAICS 5.2.8.1
(start and stop are security events).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from collections.abc import Callable
from typing import Any

from vigilcam import product
from vigilcam.app import Device, mark_running, mark_stopped
from vigilcam.detection import DetectionService
from vigilcam.media.pipeline import MediaPipeline
from vigilcam.media.source_spec import UpstreamCredentials
from vigilcam.rtsp.server import RtspsServer
from vigilcam.update.service import UpdateService
from vigilcam.web.server import HttpsServer, create_app

UPSTREAM_SECRET = "upstream_credentials"


def build_media(device: Device) -> MediaPipeline:
    """The one media pipeline: source, single encoder per stream, hubs (issue: live video)."""
    m = device.settings.media
    credentials = None
    raw = device.vault.find(UPSTREAM_SECRET)
    if raw is not None:
        data = json.loads(raw)
        credentials = UpstreamCredentials(data["username"], data["password"])

    def on_event(action: str, result: str, details: dict[str, Any]) -> None:
        device.record(action, result=result, **details)

    pipeline = MediaPipeline(
        m.source, width=m.width, height=m.height, fps=m.fps, sub_width=m.sub_width,
        sub_height=m.sub_height, sub_fps=m.sub_fps, credentials=credentials, on_event=on_event,
    )
    device.extras["viewers"].on_privacy_change(lambda on: setattr(pipeline, "privacy", on))
    return pipeline


class Runtime:
    def __init__(self, device: Device) -> None:
        self.device = device
        self.app = create_app(device)
        self.https = HttpsServer(device, self.app)
        self._stopping = asyncio.Event()

    async def run(self, on_ready: Callable[[], None] | None = None) -> None:
        device = self.device
        mark_running(device)
        device.record("device.started", version=product.VERSION,
                      https_port=device.settings.https_port, bind=device.settings.bind,
                      source=device.settings.media.source.split(":", 1)[0])
        media = build_media(device)
        device.extras["media"] = media
        media.start()
        detection = DetectionService(device, media)
        device.extras["detection"] = detection
        detection.start()
        updates = UpdateService.for_device(device)
        device.extras["update"] = updates
        scheduler = updates.scheduler() if updates.configured_problem() is None else None
        if scheduler is not None:
            scheduler.start()
        rtsps = None
        if device.settings.rtsps_port:
            rtsps = RtspsServer(device, media.hubs, device.extras["viewers"],
                                device.settings.bind, device.settings.rtsps_port)
            await rtsps.start()
        serve = asyncio.create_task(self.https.serve())
        try:
            while not self.https.started:
                if serve.done():
                    serve.result()
                    return
                await asyncio.sleep(0.02)
            if on_ready:
                on_ready()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.add_signal_handler(sig, self.stop)
            stop_wait = asyncio.create_task(self._stopping.wait())
            await asyncio.wait({serve, stop_wait}, return_when=asyncio.FIRST_COMPLETED)
            stop_wait.cancel()
        finally:
            self.https.stop()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(serve, 10)
            if rtsps is not None:
                await rtsps.stop()
            if scheduler is not None:
                await scheduler.stop()
            detection.stop()
            await media.aclose()
            device.record("device.stopped")
            mark_stopped(device)
            device.close()

    def stop(self) -> None:
        self._stopping.set()
