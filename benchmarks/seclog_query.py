"""Security log: query time on a large log, and the cost of anchoring each record.

Prints, each with a reference measured in the same run and the ratio:
- query time on a log of ``--records`` records (default 200,000, rotated into encrypted
  archive files of 4 MiB as on the device) through ``SecurityLog.query`` (archive index, newest
  first, stops at the limit) against the previous algorithm measured here (decrypt and parse
  every file, filter, then apply the limit), for: the newest page, a time window of one hour a
  week back, the oldest day, a filter by user (must read everything in both), a page by seq;
- appends per second with the rollback anchor against the same log without it (both fsync).

The log is built with fsync switched off and a synthetic clock (records 12 s apart, so 200,000
records span about 28 days); the queries and the append figures run with fsync on.

Run: .venv/bin/python benchmarks/seclog_query.py [--records 200000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from vigilcam.platform import seclog as seclog_module
from vigilcam.platform.anchor import Anchor
from vigilcam.platform.seclog import SecurityEvent, SecurityLog, matches

T0 = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
STEP = dt.timedelta(seconds=12)


def build(folder: Path, n: int, mac_key: bytes, archive_key: bytes) -> SecurityLog:
    """The same records, chain, rotation and archive index as ``record()`` makes, appended in
    bulk (one open file, fsync off) so 200,000 records take seconds, not many minutes."""
    clock = iter(T0 + i * STEP for i in range(10 * n))
    real_fsync, real_ts = os.fsync, seclog_module.utc_timestamp
    os.fsync = lambda fd: None
    seclog_module.utc_timestamp = lambda now=None: real_ts(next(clock))
    try:
        log = SecurityLog(folder, "dev-bench", mac_key, archive_key)
        log.open()
        fh = open(log.current_file, "a", encoding="utf-8")
        for i in range(n):
            if i % 5000 == 0:
                event = log._chain("user.role_changed", "ok", "admin", "192.0.2.10",
                                   {"target": f"user{i}", "new": "viewer"})
            else:
                event = log._chain("auth.login", "failure", f"guess{i % 97}",
                                   f"198.51.100.{i % 200}",
                                   {"interface": "rtsps", "reason": "bad credentials"})
            fh.write(event.to_json() + "\n")
            if fh.tell() >= log.rotate_bytes:
                fh.close()
                log._rotate_locked()  # the device's own rotation: seal, encrypt, index
                fh = open(log.current_file, "a", encoding="utf-8")
        fh.close()
        log._write_head(seq=log._last_seq, mac=log._last_mac)
    finally:
        os.fsync, seclog_module.utc_timestamp = real_fsync, real_ts
    assert log.verify().ok
    return log


def old_query(log: SecurityLog, *, since: str | None = None, until: str | None = None,
              action: str | None = None, user: str | None = None,
              before_seq: int | None = None, limit: int = 1000) -> list[SecurityEvent]:
    """The algorithm before the archive index: everything decrypted, then the limit."""
    out = []
    for event in log.records():
        if matches(event, since=since, until=until, action=action, user=user,
                   before_seq=before_seq):
            out.append(event)
    out.reverse()
    return out[:limit]


def timed(fn: Callable[[], list[SecurityEvent]], repeat: int) -> tuple[float, list[SecurityEvent]]:
    times, result = [], []
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def appends_per_second(logs: list[SecurityLog], n: int, rounds: int = 5) -> list[float]:
    """Median appends/s of each log, measured in interleaved rounds (a busy machine's noise
    falls on both alike)."""
    rates: list[list[float]] = [[] for _ in logs]
    for r in range(rounds):
        for k, log in enumerate(logs):
            t = time.perf_counter()
            for i in range(n // rounds):
                log.record("auth.login", result="failure", user=f"u{r}-{i}", source="198.51.100.1")
            rates[k].append((n // rounds) / (time.perf_counter() - t))
    return [statistics.median(r) for r in rates]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--appends", type=int, default=400)
    args = ap.parse_args()
    mac_key, archive_key = secrets.token_bytes(32), secrets.token_bytes(32)
    with tempfile.TemporaryDirectory(prefix="vigilcam-seclog-bench-") as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        log = build(root / "seclog", args.records, mac_key, archive_key)
        archives = len(list(log.archive_dir.glob("*.jsonl.enc")))
        print(f"built {args.records} records in {archives} archive files + current "
              f"({time.perf_counter() - t:.1f} s, fsync off)")

        def ts(delta: dt.timedelta) -> str:
            return seclog_module.utc_timestamp(T0 + delta)

        last = log._last_seq
        span = args.records * STEP
        week_back = span - dt.timedelta(days=7)
        cases: list[tuple[str, dict]] = [
            ("newest 100", {"limit": 100}),
            ("newest 1000 auth.", {"action": "auth.", "limit": 1000}),
            ("1 h window a week back", {"since": ts(week_back),
                                        "until": ts(week_back + dt.timedelta(hours=1))}),
            ("oldest day", {"until": ts(dt.timedelta(days=1)), "limit": 10_000}),
            ("page by seq (middle)", {"before_seq": last // 2, "limit": 100}),
            ("user filter (full scan)", {"user": "admin", "limit": 1000}),
        ]
        print(f"{'query':28} {'indexed ms':>11} {'full scan ms':>13} {'ratio':>7}  rows")
        for name, kw in cases:
            new_t, new_rows = timed(lambda kw=kw: log.query(**kw), args.repeat)
            old_t, old_rows = timed(lambda kw=kw: old_query(log, **kw), args.repeat)
            same = [e.seq for e in new_rows] == [e.seq for e in old_rows]
            print(f"{name:28} {new_t * 1000:11.1f} {old_t * 1000:13.1f} "
                  f"{old_t / new_t:6.1f}x  {len(new_rows)}{'' if same else '  RESULTS DIFFER'}")

        key = secrets.token_bytes(32)
        logs = []
        for name, anchor in (("a", Anchor(root / "keys" / "anchor.json", key)), ("b", None)):
            one = SecurityLog(root / name, "dev-bench", mac_key, archive_key, anchor=anchor)
            one.open()
            logs.append(one)
        anchored, plain = appends_per_second(logs, args.appends)
        print(f"{'appends/s with anchor':28} {anchored:11.0f} {plain:13.0f} "
              f"{anchored / plain:6.2f}x  (reference: same log without anchor, fsync on)")


if __name__ == "__main__":
    main()
