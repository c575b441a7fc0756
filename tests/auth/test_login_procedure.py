"""The one login procedure (IoT-1005-1 5.1.2.2, TAICS 5.2.8.1) driven in-process.

Concurrency is real here: hundreds of asyncio tasks run the procedure at once against a real
Argon2id hasher, and the hasher's own counter says how many passwords were checked.
"""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher as Argon2

from vigilcam.auth.failure_log import SUMMARY_ACTION, FailureLog
from vigilcam.auth.service import DENIED, OK, THROTTLED, VOID


async def test_500_concurrent_checks_cost_three_argon2_verifications(device) -> None:
    auth = device.auth
    before = device.hasher.checks_performed
    results = await asyncio.gather(*(
        auth.check_password("admin", f"guess-{i}", "192.0.2.44", "web") for i in range(500)))
    statuses = [status for status, _, _ in results]
    assert device.hasher.checks_performed - before == 3
    assert statuses.count(DENIED) == 3 and statuses.count(THROTTLED) == 497


async def test_cancelled_check_still_counts(device) -> None:
    auth = device.auth
    task = asyncio.ensure_future(auth.check_password("admin", "x-guess", "192.0.2.45", "web"))
    await asyncio.sleep(0)
    task.cancel()
    for _ in range(3):
        await auth.check_password("admin", "y-guess", "192.0.2.45", "web")
    status, _, _ = await auth.check_password("admin", "z-guess", "192.0.2.45", "web")
    assert status == THROTTLED


def test_a_verify_that_voids_counts_nothing(device) -> None:
    for _ in range(10):
        outcome = device.auth.authenticate_now("admin", "192.0.2.46", "rtsps", lambda u: VOID)
        assert outcome.status == VOID
    assert device.throttle.check("admin", "192.0.2.46").allowed


async def test_password_under_old_argon2_parameters_is_rehashed(provisioned, device) -> None:
    _, secret = provisioned
    weak = Argon2(time_cost=1, memory_cost=8192, parallelism=1).hash(secret)
    device.accounts.upgrade_hash("admin", device.accounts.stored_hash("admin"), weak)
    status, user, _ = await device.auth.check_password("admin", secret, "192.0.2.47", "web")
    assert status == OK and user is not None
    stored = device.accounts.stored_hash("admin")
    assert stored != weak and not device.hasher.needs_rehash(stored)
    status, _, _ = await device.auth.check_password("admin", secret, "192.0.2.47", "web")
    assert status == OK


def test_flood_of_failures_becomes_counted_records() -> None:
    records: list[tuple[str, dict]] = []
    now = [0.0]
    log = FailureLog(lambda action, **kw: records.append((action, kw)), window_s=60,
                     clock=lambda: now[0])
    for i in range(5000):
        now[0] = i * 0.05  # 20 per second for 250 s
        log.failed(user="admin" if i % 2 else "root", source="198.51.100.3", interface="rtsps",
                   throttled=i > 2)
    log.flush_all()
    singles = [kw for action, kw in records if action == "auth.login"]
    summaries = [kw for action, kw in records if action == SUMMARY_ACTION]
    assert len(singles) == 3 * 5 and len(summaries) == 5  # 3 + 1 record per 60 s window
    assert len(singles) + sum(s["count"] for s in summaries) == 5000  # nothing dropped
    first = summaries[0]
    assert first["distinct_users"] == 2 and sum(first["users"].values()) == first["count"]
    assert first["throttled"] == first["count"]


def test_failure_windows_are_bounded() -> None:
    records: list[str] = []
    log = FailureLog(lambda action, **kw: records.append(action), max_sources=100,
                     clock=lambda: 0.0)
    for i in range(1000):
        for _ in range(5):
            log.failed(user="u", source=f"10.9.{i // 250}.{i % 250}", interface="web")
    assert log.open_windows() == 100
    log.flush_all()
    assert records.count("auth.login") == 3000 and records.count(SUMMARY_ACTION) == 1000
