"""Cost of fan-out: one encode, N in-process viewers each making fMP4 fragments.

Run: .venv/bin/python benchmarks/live_fanout.py [--seconds 5]

MediaPipeline testsrc 1280x720@30 (+ sub 640x360@10); N subscribers on the main hub each turn
every packet into an fMP4 fragment (what a browser live-view connection does, minus TLS and
the socket). Figure: process CPU % and RSS with N = 1, 10, 50. Reference (same run): N = 1.
The ratio shows the growth with viewers; the encode is done once whatever N is.
Network-level figures (RTSPS / WSS viewers vs GStreamer's RTSP server) are in the RTSP and
web benchmarks.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import time

from vigilcam.media.fmp4 import FragmentTimeline, init_segment
from vigilcam.media.hub import Subscription
from vigilcam.media.pipeline import MediaPipeline


def rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) / 1024


async def viewer(sub: Subscription, counter: list[int]) -> None:
    timeline = None
    async for pkt in sub:
        if timeline is None:
            assert sub.info is not None
            init_segment(sub.info)
            timeline = FragmentTimeline(pkt.dts)
        timeline.frame(pkt)
        counter[0] += 1


async def run(n: int, seconds: float) -> tuple[float, float, float, int]:
    p = MediaPipeline("testsrc", width=1280, height=720, fps=30, sub_width=640,
                      sub_height=360, sub_fps=10)
    p.start()
    counter = [0]
    subs = [p.hubs["main"].subscribe() for _ in range(n)]
    tasks = [asyncio.create_task(viewer(s, counter)) for s in subs]
    await asyncio.sleep(1.5)
    c0, w0, n0 = time.process_time(), time.monotonic(), counter[0]
    await asyncio.sleep(seconds)
    wall = time.monotonic() - w0
    cpu = (time.process_time() - c0) / wall * 100
    per_viewer_fps = (counter[0] - n0) / wall / n
    rss = rss_mib()
    dropped = sum(s.dropped for s in subs)
    await p.aclose()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return cpu, rss, per_viewer_fps, dropped


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=5.0)
    args = ap.parse_args()
    results = {n: asyncio.run(run(n, args.seconds)) for n in (1, 10, 50)}
    ref_cpu, ref_rss, _, _ = results[1]
    print(f"{'viewers':>7} {'CPU %':>7} {'ref CPU % (1)':>14} {'ratio':>6} {'RSS MiB':>8} "
          f"{'ratio':>6} {'fps/viewer':>10} {'dropped':>8}")
    for n, (cpu, rss, fps, dropped) in results.items():
        print(f"{n:>7} {cpu:>7.1f} {ref_cpu:>14.1f} {cpu / ref_cpu:>6.2f} {rss:>8.1f} "
              f"{rss / ref_rss:>6.2f} {fps:>10.1f} {dropped:>8}")


if __name__ == "__main__":
    main()
