"""RTSPS fan-out cost: server process CPU with 0/1/10/50 readers, vigilcam vs GStreamer.

docs/performance.md 'Live video': process CPU and memory with 1, 10 and 50 concurrent viewers (the growth with
viewers must be small: one encode), compared in the same run with GStreamer's RTSP server
(gst-rtsp-server through python3-gi, Debian packages) serving the same kind of source: a live
test pattern (scrolling bars and a clock) encoded once by libx264 (ultrafast, zerolatency,
1 s GOP), shared by
every reader, RTP over the RTSP connection, TLS on both (RTSPS), Basic authentication on both.
vigilcam encodes at CRF 23 (capped at --kbps); its pattern comes out near 0.7 Mbit/s at 720p30,
so GStreamer's encoder runs at a constant --gst-kbps (default 700) to deliver the same bytes.

Readers run in a separate process (asyncio + ssl: DESCRIBE, SETUP interleaved, PLAY, then read
and discard), so only the server's own CPU is measured (utime + stime from /proc).

    .venv/bin/python benchmarks/rtsps_viewers.py [--width 1280 --height 720 --fps 30]
        [--viewers 1,10,50] [--window 8]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import datetime
import os
import re
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()
REPO = HERE.parents[1]
TICK = os.sysconf("SC_CLK_TCK")

GST_SERVER = r'''
import sys, gi
gi.require_version("Gst", "1.0"); gi.require_version("GstRtspServer", "1.0")
gi.require_version("GstRtsp", "1.0")
from gi.repository import Gst, GstRtspServer, GstRtsp, GLib, Gio
Gst.init(None)
port, w, h, fps, kbps, cert, key = sys.argv[1:8]
server = GstRtspServer.RTSPServer(); server.set_service(port); server.set_address("127.0.0.1")
server.set_backlog(256)
auth = GstRtspServer.RTSPAuth()
auth.set_tls_certificate(Gio.TlsCertificate.new_from_files(cert, key))
token = GstRtspServer.RTSPToken()
token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, "user")
auth.add_basic(GstRtspServer.RTSPAuth.make_basic("bench", "benchpass"), token)
server.set_auth(auth)
f = GstRtspServer.RTSPMediaFactory()
f.set_launch(f"( videotestsrc is-live=true pattern=smpte horizontal-speed=8 ! "
             f"video/x-raw,width={w},height={h},framerate={fps}/1 ! timeoverlay ! "
             f"x264enc tune=zerolatency speed-preset=ultrafast key-int-max={fps} pass=cbr "
             f"bitrate={kbps} ! "
             f"rtph264pay name=pay0 pt=96 config-interval=-1 )")
f.set_shared(True)
f.set_protocols(GstRtsp.RTSPLowerTrans.TCP)
f.add_role_from_structure(Gst.Structure.new_from_string(
    "user, media.factory.access=(boolean)true, media.factory.construct=(boolean)true"))
server.get_mount_points().add_factory("/main", f)
server.attach(None)
print("ready bench benchpass", flush=True)
GLib.MainLoop().run()
'''


# -- the vigilcam server process ---------------------------------------------------------------

def serve_vigilcam(port: int, width: int, height: int, fps: float, kbps: int) -> None:
    sys.path.insert(0, str(REPO / "src"))
    import threading

    from vigilcam.app import open_device, provision
    from vigilcam.auth.permissions import Role
    from vigilcam.media.encoder import H264Encoder
    from vigilcam.media.hub import StreamHub
    from vigilcam.media.testsrc import TestPattern
    from vigilcam.media.types import PTS_CLOCK
    from vigilcam.platform.config import Settings
    from vigilcam.platform.paths import DataPaths
    from vigilcam.rtsp.server import RtspsServer
    from vigilcam.viewers.registry import ViewerRegistry

    tmp = tempfile.mkdtemp(prefix="rtsps-bench-")
    paths = DataPaths(Path(tmp) / "data")
    provision(paths, Settings())
    device = open_device(paths, Settings())
    device.accounts.add("bench", Role.VIEWER, "x" * 20, must_change=False, check_policy=False)
    secret = device.services.stream_credentials.get_or_create("bench")
    hub = StreamHub("main")
    stop = threading.Event()

    def produce() -> None:
        enc = H264Encoder("main", width, height, fps, max_bitrate=kbps * 1000)
        pattern = TestPattern(width, height)
        start = time.monotonic()
        n = 0
        while not stop.is_set():
            now = time.time()
            for pkt in enc.encode(pattern.render(n, now), int(n * PTS_CLOCK / fps), now):
                if enc.info is not None and hub.info is None:
                    hub.set_info(enc.info)
                hub.publish(pkt)
            n += 1
            delay = start + n / fps - time.monotonic()
            if delay > 0:
                stop.wait(delay)

    threading.Thread(target=produce, daemon=True).start()

    async def main() -> None:
        server = RtspsServer(device, {"main": hub}, ViewerRegistry(lambda *a, **k: None),
                             "127.0.0.1", port)
        await server.start()
        print(f"ready bench {secret}", flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


# -- the readers process ---------------------------------------------------------------------

async def _reader(port: int, user: str, password: str, counter: list[int],
                  ready: asyncio.Semaphore) -> None:
    for attempt in range(6):  # GStreamer answers 503 while its shared pipeline prerolls
        try:
            await _read_one(port, user, password, counter, ready)
            return
        except RuntimeError as exc:
            if "503" not in str(exc) or attempt == 5:
                raise
            await asyncio.sleep(1)


async def _read_one(port: int, user: str, password: str, counter: list[int],
                    ready: asyncio.Semaphore) -> None:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=ctx, limit=1 << 20)
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    cseq = 0

    async def ask(method: str, uri: str, extra: str = "") -> tuple[str, bytes]:
        nonlocal cseq
        cseq += 1
        writer.write(f"{method} {uri} RTSP/1.0\r\nCSeq: {cseq}\r\nAuthorization: Basic {token}"
                     f"\r\n{extra}\r\n".encode())
        while (first := await reader.readexactly(1)) == b"$":  # media before the answer
            size = int.from_bytes((await reader.readexactly(3))[1:], "big")
            await reader.readexactly(size)
        head = (first + await reader.readuntil(b"\r\n\r\n")).decode()
        m = re.search(r"Content-Length:\s*(\d+)", head, re.I)
        body = await reader.readexactly(int(m.group(1))) if m else b""
        if " 200 " not in head.split("\r\n")[0]:
            raise RuntimeError(f"{method}: {head.splitlines()[0]}")
        return head, body

    url = f"rtsps://127.0.0.1:{port}/main"
    head, sdp = await ask("DESCRIBE", url, "Accept: application/sdp\r\n")
    base = re.search(r"Content-Base:\s*(\S+)", head, re.I)
    base_url = base.group(1) if base else url + "/"
    controls = re.findall(r"a=control:(\S+)", sdp.decode())
    control = controls[-1]
    track = control if control.startswith("rtsp") else base_url.rstrip("/") + "/" + control
    head, _ = await ask("SETUP", track, "Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n")
    session = re.search(r"Session:\s*([^;\r\n]+)", head, re.I).group(1).strip()
    await ask("PLAY", base_url, f"Session: {session}\r\nRange: npt=0.000-\r\n")
    ready.release()
    while True:
        data = await reader.read(1 << 16)
        if not data:
            raise RuntimeError("server closed a reader")
        counter[0] += len(data)


def run_readers(port: int, n: int, user: str, password: str) -> None:
    async def main() -> None:
        counter = [0]
        ready = asyncio.Semaphore(0)
        tasks = [asyncio.create_task(_reader(port, user, password, counter, ready))
                 for _ in range(n)]
        for _ in range(n):
            await asyncio.wait_for(ready.acquire(), 60)
        print("playing", flush=True)
        loop = asyncio.get_running_loop()
        line = await loop.run_in_executor(None, sys.stdin.readline)  # "measure"
        start, t0 = counter[0], time.monotonic()
        await loop.run_in_executor(None, sys.stdin.readline)  # "stop"
        failed = sum(1 for t in tasks if t.done())
        print(f"bytes {counter[0] - start} {time.monotonic() - t0:.3f} failed {failed}",
              flush=True)
        del line

    asyncio.run(main())


# -- the driver ------------------------------------------------------------------------------

def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_cert(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    c, k = folder / "cert.pem", folder / "key.pem"
    c.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    k.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()))
    return c, k


def measure(name: str, server_cmd: list[str], port: int, counts: list[int],
            window: float) -> list[dict[str, float]]:
    server = subprocess.Popen(server_cmd, stdout=subprocess.PIPE, text=True)
    rows: list[dict[str, float]] = []
    try:
        line = server.stdout.readline() if server.stdout else ""
        if not line.startswith("ready"):
            raise RuntimeError(f"{name} server did not start: {line!r}")
        _, user, password = line.split()
        time.sleep(3)  # warm up the encoder
        for n in [0, *counts]:
            readers = None
            if n:
                readers = subprocess.Popen(
                    [sys.executable, str(HERE), "--readers", str(n), str(port), user],
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                    env={**os.environ, "BENCH_PASS": password})
                assert readers.stdout and readers.stdin
                got = readers.stdout.readline()
                if not got.startswith("playing"):
                    raise RuntimeError(f"{name}: readers did not start ({got!r})")
                time.sleep(2)
                readers.stdin.write("measure\n")
                readers.stdin.flush()
            c0, t0 = cpu_seconds(server.pid), time.monotonic()
            time.sleep(window)
            c1, t1 = cpu_seconds(server.pid), time.monotonic()
            row = {"viewers": n, "cpu": 100 * (c1 - c0) / (t1 - t0), "rss": rss_mb(server.pid),
                   "mbps": 0.0, "failed": 0}
            if readers is not None:
                assert readers.stdin and readers.stdout
                readers.stdin.write("stop\n")
                readers.stdin.flush()
                out = readers.stdout.readline().split()
                row["mbps"] = int(out[1]) * 8 / float(out[2]) / 1e6
                row["failed"] = int(out[4])
                readers.kill()
                readers.wait()
                time.sleep(1)
            rows.append(row)
            print(f"  {name:9} viewers={n:3d} cpu={row['cpu']:6.1f}% rss={row['rss']:6.1f} MB "
                  f"delivered={row['mbps']:7.1f} Mbit/s failed={row['failed']}", flush=True)
    finally:
        server.kill()
        server.wait()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=720)
    ap.add_argument("--fps", type=int, default=30)
    ap.add_argument("--kbps", type=int, default=2048, help="vigilcam bit rate cap")
    ap.add_argument("--gst-kbps", type=int, default=700, help="GStreamer constant bit rate")
    ap.add_argument("--viewers", default="1,10,50")
    ap.add_argument("--window", type=float, default=8.0)
    ap.add_argument("--serve-vigilcam", nargs=1, type=int, metavar="PORT")
    ap.add_argument("--readers", nargs=3, metavar=("N", "PORT", "USER"))
    args = ap.parse_args()
    if args.serve_vigilcam:
        serve_vigilcam(args.serve_vigilcam[0], args.width, args.height, args.fps, args.kbps)
        return
    if args.readers:
        n, port, user = args.readers
        run_readers(int(port), int(n), user, os.environ["BENCH_PASS"])
        return
    counts = [int(x) for x in args.viewers.split(",")]
    geometry = ["--width", str(args.width), "--height", str(args.height), "--fps",
                str(args.fps), "--kbps", str(args.kbps)]
    print(f"source {args.width}x{args.height}@{args.fps}, vigilcam CRF 23 (cap {args.kbps} "
          f"kbit/s), GStreamer CBR {args.gst_kbps} kbit/s, "
          f"window {args.window:g} s, {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f} at start")
    with tempfile.TemporaryDirectory() as tmp:
        cert, key = make_cert(Path(tmp))
        p1 = free_port()
        ours = measure("vigilcam", [sys.executable, str(HERE), *geometry, "--serve-vigilcam",
                                    str(p1)], p1, counts, args.window)
        p2 = free_port()
        ref = measure("gstreamer", ["/usr/bin/python3", "-c", GST_SERVER, str(p2),
                                    str(args.width), str(args.height), str(args.fps),
                                    str(args.gst_kbps), str(cert), str(key)], p2, counts,
                      args.window)
    print()
    print("Marginal cost above one viewer: per extra viewer = (CPU(N) - CPU(1)) / (N - 1), and")
    print("per extra Mbit/s delivered = (CPU(N) - CPU(1)) / (Mbit/s(N) - Mbit/s(1)), in case the")
    print("two encoders do not deliver the same bit rate. GStreamer builds its")
    print("shared pipeline only when the first reader arrives, so its 0-viewer row is idle.")
    print("CPU % is of one core.")
    print()
    print("| viewers | vigilcam CPU % | GStreamer CPU % | per extra viewer: vigilcam / GStreamer "
          "(ratio) | per extra Mbit/s: vigilcam / GStreamer (ratio) | RSS MB: vigilcam / "
          "GStreamer | Mbit/s delivered: vigilcam / GStreamer |")
    print("|---|---|---|---|---|---|---|")
    one_o = next((o for o in ours if o["viewers"] == 1), ours[0])
    one_r = next((r for r in ref if r["viewers"] == 1), ref[0])

    def ratio(a: float, b: float) -> str:
        return f"{a / b:.2f}" if b > 0 else "n/a"

    for o, r in zip(ours, ref, strict=True):
        n = int(o["viewers"])
        per_viewer = per_mbit = "-"
        if n > 1:
            pv_o = (o["cpu"] - one_o["cpu"]) / (n - 1)
            pv_r = (r["cpu"] - one_r["cpu"]) / (n - 1)
            per_viewer = f"{pv_o:.3f} / {pv_r:.3f} ({ratio(pv_o, pv_r)})"
            pm_o = (o["cpu"] - one_o["cpu"]) / max(1e-9, o["mbps"] - one_o["mbps"])
            pm_r = (r["cpu"] - one_r["cpu"]) / max(1e-9, r["mbps"] - one_r["mbps"])
            per_mbit = f"{pm_o:.3f} / {pm_r:.3f} ({ratio(pm_o, pm_r)})"
        print(f"| {n} | {o['cpu']:.1f} | {r['cpu']:.1f} | {per_viewer} | {per_mbit} | "
              f"{o['rss']:.0f} / {r['rss']:.0f} | {o['mbps']:.1f} / {r['mbps']:.1f} |")


if __name__ == "__main__":
    main()
