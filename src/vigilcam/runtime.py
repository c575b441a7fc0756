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
from vigilcam.alerts.service import AlertService
from vigilcam.app import Device, mark_running, mark_stopped, revocation_watcher
from vigilcam.detection import DetectionService
from vigilcam.hostevents.monitor import HotplugMonitor, HotplugUnavailable
from vigilcam.media.pipeline import MediaPipeline
from vigilcam.media.source_spec import UpstreamCredentials
from vigilcam.motion_settings import MotionSettings, MotionSettingsError
from vigilcam.motion_settings import load as load_motion_file
from vigilcam.onvif import lifecycle as onvif_lifecycle
from vigilcam.onvif.edge import OnvifEdge
from vigilcam.onvif.service import onvif_routes
from vigilcam.platform import supervisor, tls
from vigilcam.platform.events import Event
from vigilcam.platform.syslog_forward import SyslogForwarder, SyslogTarget
from vigilcam.privacy import masks_store
from vigilcam.recording.service import RecordingService
from vigilcam.rtsp.server import RtspsServer, ServerLimits
from vigilcam.update.service import UpdateService
from vigilcam.web.server import HttpsServer, create_app

UPSTREAM_SECRET = "upstream_credentials"


def build_media(device: Device) -> MediaPipeline:
    """The one media pipeline: source, single encoder per stream, hubs."""
    m = device.settings.media
    credentials = None
    raw = device.vault.find(UPSTREAM_SECRET)
    if raw is not None:
        data = json.loads(raw)
        credentials = UpstreamCredentials(data["username"], data["password"])

    def on_event(action: Event, result: str, details: dict[str, Any]) -> None:
        device.record(action, result=result, **details)

    pipeline = MediaPipeline(
        m.source, width=m.width, height=m.height, fps=m.fps, sub_width=m.sub_width,
        sub_height=m.sub_height, sub_fps=m.sub_fps, credentials=credentials, on_event=on_event,
        masks=masks_store.load(device.paths.root),
    )
    device.services.viewers.on_privacy_change(lambda on: setattr(pipeline, "privacy", on))
    return pipeline


def load_motion_settings(device: Device) -> MotionSettings:
    """Saved motion zones; an unreadable file is logged and the whole picture watched."""
    try:
        return load_motion_file(device.paths.root)
    except MotionSettingsError as exc:
        device.record(Event.CONFIG_MOTION_UNREADABLE, result="failure", reason=str(exc),
                      fallback="whole picture, default sensitivity")
        return MotionSettings()


def build_syslog_forwarder(device: Device) -> SyslogForwarder | None:
    """TAICS 5.2.8.1: the optional off-device copy of the security log (TLS syslog)."""
    conf = device.settings.syslog
    if not conf.target:
        return None
    target = SyslogTarget.parse(conf.target)
    forwarder = SyslogForwarder(target, tls.client_context(cafile=conf.ca_file),
                                hostname=device.identity.serial, queue_max=conf.queue_max)
    forwarder.attach(device.seclog)
    return forwarder


def start_hotplug(device: Device) -> HotplugMonitor | None:
    """TAICS 5.1.1.2: USB / storage plugged or unplugged -> security log."""
    if not device.settings.hotplug_logging:
        return None
    monitor = HotplugMonitor(device.record)
    try:
        monitor.start()
    except HotplugUnavailable as exc:
        device.record(Event.HOST_HOTPLUG_UNAVAILABLE, result="error", reason=str(exc))
        return None
    return monitor


