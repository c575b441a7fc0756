"""ONVIF request latency and event latency, each against a reference from the same run.

1. GetProfiles over HTTPS with a fresh WS-Security PasswordDigest token per request (the way
   every ONVIF client calls), p50/p95, against an authenticated JSON API request
   (``GET /api/v1/device`` with a session cookie) on the same keep-alive connection.
2. Event latency: a tamper event recorded by the security log (as the detector records it)
   to the PullMessages answer carrying it, against a PullMessages round trip that finds a
   message already waiting.

Talks to 127.0.0.1 only; every loop is bounded in count.
Run: .venv/bin/python benchmarks/onvif_latency.py [--requests 300] [--events 30]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from figures import pct  # noqa: E402

from tests.onvif.onvif_support import (  # noqa: E402
    SOAP,
    enable,
    envelope,
    free_port,
    https_server,
    make_user,
    token,
)
from tests.support import STRONG  # noqa: E402
from vigilcam.app import open_device, provision  # noqa: E402
from vigilcam.auth.permissions import Role  # noqa: E402
from vigilcam.onvif.edge import OnvifEdge  # noqa: E402
from vigilcam.onvif.lifecycle import start_events  # noqa: E402
from vigilcam.platform.config import Settings  # noqa: E402
from vigilcam.platform.paths import DataPaths  # noqa: E402


def row(rows: list, name: str, value: float, ref_name: str, ref: float, unit: str) -> None:
    rows.append((name, value, ref_name, ref, value / ref if ref else float("nan"), unit))


async def requests(port: int, secret: str, count: int) -> tuple[list[float], list[float]]:
    base = f"https://127.0.0.1:{port}"
    onvif_times: list[float] = []
    api_times: list[float] = []
    async with httpx.AsyncClient(base_url=base, verify=False, timeout=30) as c:  # noqa: S501
        r = await c.post("/api/v1/session", json={"username": "ha", "password": STRONG})
        assert r.status_code == 200, r.text
        for i in range(count + 20):
            body = envelope("<trt:GetProfiles/>", token("ha", secret), "trt")
            t0 = time.perf_counter()
            r = await c.post("/onvif/media_service", content=body,
                             headers={"Content-Type": SOAP})
            t1 = time.perf_counter()
            assert r.status_code == 200 and b"GetProfilesResponse" in r.content, r.text
            t2 = time.perf_counter()
            r = await c.get("/api/v1/device")
            t3 = time.perf_counter()
            assert r.status_code == 200, r.text
            if i >= 20:  # warm-up excluded
                onvif_times.append(t1 - t0)
                api_times.append(t3 - t2)
    return onvif_times, api_times


async def events(device, port: int, secret: str, count: int) -> tuple[list[float], list[float]]:
    base = f"https://127.0.0.1:{port}"
    latency: list[float] = []
    waiting: list[float] = []
    pull = ("<tev:PullMessages><tev:Timeout>PT10S</tev:Timeout><tev:MessageLimit>10"
            "</tev:MessageLimit></tev:PullMessages>")
    async with httpx.AsyncClient(base_url=base, verify=False, timeout=30) as c:  # noqa: S501
        r = await c.post("/onvif/events_service", headers={"Content-Type": SOAP},
                         content=envelope("<tev:CreatePullPointSubscription/>",
                                          token("ha", secret), "tev"))
        address = r.text.split("<wsa:Address>")[1].split("</wsa:Address>")[0]
        path = "/" + address.split("/", 3)[3]

        async def pull_once() -> bytes:
            resp = await c.post(path, content=envelope(pull, token("ha", secret), "tev"),
                                headers={"Content-Type": SOAP})
            assert resp.status_code == 200, resp.text
            return resp.content

        await pull_once()  # the Initialized messages
        for i in range(count):
            phase = "raised" if i % 2 == 0 else "cleared"
            task = asyncio.create_task(pull_once())
            await asyncio.sleep(0.05)  # the pull is waiting on the server
            stamp: list[float] = []

            def record(phase: str = phase, stamp: list[float] = stamp) -> None:
                stamp.append(time.perf_counter())
                device.record("tamper.covered", result="failure" if phase == "raised" else "ok",
                              phase=phase)

            threading.Thread(target=record).start()  # the detector records from its thread
            answer = await task
            latency.append(time.perf_counter() - stamp[0])
            assert b"ImageTooDark" in answer
            # Reference: a pull that finds a message already queued.
            device.record("tamper.covered", result="ok" if phase == "raised" else "failure",
                          phase="cleared" if phase == "raised" else "raised")
            await asyncio.sleep(0.05)
            t0 = time.perf_counter()
            await pull_once()
            waiting.append(time.perf_counter() - t0)
            device.record("tamper.covered", result="failure" if phase == "raised" else "ok",
                          phase=phase)
            await asyncio.sleep(0.05)
            await pull_once()
    return latency, waiting


async def main_async(args: argparse.Namespace) -> list:
    tmp = Path(tempfile.mkdtemp())
    settings = Settings(https_port=free_port())
    paths = DataPaths(tmp / "data")
    provision(paths, settings)
    device = open_device(paths, settings)
    enable(device)
    secret = make_user(device, "ha", Role.VIEWER)
    edge = OnvifEdge.for_device(device)
    start_events(edge, None)
    rows: list = []
    try:
        async with https_server(device, edge) as port:
            onvif_t, api_t = await requests(port, secret, args.requests)
            lat, ref = await events(device, port, secret, args.events)
    finally:
        device.close()
    ms = 1000.0
    row(rows, "GetProfiles p50 (fresh digest token)", pct(onvif_t, 50) * ms,
        "GET /api/v1/device p50", pct(api_t, 50) * ms, "ms")
    row(rows, "GetProfiles p95", pct(onvif_t, 95) * ms,
        "GET /api/v1/device p95", pct(api_t, 95) * ms, "ms")
    row(rows, "tamper recorded -> PullMessages answer p50", statistics.median(lat) * ms,
        "PullMessages with a message waiting p50", statistics.median(ref) * ms, "ms")
    row(rows, "tamper recorded -> PullMessages answer p95", pct(lat, 95) * ms,
        "PullMessages with a message waiting p95", pct(ref, 95) * ms, "ms")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--events", type=int, default=30)
    args = parser.parse_args()
    rows = asyncio.run(main_async(args))
    print(f"{'figure':<46} {'value':>9}  {'reference':<40} {'ref':>9} {'ratio':>6}")
    for name, value, ref_name, ref, ratio, unit in rows:
        print(f"{name:<46} {value:>7.2f}{unit}  {ref_name:<40} {ref:>7.2f}{unit} {ratio:>6.2f}")


if __name__ == "__main__":
    main()
