"""Device core figures: login latency (alone and under brute force), authenticated API
requests per second over TLS on one core, idle RSS, cold start to first HTTPS answer.

Each row: the figure, a reference measured in the same run, and the ratio.
Run: .venv/bin/python benchmarks/core.py
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from figures import pct  # noqa: E402

from tests.support import STRONG, nonce, start_server  # noqa: E402
from vigilcam.auth.passwords import PasswordHasher  # noqa: E402


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def main() -> None:
    rows = []
    tmp = Path(tempfile.mkdtemp())
    data = tmp / "data"
    t0 = time.perf_counter()
    srv = start_server(data)
    first_start = time.perf_counter() - t0
    with srv.client(local_address="127.0.0.5") as c:
        r = c.post("/api/v1/session", json={"username": "admin", "password": srv.setup_secret})
        c.post("/api/v1/session/password",
               json={"current_password": srv.setup_secret, "new_password": STRONG},
               headers={"X-CSRF-Token": r.json()["csrf_token"], "X-Request-Nonce": nonce()})
    srv.kill()

    # Cold start of a provisioned device, reference: a bare interpreter start.
    starts = []
    for _ in range(3):
        t0 = time.perf_counter()
        srv = start_server(data, port=srv.port)
        with srv.client() as c:
            while True:
                try:
                    if c.get("/.well-known/security.txt").status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.02)
        starts.append(time.perf_counter() - t0)
        if _ < 2:
            srv.kill()
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    bare = time.perf_counter() - t0
    rows.append(("cold start to first HTTPS answer (s)", statistics.median(starts), "python -c pass",
                 bare))
    rows.append(("first start incl. provisioning (s)", first_start, "cold start", statistics.median(starts)))

    # Idle RSS, reference: a bare interpreter.
    time.sleep(1)
    idle = rss_kib(srv.proc.pid)
    ref = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(5)"])
    time.sleep(0.5)
    bare_rss = rss_kib(ref.pid)
    ref.kill()
    rows.append(("idle RSS (MiB)", idle / 1024, "bare python RSS", bare_rss / 1024))

    # Login latency alone; reference: one Argon2id verify in this process.
    hasher = PasswordHasher()
    h = hasher.hash(STRONG)
    argon = []
    for _ in range(10):
        t0 = time.perf_counter()
        hasher.verify(h, STRONG)
        argon.append(time.perf_counter() - t0)
    alone = []
    with srv.client(local_address="127.0.0.5") as c:
        for _ in range(20):
            t0 = time.perf_counter()
            assert c.post("/api/v1/session", json={"username": "admin", "password": STRONG}
                          ).status_code == 200
            alone.append(time.perf_counter() - t0)
    rows.append(("login p50 alone (ms)", pct(alone, 50) * 1000, "argon2id verify p50",
                 pct(argon, 50) * 1000))
    rows.append(("login p99 alone (ms)", pct(alone, 99) * 1000, "argon2id verify p99",
                 pct(argon, 99) * 1000))

    # Login latency during a brute-force run from other sources (bounded: 10 s, 8 threads).
    stop = threading.Event()
    attempts = [0]

    def attacker(src: str) -> None:
        with httpx.Client(base_url=srv.url, transport=httpx.HTTPTransport(
                verify=False, local_address=src), timeout=30) as ac:
            i = 0
            while not stop.is_set() and i < 5000:
                ac.post("/api/v1/session", json={"username": "admin", "password": f"x{i}yyyyyyy"})
                attempts[0] += 1
                i += 1

    threads = [threading.Thread(target=attacker, args=(f"127.0.1.{k}",)) for k in range(8)]
    for t in threads:
        t.start()
    under = []
    deadline = time.monotonic() + 10
    with srv.client(local_address="127.0.0.5") as c:
        while time.monotonic() < deadline and len(under) < 40:
            t0 = time.perf_counter()
            assert c.post("/api/v1/session", json={"username": "admin", "password": STRONG}
                          ).status_code == 200
            under.append(time.perf_counter() - t0)
    stop.set()
    for t in threads:
        t.join()
    rows.append(("login p50 under brute force (ms)", pct(under, 50) * 1000, "login p50 alone",
                 pct(alone, 50) * 1000))
    rows.append(("login p99 under brute force (ms)", pct(under, 99) * 1000, "login p99 alone",
                 pct(alone, 99) * 1000))
    rows.append(("attacker requests during the run", attempts[0], "owner logins", len(under)))
    srv.kill()

    # Requests per second on one core: authenticated GET /api/v1/device vs public security.txt.
    srv = start_server(data, port=srv.port)
    os.sched_setaffinity(srv.proc.pid, {0})
    os.sched_setaffinity(0, {1})
    with srv.client(local_address="127.0.0.5") as c:
        c.post("/api/v1/session", json={"username": "admin", "password": STRONG})
        cookies = dict(c.cookies)

    def rps(path: str, authed: bool, seconds: float = 5.0) -> float:
        count = [0]
        end = time.monotonic() + seconds

        def worker() -> None:
            with httpx.Client(base_url=srv.url, verify=False, cookies=cookies if authed else None,
                              timeout=30) as wc:
                while time.monotonic() < end:
                    assert wc.get(path).status_code == 200
                    count[0] += 1

        ws = [threading.Thread(target=worker) for _ in range(4)]
        for w in ws:
            w.start()
        for w in ws:
            w.join()
        return count[0] / seconds

    authed = rps("/api/v1/device", True)
    public = rps("/.well-known/security.txt", False)
    rows.append(("authenticated API req/s over TLS, 1 core", authed, "public req/s same server",
                 public))
    srv.kill()

    print(f"{'figure':<44} {'value':>10}  {'reference':<28} {'ref value':>10} {'ratio':>7}")
    for name, value, ref_name, ref_value in rows:
        ratio = value / ref_value if ref_value else float("nan")
        print(f"{name:<44} {value:>10.2f}  {ref_name:<28} {ref_value:>10.2f} {ratio:>7.2f}")


if __name__ == "__main__":
    main()
