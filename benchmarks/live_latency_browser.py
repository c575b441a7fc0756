"""Glass-to-glass delay of the browser live view, 720p30 on loopback.

The test pattern burns its capture time into every frame; headless Chromium reports each frame
it presents (requestVideoFrameCallback), draws it to a canvas, and we read the burned-in time
back and subtract it from the browser's clock at presentation. Reference in the same run: the
frame interval (the delay a perfect one-frame pipeline would add). Target: p50 under 300 ms.

Run: .venv/bin/python benchmarks/live_latency_browser.py [--samples 120]
"""

from __future__ import annotations

import argparse
import base64
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from figures import pct  # noqa: E402

from tests.browser import launch, log_in  # noqa: E402
from tests.support import STRONG, nonce, start_server  # noqa: E402
from vigilcam.app import provision  # noqa: E402
from vigilcam.media.testsrc import decode_burned_time  # noqa: E402
from vigilcam.platform.config import Settings  # noqa: E402
from vigilcam.platform.paths import DataPaths  # noqa: E402

GRAB = """
async (n) => {
  const v = document.getElementById('live-video');
  const c = document.createElement('canvas'); c.width = 640; c.height = 360;
  const g = c.getContext('2d', {willReadFrequently: true});
  const out = [];
  await new Promise((resolve) => {
    const step = (now, meta) => {
      const shown = performance.timeOrigin + now;
      g.drawImage(v, 0, 0, 640, 360);
      const px = g.getImageData(0, 0, 640, 360).data;
      const gray = new Uint8Array(640 * 360);
      for (let i = 0, j = 0; i < px.length; i += 4, j++) gray[j] = (px[i] + px[i+1] + px[i+2]) / 3;
      let s = ''; for (let i = 0; i < gray.length; i += 8192)
        s += String.fromCharCode.apply(null, gray.subarray(i, i + 8192));
      out.push([shown, btoa(s)]);
      if (out.length >= n) resolve(); else v.requestVideoFrameCallback(step);
    };
    v.requestVideoFrameCallback(step);
  });
  return out;
}
"""



def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=120)
    ap.add_argument("--fps", type=float, default=30)
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    data = Path(tempfile.mkdtemp()) / "data"
    provision(DataPaths(data), Settings())
    (data / "config.toml").write_text(f"[media]\nwidth = 1280\nheight = 720\nfps = {args.fps}\n")
    srv = start_server(data)
    try:
        with srv.client() as c:
            r = c.post("/api/v1/session", json={"username": "admin", "password": srv.setup_secret})
            c.post("/api/v1/session/password",
                   json={"current_password": srv.setup_secret, "new_password": STRONG},
                   headers={"X-CSRF-Token": r.json()["csrf_token"], "X-Request-Nonce": nonce()})
        with sync_playwright() as p:
            browser = launch(p)
            page = browser.new_context(ignore_https_errors=True).new_page()
            log_in(page, srv.url, "admin", STRONG)
            page.wait_for_function("() => document.getElementById('live-video').currentTime > 2",
                                   timeout=30000)
            samples = page.evaluate(GRAB, args.samples)
            browser.close()
    finally:
        srv.kill()
    delays = []
    for shown_ms, b64 in samples:
        gray = np.frombuffer(base64.b64decode(b64), dtype=np.uint8).reshape(360, 640)
        captured = decode_burned_time(gray)
        if captured is not None:
            delays.append(shown_ms - captured * 1000)
    frame_ms = 1000 / args.fps
    p50, p95 = pct(delays, 50), pct(delays, 95)
    print(f"decoded {len(delays)}/{len(samples)} frames; mean {statistics.mean(delays):.0f} ms")
    print(f"{'figure':<40} {'value':>8}  {'reference':<22} {'ref':>7} {'ratio':>6}")
    print(f"{'browser glass-to-glass p50 (ms)':<40} {p50:>8.0f}  {'frame interval':<22} "
          f"{frame_ms:>7.1f} {p50 / frame_ms:>6.1f}")
    print(f"{'browser glass-to-glass p95 (ms)':<40} {p95:>8.0f}  {'frame interval':<22} "
          f"{frame_ms:>7.1f} {p95 / frame_ms:>6.1f}")


if __name__ == "__main__":
    main()
