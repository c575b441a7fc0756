"""Glass-to-glass delay over RTSPS with ffmpeg as the client, 720p30 on loopback.

ffmpeg pulls rtsps://.../main (TCP interleaved inside TLS), decodes, scales to 640x360 gray and
writes raw frames to a pipe; each frame's burned-in capture time is read back and subtracted
from the time the frame arrived. Reference in the same run: the frame interval.

Run: .venv/bin/python benchmarks/live_latency_rtsps.py [--frames 150]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from figures import pct  # noqa: E402

from tests.support import free_port, run_cli, start_server  # noqa: E402
from vigilcam.media.testsrc import decode_burned_time  # noqa: E402

W, H = 640, 360



def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=150)
    ap.add_argument("--fps", type=float, default=30)
    args = ap.parse_args()
    data = Path(tempfile.mkdtemp()) / "data"
    run_cli("init", "--data-dir", str(data))
    (data / "config.toml").write_text(f"[media]\nwidth = 1280\nheight = 720\nfps = {args.fps}\n")
    run_cli("user", "add", "nvr", "--data-dir", str(data))
    secret = run_cli("user", "stream-credential", "nvr", "--data-dir", str(data)).stdout.strip()
    port = free_port()
    t_start = time.time()
    srv = start_server(data, "--rtsps-port", str(port))
    delays, first_frame = [], None
    try:
        proc = subprocess.Popen(
            ["ffmpeg", "-v", "error", "-rtsp_transport", "tcp",
             "-fflags", "nobuffer", "-flags", "low_delay", "-probesize", "32",
             "-analyzeduration", "0",
             "-i", f"rtsps://nvr:{secret}@127.0.0.1:{port}/main",
             "-vf", f"scale={W}:{H}", "-f", "rawvideo", "-pix_fmt", "gray", "-"],
            stdout=subprocess.PIPE)
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        while len(delays) < args.frames and time.monotonic() < deadline:
            raw = proc.stdout.read(W * H)
            arrived = time.time()
            if len(raw) < W * H:
                break
            if first_frame is None:
                first_frame = arrived - t_start
            captured = decode_burned_time(np.frombuffer(raw, dtype=np.uint8).reshape(H, W))
            if captured is not None:
                delays.append((arrived - captured) * 1000)
        proc.kill()
        proc.wait()
    finally:
        srv.kill()
    delays = delays[10:]  # skip the start-up burst
    frame_ms = 1000 / args.fps
    print(f"frames decoded: {len(delays)}; mean {statistics.mean(delays):.0f} ms; "
          f"server start to first frame at the client: {first_frame:.2f} s")
    print(f"{'figure':<36} {'value':>8}  {'reference':<16} {'ref':>6} {'ratio':>6}")
    for name, value in (("RTSPS glass-to-glass p50 (ms)", pct(delays, 50)),
                        ("RTSPS glass-to-glass p95 (ms)", pct(delays, 95))):
        print(f"{name:<36} {value:>8.0f}  {'frame interval':<16} {frame_ms:>6.1f} "
              f"{value / frame_ms:>6.1f}")


if __name__ == "__main__":
    main()
