"""ONVIF events as Home Assistant receives them: a pull-point subscription made by
onvif-zeep-async over the real HTTPS listener gets Initialized messages, then a tamper raised
by a real covered clip through the detection service (the same path as a camera's frames) and
its clearing, each parsed by onvif-parsers (Home Assistant's parsers) into the right binary
sensor state (TAICS 5.1.2.1)."""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib
import sys
import time
from pathlib import Path

import onvif_parsers
import pytest
from onvif import ONVIFCamera

from tests.onvif.onvif_support import https_server, secrets_of, wsdl_dir
from vigilcam.detection import DetectionService
from vigilcam.onvif.edge import OnvifEdge
from vigilcam.onvif.lifecycle import start_events

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
POLL = dt.timedelta(seconds=2)


def _dataset():
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    return importlib.import_module("tamper_dataset")


async def _parse(messages) -> list[tuple[str, str, bool, str]]:
    """(topic, entity name, state, PropertyOperation), as Home Assistant's event manager
    reads a PullMessages answer."""
    out = []
    for msg in messages:
        topic = msg.Topic._value_1.rstrip("/.")
        for entity in await onvif_parsers.parse(topic, "uid", msg):
            out.append((topic, entity.name, entity.value,
                        msg.Message._value_1.PropertyOperation))
    return out


async def _pull_until(service, want, seen: list, deadline_s: float) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline and not want(seen):
        answer = await service.PullMessages({"MessageLimit": 100, "Timeout": POLL})
        seen.extend(await _parse(answer.NotificationMessage))


@pytest.mark.slow
async def test_pullpoint_gets_initialized_then_a_real_covered_tamper_and_its_clearing(
        onvif_device):
    device = onvif_device
    secret = secrets_of(device)["ha"]
    edge = OnvifEdge.for_device(device)
    start_events(edge, None)
    detection = DetectionService(device, pipeline=None)  # type: ignore[arg-type]
    async with https_server(device, edge) as port:
        cam = ONVIFCamera("https://127.0.0.1", port, "ha", secret, f"{wsdl_dir()}/",
                          no_cache=True)
        try:
            await cam.update_xaddrs()
            # Home Assistant's PullPointManager: a 10-minute subscription, then a
            # synchronization point, then PullMessages with MessageLimit 100.
            manager = await cam.create_pullpoint_manager(dt.timedelta(minutes=10), lambda: None)
            await manager.set_synchronization_point()
            service = manager.get_service()
            seen: list = []
            await _pull_until(service, lambda s: len(s) >= 10, seen, 10)
            assert len(seen) == 10  # five on subscribe, five on the synchronization point
            initial = {(t, v, op) for t, _, v, op in seen}
            assert initial == {
                ("tns1:RuleEngine/CellMotionDetector/Motion", False, "Initialized"),
                ("tns1:RuleEngine/TamperDetector/Tamper", False, "Initialized"),
                ("tns1:VideoSource/ImageTooDark/AnalyticsService", False, "Initialized"),
                ("tns1:VideoSource/ImageTooBlurry/AnalyticsService", False, "Initialized"),
                ("tns1:VideoSource/GlobalSceneChange/AnalyticsService", False, "Initialized"),
            }
            seen.clear()
            dataset = _dataset()
            plan = dataset.short_plan("carphone_pristine", "covered", seed=2)

            def play() -> None:
                for frame in dataset.render(plan):
                    detection.analyse(frame.gray, frame.t)

            player = asyncio.create_task(asyncio.to_thread(play))

            def cleared(s: list) -> bool:
                return ("tns1:VideoSource/ImageTooDark/AnalyticsService", False) in [
                    (t, v) for t, _, v, _ in s]

            await _pull_until(service, cleared, seen, 120)
            await player
            changes = [(t, v) for t, _, v, op in seen if op == "Changed"
                       and "Motion" not in t]
            assert changes == [
                ("tns1:VideoSource/ImageTooDark/AnalyticsService", True),
                ("tns1:RuleEngine/TamperDetector/Tamper", True),
                ("tns1:VideoSource/ImageTooDark/AnalyticsService", False),
                ("tns1:RuleEngine/TamperDetector/Tamper", False),
            ], seen
            names = {(t, n) for t, n, _, _ in seen}
            assert ("tns1:RuleEngine/TamperDetector/Tamper", "Tamper Detection") in names
            assert ("tns1:VideoSource/ImageTooDark/AnalyticsService", "Image Too Dark") in names
            # SetSynchronizationPoint: the current values again, as Initialized.
            await manager.set_synchronization_point()
            again: list = []
            await _pull_until(service, lambda s: len(s) >= 5, again, 10)
            assert {op for *_, op in again} == {"Initialized"}
            await manager.shutdown()
        finally:
            await cam.close()