class Runtime:
    def __init__(self, device: Device) -> None:
        self.device = device
        self.onvif = OnvifEdge.for_device(device)
        self.app = create_app(device, mounts=onvif_routes(self.onvif))
        self.https = HttpsServer(device, self.app)
        self._stopping = asyncio.Event()

    async def run(self, on_ready: Callable[[], None] | None = None) -> None:
        """Start every service in order, serve until stopped, stop them in reverse order."""
        device, services = self.device, self.device.services
        async with contextlib.AsyncExitStack() as stack:
            stack.callback(device.close)
            # TAICS 5.2.8.1: forwarding starts before device.started and, the stack being LIFO,
            # stops after device.stopped, so the collector sees the whole run.
            forwarder = build_syslog_forwarder(device)
            if forwarder:
                forwarder.start()
                stack.callback(forwarder.stop)
            # Built before the run marker is checked, so a power-loss event becomes an alert.
            alerts = AlertService(device)
            services.alerts = alerts
            stack.callback(alerts.close)
            stack.push_async_callback(alerts.stop)
            mark_running(device)
            stack.callback(mark_stopped, device)
            device.record(Event.DEVICE_STARTED, version=product.VERSION,
                          https_port=device.settings.https_port, bind=device.settings.bind,
                          source=device.settings.media.source.split(":", 1)[0])
            stack.callback(device.record, Event.DEVICE_STOPPED)
            await alerts.start()
            # Before any listener: every stream opened later is re-checked while it runs.
            revocation = revocation_watcher(device)
            await revocation.start()
            stack.push_async_callback(revocation.stop)

            media = build_media(device)
            services.media = media
            media.start()
            stack.push_async_callback(media.aclose)
            recording = RecordingService(device, media)
            services.recording = recording
            await recording.start()
            stack.push_async_callback(recording.stop)
            detection = DetectionService(device, media, on_motion=recording.trigger,
                                         motion_settings=load_motion_settings(device))
            services.detection = detection
            detection.start()
            stack.callback(detection.stop)
            events = onvif_lifecycle.start_events(self.onvif, detection.tamper.active)
            stack.callback(events.close)
            await onvif_lifecycle.start_discovery(self.onvif, stack)
            services.restart = self.stop
            hotplug = start_hotplug(device)
            if hotplug:
                stack.callback(hotplug.stop)

            updates = UpdateService.for_device(device)
            updates.slots.started()
            services.update = updates
            if updates.configured_problem() is None:
                scheduler = updates.scheduler()
                scheduler.start()
                stack.push_async_callback(scheduler.stop)

            if device.settings.rtsps_port:
                lim = device.settings.listeners
                rtsps = RtspsServer(device, media.hubs, services.viewers,
                                    device.settings.bind, device.settings.rtsps_port,
                                    limits=ServerLimits(
                                        max_connections=lim.rtsps_max,
                                        max_per_source=lim.rtsps_per_source,
                                        handshake_timeout=lim.handshake_timeout_s,
                                        header_timeout=lim.head_timeout_s,
                                        auth_timeout=lim.auth_timeout_s))
                await rtsps.start()
                stack.push_async_callback(rtsps.stop)

            await self._serve(stack, on_ready)

    async def _serve(
        self, stack: contextlib.AsyncExitStack, on_ready: Callable[[], None] | None
    ) -> None:
        serve = asyncio.create_task(self.https.serve())

        async def stop_https() -> None:
            self.https.stop()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(serve, 10)

        stack.push_async_callback(stop_https)
        # IoT-1005-1 5.6.1.1: systemd (Type=notify) learns when we serve and when we stop; the
        # watchdog pings only while this event loop answers, so a hang is restarted too.
        heartbeat = supervisor.LoopHeartbeat()
        beating = asyncio.create_task(heartbeat.run())
        stack.callback(beating.cancel)
        counting = asyncio.create_task(self._close_failure_windows())
        stack.callback(counting.cancel)
        watchdog = supervisor.Watchdog(healthy=heartbeat.fresh)
        stack.callback(watchdog.stop)
        stack.callback(supervisor.notify, supervisor.STOPPING)
        while not self.https.started:
            if serve.done():
                serve.result()  # a bind error surfaces here
                return
            await asyncio.sleep(0.02)
        if on_ready:
            on_ready()
        supervisor.notify(supervisor.READY, supervisor.status(
            f"serving HTTPS on {self.device.settings.bind}:{self.device.settings.https_port}"))
        watchdog.start()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self.stop)
        stop_wait = asyncio.create_task(self._stopping.wait())
        await asyncio.wait({serve, stop_wait}, return_when=asyncio.FIRST_COMPLETED)
        stop_wait.cancel()

    async def _close_failure_windows(self) -> None:
        """TAICS 5.2.8.1: a flood's counted record is written soon after its window closes,
        whether or not another attempt comes."""
        failures = self.device.auth.failures
        while True:
            await asyncio.sleep(min(5.0, failures.window_s))
            failures.flush_due()

    def stop(self) -> None:
        self._stopping.set()
