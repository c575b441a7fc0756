"""TAICS 5.1.2.1 from picture to owner: a real clip through the detection service and the alert
service to an HTTPS receiver. Cover, blur and shift each make exactly one tamper alert of
their kind (and one "cleared"); so do a diffuser over the lens (a cover) and a cover at night
in IR mode; a clean clip with hard negatives, and a night clip whose camera switches to IR
mode and back, make none. Each frame goes in with its colour level, as the media pipeline
measures it (``tests/test_detection.py`` plays a day-and-night file through the pipeline
itself)."""

from __future__ import annotations

import asyncio
import importlib
import sys
import time
from pathlib import Path

import pytest

from tests.alerts.peers import WebhookReceiver
from vigilcam.detection import DetectionService

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def _dataset():
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    return importlib.import_module("tamper_dataset")


@pytest.mark.slow
@pytest.mark.parametrize(("kind", "variant", "night"), [
    ("covered", None, None), ("defocused", None, None), ("moved", None, None),
    (None, None, None),
    # the faintest diffuser of the benchmark (40 % opaque, dark, blurring by 3 % of the
    # width): the scene faint and blurred behind it
    ("covered", "diffused", None),
    ("covered", None, "ir"),  # a cover at night, the camera in IR mode throughout
    (None, None, "switch"),  # day -> IR mode -> day: no tamper
])
async def test_a_tampered_clip_makes_exactly_one_alert_of_its_kind(service, alert_device, ca,
                                                                   kind, variant, night):
    dataset = _dataset()
    rx = await WebhookReceiver(ca).start()
    try:
        _, key = service.add_channel("webhook", rx.url, ca_pem=ca.ca_pem, allow_local=True)
        rx.key = key.encode()
        detection = DetectionService(alert_device, pipeline=None)  # type: ignore[arg-type]
        alert_device.services.detection = detection
        faint = variant == "diffused"
        plan = dataset.short_plan("carphone_pristine", kind, seed=1 if faint else 2,
                                  variant=variant, level=1.0 if faint else 0.5, night=night)
        if night == "switch":
            assert [(s.start, s.end) for s in plan.ir_spans] == [(15.0, 35.0)]
            # A harsh night look: bright, flat, a strong hotspot; read on contrast alone it
            # is a grey veil over the lens. The picture's colour tells the camera's own switch.
            plan.ir = dataset.cond.IRLook(level=140.0, contrast=0.5, gamma=0.75, hotspot=0.55,
                                          noise=3.5)

        def play() -> None:
            for frame in dataset.render(plan):
                detection.analyse(frame.gray, frame.t, frame.colour)

        await asyncio.to_thread(play)
        expected = 0 if kind is None else 2
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and len(
                [r for r in rx.received if r.json()["category"] == "tamper"]) < expected:
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.5)  # nothing more may follow (windows closed, no repeats)
        tamper = [r.json() for r in rx.received if r.json()["category"] == "tamper"]
        if kind is None:
            assert tamper == []
            return
        assert [(b["event"], b["severity"]) for b in tamper] == [
            (f"tamper.{kind}", "critical"), (f"tamper.{kind}", "info")], tamper
        raised = tamper[0]
        assert raised["device_id"] == alert_device.identity.device_id
        assert raised["details"]["evidence_before"] == f"/api/v1/tamper/{kind}/before.jpg"
        assert detection.evidence[kind].before_jpeg.startswith(b"\xff\xd8")
    finally:
        await rx.stop()
