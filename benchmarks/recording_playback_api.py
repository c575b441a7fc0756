"""Playback start time and export throughput through the HTTPS API (docs/performance.md 'Recording').

Starts a real ``vigilcam run --record continuous`` server (testsrc 1280x720 @ 15 fps), lets it
record, then measures over HTTPS (TLS 1.3, loopback):

- playback start: request -> first byte, and request -> first decoded frame (PyAV);
- playback streaming: seconds of video delivered per wall-clock second;
- export: MB/s and seconds of video per second for an MP4 export of the whole recording.

References measured in the same run on the same data, without HTTP/TLS: reading and
decrypting the first segment straight from the store (playback start), and ``export_range``
into an anonymous memfd (export). Ratio = API / reference.

    .venv/bin/python benchmarks/recording_playback_api.py [--record-seconds 24] [--runs 5]
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import av

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support import STRONG, Api, start_server  # noqa: E402


def owner(srv) -> Api:
    api = Api(srv.client())
    assert api.login("admin", srv.setup_secret).status_code == 200
    r = api.send("POST", "/api/v1/session/password",
                 {"current_password": srv.setup_secret, "new_password": STRONG})
    assert r.status_code == 200, r.text
    api.csrf = r.json()["csrf_token"]
    return api


def first_frame_from_stream(api: Api, params: dict) -> tuple[float, float]:
    """(seconds to first byte, seconds to first decoded frame) for one playback request."""
    t0 = time.perf_counter()
    first_byte = None
    buf = bytearray()
    with api.client.stream("GET", "/api/v1/recordings/play", params=params) as r:
        assert r.status_code == 200, r.read()
        for chunk in r.iter_raw():
            if first_byte is None:
                first_byte = time.perf_counter() - t0
            buf += chunk
            try:
                with av.open(io.BytesIO(bytes(buf)), "r", format="mp4") as c:
                    for _frame in c.decode(video=0):
                        return first_byte, time.perf_counter() - t0
            except av.FFmpegError:
                continue
    raise RuntimeError("no frame decoded")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--record-seconds", type=float, default=24.0)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="vc-bench-"))
    srv = start_server(tmp / "data", "--record", "continuous")
    try:
        api = owner(srv)
        time.sleep(args.record_seconds)
        segs = api.get("/api/v1/recordings").json()["segments"]
        assert len(segs) >= 3, segs
        start, end = segs[0]["start"], segs[-1]["end"]
        video_s = end - start
        stored = sum(s["size"] for s in segs)

        # playback start over HTTPS (median of runs), from the middle of the first segment
        params = {"from": f"{start + 1.0:.3f}", "to": f"{end:.3f}"}
        fb, ff = [], []
        for _ in range(args.runs):
            a, b = first_frame_from_stream(api, params)
            fb.append(a)
            ff.append(b)

        # whole playback stream
        t0 = time.perf_counter()
        r = api.get("/api/v1/recordings/play", params={"from": f"{start:.3f}",
                                                       "to": f"{end:.3f}"})
        play_s = time.perf_counter() - t0
        assert r.status_code == 200
        play_bytes = len(r.content)

        # export over HTTPS
        t0 = time.perf_counter()
        r = api.get("/api/v1/recordings/export", params={"from": f"{start:.3f}",
                                                         "to": f"{end:.3f}"})
        export_s = time.perf_counter() - t0
        assert r.status_code == 200, r.text
        export_bytes = len(r.content)
        api.client.close()
        srv.kill()

        # references: the same data, locally, no HTTP/TLS
        from vigilcam.app import open_device
        from vigilcam.platform.config import Settings
        from vigilcam.platform.paths import DataPaths
        from vigilcam.recording.playback import export_range
        from vigilcam.recording.service import open_device_store

        device = open_device(DataPaths(tmp / "data"), Settings())
        store = open_device_store(device)
        assert store is not None
        recs = store.index.query(start, end)
        local_first = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            data = store.read_all(recs[0])
            with av.open(io.BytesIO(data), "r", format="mp4") as c:
                next(iter(c.decode(video=0)))
            local_first.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        for rec in recs:
            store.read_all(rec)
        local_play_s = time.perf_counter() - t0
        fd = os.memfd_create("bench", os.MFD_CLOEXEC)
        t0 = time.perf_counter()
        export_range(store, start, end, Path(f"/proc/self/fd/{fd}"), "main")
        local_export_s = time.perf_counter() - t0
        os.close(fd)
        store.index.close()
        device.close()
    finally:
        if srv.proc.poll() is None:
            srv.kill()
        shutil.rmtree(tmp, ignore_errors=True)

    med = statistics.median
    rows = [
        ("playback start: first byte (ms)", med(fb) * 1e3, med(local_first) * 1e3,
         "local read+decrypt+decode of segment 1"),
        ("playback start: first frame (ms)", med(ff) * 1e3, med(local_first) * 1e3,
         "local read+decrypt+decode of segment 1"),
        ("playback stream (video s per s)", video_s / play_s, video_s / local_play_s,
         "local decrypt of all segments"),
        ("export (video s per s)", video_s / export_s, video_s / local_export_s,
         "local export_range to memfd"),
        ("export (MB/s of MP4)", export_bytes / export_s / 1e6,
         export_bytes / local_export_s / 1e6, "local export_range to memfd"),
    ]
    print(f"recorded {video_s:.1f} s in {len(segs)} segments, {stored / 1e6:.2f} MB stored; "
          f"playback body {play_bytes / 1e6:.2f} MB, export {export_bytes / 1e6:.2f} MB; "
          f"{args.runs} runs (median)")
    print(f"{'figure':<36} {'API (HTTPS)':>12} {'reference':>12} {'ratio':>7}  reference is")
    for name, value, ref, what in rows:
        print(f"{name:<36} {value:>12.1f} {ref:>12.1f} {value / ref:>7.2f}  {what}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
