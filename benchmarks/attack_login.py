"""Login under parallel attack: the owner's login latency, password checks per burst, log growth.

Rows (figure, reference measured in the same run, ratio):
- owner login p50 / p99 while 500 wrong-password logins arrive at once from one address and
  then 500 from 500 loopback addresses, against the owner's login with no attack;
- password checks evaluated per 1,000 concurrent attempts, against the sequential limit
  (free attempts for one source; the NIST SP 800-63B cap of 100 for one account);
- security-log bytes per hour of an RTSPS reconnect flood with a bad credential, against what
  one record per attempt would have cost (the same attempts times the size of one record).

Every load is bounded in count and time; everything talks to loopback only.
Run: .venv/bin/python benchmarks/attack_login.py [--flood-seconds 60]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from figures import pct  # noqa: E402

from tests.attack.clients import (  # noqa: E402
    insecure_tls,
    post_login,
    rtsps_bad_credential_flood,
)
from tests.support import STRONG, free_port, nonce, read_log, start_server  # noqa: E402

OWNER = "127.0.0.5"



def owner_logins(srv, n: int) -> list[float]:
    times = []
    with srv.client(local_address=OWNER) as c:
        for _ in range(n):
            t0 = time.perf_counter()
            r = c.post("/api/v1/session", json={"username": "admin", "password": STRONG})
            times.append(time.perf_counter() - t0)
            assert r.status_code == 200, r.text
    return times


def burst(port: int, many_sources: bool) -> dict[int, int]:
    """500 wrong-password logins at once; the answers by status (0: no answer)."""
    async def run() -> list[int]:
        ctx = insecure_tls()
        if many_sources:
            attempts = [post_login(port, f"127.0.{1 + i // 250}.{1 + i % 250}", "admin",
                                   f"botnet-{i}-xxxxxxxx", ctx) for i in range(500)]
        else:
            attempts = [post_login(port, "127.0.0.20", "admin", f"wrong-{i}-xxxxxxxx", ctx)
                        for i in range(500)]
        return list(await asyncio.wait_for(asyncio.gather(*attempts), 300))

    statuses = asyncio.run(run())
    return {status: statuses.count(status) for status in sorted(set(statuses))}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--flood-seconds", type=float, default=60.0)
    args = ap.parse_args()
    rows = []
    tmp = Path(tempfile.mkdtemp())
    data = tmp / "data"
    rtsps = free_port()
    srv = start_server(data, "--rtsps-port", str(rtsps))
    try:
        with srv.client(local_address=OWNER) as c:
            r = c.post("/api/v1/session",
                       json={"username": "admin", "password": srv.setup_secret})
            c.post("/api/v1/session/password",
                   json={"current_password": srv.setup_secret, "new_password": STRONG},
                   headers={"X-CSRF-Token": r.json()["csrf_token"], "X-Request-Nonce": nonce()})
        quiet = owner_logins(srv, 30)
        attacked: list[float] = []
        answers: dict[str, dict[int, int]] = {}

        took: dict[str, float] = {}

        def attack() -> None:
            t0 = time.monotonic()
            answers["one"] = burst(srv.port, many_sources=False)
            took["one"] = time.monotonic() - t0
            answers["many"] = burst(srv.port, many_sources=True)

        attacker = threading.Thread(target=attack)
        attacker.start()
        time.sleep(0.5)
        while attacker.is_alive() and len(attacked) < 200:
            attacked += owner_logins(srv, 1)
        attacker.join(timeout=630)
        rows.append(("owner login p50 during 2 x 500 logins at once (ms)",
                     statistics.median(attacked) * 1e3, statistics.median(quiet) * 1e3))
        rows.append(("owner login p99 during 2 x 500 logins at once (ms)",
                     pct(attacked, 99) * 1e3, pct(quiet, 99) * 1e3))
        # Reference: what one client sending in a row gets in the burst's time (3 free, then
        # waits of 1, 2, 4 ... s).
        rows.append((f"password checks, 500 at once from one address ({took['one']:.0f} s)",
                     answers["one"].get(401, 0), 3 + int(math.log2(took["one"] + 1))))
        rows.append(("password checks, 500 at once from 500 addresses",
                     answers["many"].get(401, 0), 100))
        print(f"answers by status: one address {answers['one']}, "
              f"500 addresses {answers['many']}")
        before = (data / "seclog" / "current.jsonl").stat().st_size
        attempts = asyncio.run(rtsps_bad_credential_flood(rtsps, args.flood_seconds))
        time.sleep(8)  # the open window's count is written within 5 s of closing
        grown = (data / "seclog" / "current.jsonl").stat().st_size - before
        singles = [e for e in read_log(data)
                   if e["action"] == "auth.login" and e["result"] == "failure"]
        one_record = statistics.mean(len(json.dumps(e)) + 1 for e in singles)
        per_hour = grown * 3600 / args.flood_seconds
        rows.append((f"log bytes per hour of RTSPS flood ({attempts} attempts in "
                     f"{args.flood_seconds:.0f} s)", per_hour,
                     one_record * attempts * 3600 / args.flood_seconds))
    finally:
        srv.kill()
    print(f"{'figure':<66} {'value':>12} {'reference':>12} {'ratio':>8}")
    for name, value, ref in rows:
        print(f"{name:<66} {value:>12.1f} {ref:>12.1f} {value / ref if ref else 0:>8.3f}")


if __name__ == "__main__":
    main()
