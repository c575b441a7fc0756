"""CPU of tamper + motion analytics on a live 720p30 stream, against the stream's own cost.

Run: .venv/bin/python benchmarks/analytics_cpu.py [--seconds 20]

The same MediaPipeline (testsrc 1280x720@30 + sub 640x360@10) runs twice for N seconds: first
alone (reference: capture + encode of both streams), then with the DetectionService attached
(5 analysed frames per second, 320 pixels wide, tamper + motion). Printed: process CPU % of one
core for each run, the difference (what analytics adds), the analysis thread's own busy time,
ms per analysed frame, and the ratio analytics / stream.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from vigilcam.app import open_device, provision
from vigilcam.detection import DetectionService
from vigilcam.media.pipeline import MediaPipeline
from vigilcam.platform.config import Settings
from vigilcam.platform.paths import DataPaths


async def drain_for(pipeline: MediaPipeline, seconds: float) -> float:
    """Run for ``seconds`` with one reader per stream; returns process CPU % of one core."""
    subs = [pipeline.hubs["main"].subscribe(), pipeline.hubs["sub"].subscribe()]
    c0, w0 = time.process_time(), time.monotonic()
    while time.monotonic() < w0 + seconds:
        await asyncio.sleep(0.1)
        for s in subs:
            while s.get_nowait() is not None:
                pass
    return (time.process_time() - c0) / (time.monotonic() - w0) * 100


async def run(seconds: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        paths = DataPaths(Path(tmp) / "data")
        provision(paths, Settings())
        device = open_device(paths, Settings())
        pipeline = MediaPipeline("testsrc", width=1280, height=720, fps=30, sub_width=640,
                                 sub_height=360, sub_fps=10)
        pipeline.start()
        await asyncio.sleep(1.5)  # warm up the encoders
        stream_cpu = await drain_for(pipeline, seconds)
        detection = DetectionService(device, pipeline)
        detection.start()
        await asyncio.sleep(1.5)
        busy0, frames0, w0 = detection.busy_seconds, detection.frames_analysed, time.monotonic()
        with_cpu = await drain_for(pipeline, seconds)
        wall = time.monotonic() - w0
        busy = detection.busy_seconds - busy0
        frames = detection.frames_analysed - frames0
        detection.stop()
        await pipeline.aclose()
        device.close()
    added = with_cpu - stream_cpu
    rows = [
        ("process CPU %, stream alone (reference)", stream_cpu),
        ("process CPU %, stream + analytics", with_cpu),
        ("analytics CPU % of one core (difference)", added),
        ("analysis thread busy % of one core", busy / wall * 100),
        ("analysed frames per second", frames / wall),
        ("ms per analysed frame (320 px, tamper + motion)", busy / max(1, frames) * 1000),
    ]
    for name, value in rows:
        print(f"{name:<52} {value:>8.2f}")
    print(f"{'ratio analytics / stream CPU':<52} {added / stream_cpu:>8.3f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=20.0)
    asyncio.run(run(ap.parse_args().seconds))


if __name__ == "__main__":
    main()
