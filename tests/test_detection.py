"""TAICS 5.1.2.1 end to end: a covered lens on the live pipeline becomes a security event."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import av
import cv2
import numpy as np
import pytest

from vigilcam.detection import DetectionService
from vigilcam.media.pipeline import MediaPipeline


def still_scene(path, seconds=6, fps=10):
    """A fixed camera looking at a textured wall, with sensor noise (loops seamlessly)."""
    rng = np.random.default_rng(5)
    base = cv2.resize(rng.integers(0, 255, (45, 80, 3), dtype=np.uint8), (640, 360),
                      interpolation=cv2.INTER_CUBIC)
    cv2.putText(base, "vigilcam", (180, 200), cv2.FONT_HERSHEY_SIMPLEX, 2.5, (255, 255, 255), 6)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        for _ in range(seconds * fps):
            noisy = np.clip(base.astype(np.int16) + rng.integers(-4, 5, base.shape), 0, 255)
            frame = av.VideoFrame.from_ndarray(noisy.astype(np.uint8), format="bgr24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def wait_for(predicate, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


@contextmanager
def live_detection(device, clip) -> Iterator[tuple[MediaPipeline, DetectionService]]:
    """The media pipeline playing ``clip`` with the detection service attached to it."""
    pipeline = MediaPipeline(f"file:{clip}", width=640, height=360, fps=10, sub_width=320,
                             sub_height=180, sub_fps=5, passthrough=False)
    pipeline.start()
    detection = DetectionService(device, pipeline)
    detection.start()
    try:
        yield pipeline, detection
    finally:
        detection.stop()
        pipeline.stop()


@pytest.mark.slow
def test_cover_raises_and_clears_tamper_event(device, tmp_path):
    clip = still_scene(tmp_path / "scene.mp4")
    with live_detection(device, clip) as (pipeline, detection):
        assert wait_for(lambda: detection.tamper.ready, 15), detection.status()
        time.sleep(1)
        pipeline.masks = [{"rect": [0.0, 0.0, 1.0, 1.0]}]  # the lens is covered
        assert wait_for(lambda: detection.tamper.active == "covered", 10), detection.status()
        pipeline.masks = []
        assert wait_for(lambda: detection.tamper.active is None, 15), detection.status()
    events = [e for e in device.seclog.records() if e.action.startswith("tamper.")]
    assert [(e.action, e.details["phase"]) for e in events] == [
        ("tamper.covered", "raised"), ("tamper.covered", "cleared")]
    assert events[0].result == "failure" and events[0].device_id == device.identity.device_id
    assert detection.evidence["covered"].before_jpeg[:2] == b"\xff\xd8"
    assert detection.status()["ms_per_frame"] < 100


def day_and_night_scene(path, seconds=6, fps=10):
    """The same wall by day (colour) and then in IR mode (grey, flatter, brighter in the
    middle, noisier: the camera's own night look), ``seconds`` each; the file loops, so the
    camera switches back to day too."""
    rng = np.random.default_rng(6)
    base = cv2.resize(rng.integers(0, 255, (45, 80, 3), dtype=np.uint8), (640, 360),
                      interpolation=cv2.INTER_CUBIC)
    cv2.putText(base, "vigilcam", (180, 200), cv2.FONT_HERSHEY_SIMPLEX, 2.5, (255, 255, 255), 6)
    yy, xx = np.mgrid[0:360, 0:640].astype(np.float32)
    falloff = 1.0 - 0.55 * (((xx - 320) / 320) ** 2 + ((yy - 180) / 180) ** 2) / 2
    grey = cv2.cvtColor(base, cv2.COLOR_BGR2GRAY).astype(np.float32)
    night = (255.0 * (np.clip(140 + 0.5 * (grey - 110), 0, 255) / 255.0) ** 0.75) * falloff
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        for i in range(2 * seconds * fps):
            if i < seconds * fps:
                img = base.astype(np.float32) + rng.normal(0, 2, base.shape)
            else:
                one = night + rng.normal(0, 6, night.shape)
                img = np.repeat(one[:, :, None], 3, axis=2)  # no colour at all
            frame = av.VideoFrame.from_ndarray(np.clip(img, 0, 255).astype(np.uint8),
                                               format="bgr24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


@pytest.mark.slow
def test_switch_to_ir_mode_and_back_raises_nothing(device, tmp_path):
    # The pipeline measures each frame's colour; the detector tells the camera's own switch
    # to IR mode (the picture turns grey and flatter) from a grey veil over the lens by it.
    clip = day_and_night_scene(tmp_path / "day_night.mp4")
    with live_detection(device, clip) as (_, detection):
        assert wait_for(lambda: detection.status()["day_night_switches"] >= 3, 40), (
            detection.status())
    events = [e for e in device.seclog.records() if e.action.startswith("tamper.")]
    assert events == []
