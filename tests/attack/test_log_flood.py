"""A client reconnecting in a loop with a bad credential cannot fill the security log.

TAICS 5.2.8.1 / 5.2.8.2, IoT-1005-1 5.6.1.1: RTSPS clients reconnect as fast as they can with a
wrong Basic header against a running camera. Every attempt is accounted for in the log (one by
one or inside a counted record), but the log grows by a few records per source and window,
not by one fsynced record per attempt. Bounded: 4 loops for 12 s.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.attack.clients import rtsps_bad_credential_flood
from tests.support import free_port, read_log, start_server

pytestmark = [pytest.mark.peer, pytest.mark.slow]

FLOOD_S = 12.0
WINDOW_S = 2.0
LOOPS = 4


def test_reconnect_flood_costs_a_few_records_per_window(tmp_path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    (data / "config.toml").write_text(f"[throttle]\nfailure_log_window_s = {WINDOW_S}\n")
    rtsps = free_port()
    server = start_server(data, "--rtsps-port", str(rtsps))
    try:
        before = (data / "seclog" / "current.jsonl").stat().st_size
        attempts = asyncio.run(rtsps_bad_credential_flood(rtsps, FLOOD_S, LOOPS))
        time.sleep(WINDOW_S + 3)  # the last window closes and its count is written
        grown = (data / "seclog" / "current.jsonl").stat().st_size - before
        log = read_log(data)
    finally:
        server.kill()
    singles = [e for e in log if e["action"] == "auth.login" and e["result"] == "failure"]
    counted = [e for e in log if e["action"] == "auth.login_failures"]
    assert attempts >= 100, attempts
    accounted = len(singles) + sum(e["details"]["count"] for e in counted)
    assert accounted == attempts, (accounted, attempts)  # nothing dropped
    windows = FLOOD_S / WINDOW_S + 2
    assert len(singles) + len(counted) <= 4 * windows, (len(singles), len(counted))
    assert all(e["details"]["interface"] == "rtsps" for e in singles + counted)
    assert grown < 40 * 1024, grown  # kilobytes, not one fsynced record per attempt
