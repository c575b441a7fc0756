"""Revocation latency: an account is disabled -> its open WSS and RTSPS streams are closed.

A real ``vigilcam run`` (HTTPS + RTSPS, 640x360 test source) on loopback. In each run one user
watches the sub stream over WSS (``websockets`` client) and over RTSPS (ffmpeg); after a random
0.2-1.2 s the user is disabled, either by an admin over the API (the in-process push path) or by
``vigilcam user disable`` in another process (the change-marker path); then re-enabled for the
next run. Latency: from just before the disable request was sent (API), or from the CLI's
``user.disabled`` record (committed just before it), to the moment the client saw its stream
end. The "(both revoked, log)" row is the server's side: the later of the two
``video.view_revoked`` records (ms resolution). Reference in the same run: a plain authenticated request (``GET /api/v1/session``).

Run: .venv/bin/python benchmarks/revocation.py [--runs 20] [--cli-runs 10]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from figures import pct  # noqa: E402

from tests.attack.viewers import (  # noqa: E402
    Session,
    latency,
    log_time,
    start_camera,
    stop,
    watch_rtsps,
    watch_wss,
)
from tests.support import run_cli  # noqa: E402
from vigilcam.auth.permissions import Role  # noqa: E402

DISABLE_REQUESTS: list[float] = []  # the admin's disable request itself, round trip



def one_run(camera, admin: Session, via_cli: bool) -> tuple[float, float, float]:
    viewer = Session(camera, "vic")
    wss = watch_wss(camera, viewer)
    rtsps = watch_rtsps(camera.rtsps_url("vic"))
    try:
        if not (wss.started.wait(30) and rtsps.started.wait(30)):
            raise RuntimeError(f"streams did not start: {wss.detail} {rtsps.detail}")
        time.sleep(random.uniform(0.2, 1.2))
        if via_cli:
            seen = len(camera.events("user.disabled", "cli"))
            result = run_cli("user", "disable", "vic", "--data-dir", str(camera.data_dir))
            assert result.returncode == 0, result.stderr
            t0 = log_time(camera.events("user.disabled", "cli")[seen])
        else:
            t0 = time.time()
            r = admin.send("PATCH", "/api/v1/users/vic", {"disabled": True})
            assert r.status_code == 200, r.text
            DISABLE_REQUESTS.append(time.time() - t0)
        wss_s, rtsps_s = latency(wss, t0), latency(rtsps, t0)
        revoked = [log_time(e) for e in camera.events("video.view_revoked", "vic")
                   if log_time(e) >= t0 - 1]
        return wss_s, rtsps_s, max(revoked) - t0 if revoked else float("inf")
    finally:
        stop(rtsps)
        stop(wss)
        viewer.close()
        r = admin.send("PATCH", "/api/v1/users/vic", {"disabled": False})
        assert r.status_code == 200, r.text


def plain_requests(admin: Session, n: int = 50) -> list[float]:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        assert admin.client.get("/api/v1/session").status_code == 200
        times.append(time.perf_counter() - t0)
    return times


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--cli-runs", type=int, default=10)
    args = ap.parse_args()
    random.seed(1)
    camera = start_camera(Path(tempfile.mkdtemp()) / "data", {"vic": Role.VIEWER},
                          stream_users=("vic",))
    try:
        admin = Session(camera, "admin")
        plain = plain_requests(admin)
        results: dict[str, list[float]] = {}
        for label, via_cli, runs in (("API", False, args.runs), ("CLI", True, args.cli_runs)):
            wss_l, rtsps_l, server_l = [], [], []
            for _ in range(runs):
                w, r, s = one_run(camera, admin, via_cli)
                wss_l.append(w)
                rtsps_l.append(r)
                server_l.append(s)
            results[f"WSS, disabled by {label}"] = wss_l
            results[f"RTSPS, disabled by {label}"] = rtsps_l
            results[f"(both revoked, log) {label}"] = server_l
        plain += plain_requests(admin)
    finally:
        camera.server.kill()
    ref = statistics.median(plain)
    print(f"reference: plain authenticated request p50 {ref * 1000:.1f} ms, "
          f"p95 {pct(plain, 95) * 1000:.1f} ms ({len(plain)} requests)")
    print(f"second reference: the admin's disable request (PATCH, round trip) p50 "
          f"{statistics.median(DISABLE_REQUESTS) * 1000:.1f} ms, p95 "
          f"{pct(DISABLE_REQUESTS, 95) * 1000:.1f} ms")
    print(f"{'stream closed after disable':<28} {'runs':>4} {'p50 ms':>8} {'p95 ms':>8} "
          f"{'max ms':>8} {'p50/ref':>8}")
    for name, values in results.items():
        p50 = statistics.median(values)
        print(f"{name:<28} {len(values):>4} {p50 * 1000:>8.0f} {pct(values, 95) * 1000:>8.0f} "
              f"{max(values) * 1000:>8.0f} {p50 / ref:>8.1f}")


if __name__ == "__main__":
    main()
