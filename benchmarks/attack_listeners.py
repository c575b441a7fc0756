"""The owner's service while slow clients attack the listeners (IoT-1005-1 5.6.1.1).

One run, one `vigilcam run` with HTTPS and RTSPS on loopback, three phases of --seconds each:
no attack (the reference), slowloris (an attacker process keeps 1,000 slots from 127.0.0.2
opening TLS connections that send a partial request head and never finish it, reconnecting at
once when cut and 0.2 s after a refusal), and RTSP hogging (an attacker process keeps 64 slots
from each of 127.0.0.3 and 127.0.0.4 on RTSPS, sending a bare CRLF every second and never
authenticating, reconnecting when cut). Meanwhile the owner, from 127.0.0.5, repeats on fresh
connections (new TCP + TLS each time): a login (Argon2 included), a cheap authenticated GET
(/api/v1/device) and an RTSPS DESCRIBE with Digest. Each row: p50 / p99 during the attack, the
same without attack, the ratio, and what the attacker achieved (connections held at the peak,
attempts refused). The attacker runs in its own process, so it competes for the CPU as a local
attacker would.

    .venv/bin/python benchmarks/attack_listeners.py [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO))

from figures import pct  # noqa: E402

from tests.attack.support import Held, open_tls, raise_fd_limit  # noqa: E402
from tests.rtsp.rtsp_support import RtspClient  # noqa: E402
from tests.support import STRONG, nonce, start_rtsps_camera  # noqa: E402

OWNER = "127.0.0.5"
PARTIAL_HEAD = b"GET /api/v1/device HTTP/1.1\r\nHost: camera\r\nX-Never-Ends: "



# -- the attacker (its own process) ----------------------------------------------------------
async def _attack(kind: str, port: int, seconds: float) -> dict[str, int]:
    end = time.monotonic() + seconds
    stats = {"attempts": 0, "held_now": 0, "held_peak": 0, "refused": 0, "cut": 0}
    if kind == "slowloris":
        slots = [("127.0.0.2", PARTIAL_HEAD)] * 1000
        keepalive = b""
    else:
        slots = [("127.0.0.3", b"\r\n")] * 64 + [("127.0.0.4", b"\r\n")] * 64
        keepalive = b"\r\n"

    async def slot(source: str, first: bytes) -> None:
        while time.monotonic() < end:
            stats["attempts"] += 1
            held: Held | None = await open_tls(port, source, first, timeout=5)
            if held is None:
                stats["refused"] += 1
                await asyncio.sleep(0.2)
                continue
            stats["held_now"] += 1
            stats["held_peak"] = max(stats["held_peak"], stats["held_now"])
            try:
                while time.monotonic() < end:
                    try:
                        data = await asyncio.wait_for(held.reader.read(4096), 1.0)
                        if not data:
                            stats["cut"] += 1
                            break
                    except TimeoutError:
                        if keepalive:
                            held.writer.write(keepalive)
                    except (OSError, asyncio.IncompleteReadError):
                        stats["cut"] += 1
                        break
            finally:
                stats["held_now"] -= 1
                held.abort()

    await asyncio.gather(*(slot(s, f) for s, f in slots))
    return stats


# -- the owner -------------------------------------------------------------------------------
async def _owner(port: int, rtsps: int, secret: str, seconds: float) -> dict[str, list[float]]:
    import httpx

    from tests.attack.support import insecure_client_context

    out: dict[str, list[float]] = {"login": [], "get": [], "describe": [], "errors": []}
    end = time.monotonic() + seconds
    transport = httpx.AsyncHTTPTransport(verify=insecure_client_context(),
                                         local_address=OWNER,
                                         limits=httpx.Limits(max_keepalive_connections=0))
    async with httpx.AsyncClient(base_url=f"https://127.0.0.1:{port}", transport=transport,
                                 timeout=10) as c:
        while time.monotonic() < end:
            t0 = time.perf_counter()
            try:
                r = await c.post("/api/v1/session", json={"username": "admin",
                                                          "password": STRONG})
                ok = r.status_code == 200
            except httpx.HTTPError:
                ok = False
            (out["login"] if ok else out["errors"]).append(time.perf_counter() - t0)
            for _ in range(3):
                t0 = time.perf_counter()
                try:
                    ok = (await c.get("/api/v1/device")).status_code == 200
                except httpx.HTTPError:
                    ok = False
                (out["get"] if ok else out["errors"]).append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            try:
                reader, writer = await asyncio.wait_for(asyncio.open_connection(
                    "127.0.0.1", rtsps, ssl=insecure_client_context(),
                    local_addr=(OWNER, 0)), 10)
                client = RtspClient(reader, writer)
                r2 = await client.authed("DESCRIBE", f"rtsps://127.0.0.1:{rtsps}/main", "nvr",
                                         secret)
                client.close()
                ok = r2.status == 200
            except (OSError, TimeoutError, asyncio.IncompleteReadError):
                ok = False
            (out["describe"] if ok else out["errors"]).append(time.perf_counter() - t0)
            await asyncio.sleep(0.1)
    return out


def _phase(name: str, port: int, rtsps: int, secret: str, seconds: float
           ) -> tuple[dict[str, list[float]], dict[str, int]]:
    attacker = None
    if name != "none":
        target = port if name == "slowloris" else rtsps
        attacker = subprocess.Popen([sys.executable, str(HERE), "--attack", name, str(target),
                                     str(seconds + 2)], stdout=subprocess.PIPE, text=True)
        time.sleep(2.0)  # let the attacker fill its budget first
    owner = asyncio.run(_owner(port, rtsps, secret, seconds))
    stats: dict[str, int] = {}
    if attacker is not None:
        out, _ = attacker.communicate(timeout=seconds + 60)
        stats = json.loads(out.strip().splitlines()[-1])
    return owner, stats


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--attack", nargs=3, metavar=("KIND", "PORT", "SECONDS"))
    args = ap.parse_args()
    raise_fd_limit(8192)
    if args.attack:
        kind, port, seconds = args.attack
        print(json.dumps(asyncio.run(_attack(kind, int(port), float(seconds)))))
        return

    srv, rtsps, secret = start_rtsps_camera(Path(tempfile.mkdtemp()) / "data")
    try:
        with srv.client(local_address=OWNER) as c:
            r = c.post("/api/v1/session", json={"username": "admin",
                                                "password": srv.setup_secret})
            c.post("/api/v1/session/password",
                   json={"current_password": srv.setup_secret, "new_password": STRONG},
                   headers={"X-CSRF-Token": r.json()["csrf_token"], "X-Request-Nonce": nonce()})
        results = {name: _phase(name, srv.port, rtsps, secret, args.seconds)
                   for name in ("none", "slowloris", "rtsp-hog")}
    finally:
        srv.kill()

    base = results["none"][0]
    print(f"{'owner, from ' + OWNER:<34} {'attack':<10} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'ref p50':>8} {'ref p99':>8} {'ratio p50':>9} {'ratio p99':>9} {'n':>4} {'err':>4}")
    for attack in ("slowloris", "rtsp-hog"):
        owner, _ = results[attack]
        for what, label in (("login", "login (POST /api/v1/session)"),
                            ("get", "GET /api/v1/device"),
                            ("describe", "RTSPS DESCRIBE (Digest)")):
            v, ref = owner[what], base[what]
            p50, p99, r50, r99 = (pct(v, 50) * 1e3, pct(v, 99) * 1e3, pct(ref, 50) * 1e3,
                                  pct(ref, 99) * 1e3)
            print(f"{label:<34} {attack:<10} {p50:8.1f} {p99:8.1f} {r50:8.1f} {r99:8.1f} "
                  f"{p50 / r50:9.2f} {p99 / r99:9.2f} {len(v):4d} "
                  f"{len(owner['errors']) if what == 'login' else '':>4}")
    print(f"\nreference errors (no attack): {len(base['errors'])}")
    for attack in ("slowloris", "rtsp-hog"):
        print(f"attacker {attack}: {json.dumps(results[attack][1])}")


if __name__ == "__main__":
    main()
