"""Encode cost of vigilcam's media path at 720p vs raw libx264 alone (same run, same frames).

Run: .venv/bin/python benchmarks/live_encode.py [--seconds 5]

1. Throughput (frames/s, one thread feeding): our main 1280x720 + sub 640x360 encode path
   (H264Encoder + resize + Annex B split into EncodedPacket) vs PyAV libx264 with the same
   settings encoding only the main picture.
2. Real time: the whole MediaPipeline (testsrc 1280x720@30 + sub 640x360@10, one subscriber
   per stream) for N seconds: process CPU % vs ffmpeg CLI encoding a 720p30 lavfi test source
   with libx264 ultrafast/zerolatency in real time (-re) for the same time.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import shutil
import subprocess
import time
from fractions import Fraction

import av
import cv2

from vigilcam.media.encoder import H264Encoder
from vigilcam.media.pipeline import MediaPipeline
from vigilcam.media.testsrc import TestPattern


def frames(n: int) -> list:
    pat = TestPattern(1280, 720)
    return [pat.render(i) for i in range(n)]


def ours(fr: list) -> float:
    main = H264Encoder("main", 1280, 720, 30)
    sub = H264Encoder("sub", 640, 360, 30)
    t = time.perf_counter()
    for i, f in enumerate(fr):
        main.encode(f, i * 3000, 0.0)
        sub.encode(cv2.resize(f, (640, 360), interpolation=cv2.INTER_AREA), i * 3000, 0.0)
    return len(fr) / (time.perf_counter() - t)


def raw(fr: list) -> float:
    ctx = av.CodecContext.create("libx264", "w")
    ctx.width, ctx.height, ctx.pix_fmt = 1280, 720, "yuv420p"
    ctx.time_base = Fraction(1, 90000)
    ctx.framerate = Fraction(30)
    ctx.options = {"preset": "ultrafast", "tune": "zerolatency", "crf": "23"}
    t = time.perf_counter()
    for i, f in enumerate(fr):
        vf = av.VideoFrame.from_ndarray(f, format="bgr24")
        vf.pts = i * 3000
        for _ in ctx.encode(vf):
            pass
    return len(fr) / (time.perf_counter() - t)


async def pipeline_cpu(seconds: float) -> tuple[float, float]:
    p = MediaPipeline("testsrc", width=1280, height=720, fps=30, sub_width=640,
                      sub_height=360, sub_fps=10)
    p.start()
    subs = [p.hubs["main"].subscribe(), p.hubs["sub"].subscribe()]
    await asyncio.sleep(1.0)  # warm up
    for s in subs:
        while s.get_nowait() is not None:
            pass
    n0 = p.frames_encoded["main"]
    c0 = time.process_time()
    w0 = time.monotonic()
    end = w0 + seconds
    while time.monotonic() < end:
        await asyncio.sleep(0.1)
        for s in subs:
            while s.get_nowait() is not None:
                pass
    cpu = (time.process_time() - c0) / (time.monotonic() - w0) * 100
    fps = (p.frames_encoded["main"] - n0) / (time.monotonic() - w0)
    await p.aclose()
    return cpu, fps


def ffmpeg_cpu(seconds: float) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.monotonic()
    subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-re", "-f", "lavfi", "-i",
         "testsrc2=size=1280x720:rate=30", "-t", str(seconds), "-c:v", "libx264",
         "-preset", "ultrafast", "-tune", "zerolatency", "-f", "null", "-"],
        check=True,
    )
    wall = time.monotonic() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    used = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return used / wall * 100


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--frames", type=int, default=120)
    args = ap.parse_args()
    fr = frames(args.frames)
    ours(fr[:10])
    raw(fr[:10])  # warm up both
    o, r = ours(fr), raw(fr)
    cpu, fps = asyncio.run(pipeline_cpu(args.seconds))
    ref_cpu = ffmpeg_cpu(args.seconds) if shutil.which("ffmpeg") else float("nan")
    rows = [
        ("encode throughput, fps (main 720p + sub 360p vs raw libx264 720p only)", o, r),
        ("real-time 720p30+sub: process CPU % (vigilcam pipeline vs ffmpeg CLI 720p30)", cpu,
         ref_cpu),
        ("real-time main fps achieved (target 30)", fps, 30.0),
    ]
    print(f"{'figure':<84} {'vigilcam':>10} {'reference':>10} {'ratio':>7}")
    for name, a, b in rows:
        print(f"{name:<84} {a:>10.1f} {b:>10.1f} {a / b:>7.2f}")


if __name__ == "__main__":
    main()
