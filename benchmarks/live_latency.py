"""In-process delay from capture to a decoded picture at a subscriber (burned-in time code).

Run: .venv/bin/python benchmarks/live_latency.py [--seconds 8]

Figure: MediaPipeline testsrc 1280x720@30: a hub subscriber decodes each main packet with
PyAV and reads the burned-in capture time back from the picture; delay = now - burned time.
Reference (same run): the same frames rendered, encoded with libx264 and decoded in one tight
loop without threads or hub (the codec's own floor). The ratio is the pipeline's overhead.
The browser / RTSPS glass-to-glass figures are measured by the web and RTSP benchmarks.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import av

from vigilcam.media.encoder import H264Encoder
from vigilcam.media.pipeline import MediaPipeline
from vigilcam.media.testsrc import TestPattern, decode_burned_time


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 2 else values[0]


async def pipeline_delays(seconds: float) -> list[float]:
    p = MediaPipeline("testsrc", width=1280, height=720, fps=30, sub_width=640, sub_height=360,
                      sub_fps=10)
    p.start()
    sub = p.hubs["main"].subscribe()
    dec = av.CodecContext.create("h264", "r")
    delays: list[float] = []
    end = time.monotonic() + seconds
    async for pkt in sub:
        for f in dec.decode(av.Packet(pkt.annexb())):
            t = decode_burned_time(f.to_ndarray(format="gray"))
            if t is not None:
                delays.append(time.time() - t)
        if time.monotonic() > end:
            break
    await p.aclose()
    return delays[30:]  # skip warm-up


def codec_floor(n: int) -> list[float]:
    pat = TestPattern(1280, 720)
    enc = H264Encoder("main", 1280, 720, 30)
    dec = av.CodecContext.create("h264", "r")
    delays = []
    for i in range(n):
        wall = time.time()
        for pkt in enc.encode(pat.render(i, wall), i * 3000, wall):
            for f in dec.decode(av.Packet(pkt.annexb())):
                t = decode_burned_time(f.to_ndarray(format="gray"))
                if t is not None:
                    delays.append(time.time() - t)
        time.sleep(1 / 30)
    return delays[10:]


async def startup(from_last_keyframe: bool) -> tuple[float, float]:
    """(start() -> first packet at a subscriber, later subscribe -> first packet), seconds."""
    p = MediaPipeline("testsrc", width=1280, height=720, fps=30, sub_width=640, sub_height=360,
                      sub_fps=10)
    t0 = time.monotonic()
    p.start()
    sub = p.hubs["main"].subscribe()
    await sub.__anext__()
    first = time.monotonic() - t0
    await asyncio.sleep(0.55)  # mid-GOP
    t1 = time.monotonic()
    late = p.hubs["main"].subscribe(from_last_keyframe=from_last_keyframe)
    await late.__anext__()
    join = time.monotonic() - t1
    await p.aclose()
    return first, join


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=8.0)
    args = ap.parse_args()
    ours = asyncio.run(pipeline_delays(args.seconds))
    ref = codec_floor(90)
    print(f"{'figure (ms, 1280x720@30)':<58} {'vigilcam':>9} {'reference':>10} {'ratio':>7}")
    for q in (50, 95):
        a, b = pct(ours, q) * 1000, pct(ref, q) * 1000
        print(f"{f'capture -> decoded at subscriber, p{q}':<58} {a:>9.1f} {b:>10.1f} {a / b:>7.2f}")
    print(f"samples: {len(ours)} vigilcam, {len(ref)} reference")
    cold, join_next = asyncio.run(startup(False))
    _, join_gop = asyncio.run(startup(True))
    print(f"{'start() -> first packet at a subscriber (ms)':<58} {cold * 1000:>9.1f}")
    print(f"{'join mid-GOP -> first packet: GOP replay vs next IDR (ms)':<58} "
          f"{join_gop * 1000:>9.1f} {join_next * 1000:>10.1f} {join_gop / join_next:>7.2f}")


if __name__ == "__main__":
    main()
