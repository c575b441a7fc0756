"""Scheduled update checks (IoT-1005-1 5.3.1.3): periodic, jittered, off the event loop, stoppable."""

from __future__ import annotations

import asyncio
import random
import threading

import pytest

from vigilcam.update.scheduler import UpdateScheduler


def test_delays_are_jittered_within_bounds():
    s = UpdateScheduler(lambda: None, interval=100.0, jitter=0.2, first_delay=10.0,
                        rng=random.Random(7))
    delays = [s.next_delay() for _ in range(200)]
    assert all(80.0 <= d <= 120.0 for d in delays)
    assert len({round(d, 3) for d in delays}) > 150  # really spread, not a constant
    assert all(8.0 <= s.next_delay(first=True) <= 12.0 for _ in range(50))
    flat = UpdateScheduler(lambda: None, interval=60.0, jitter=0.0)
    assert flat.next_delay() == 60.0


@pytest.mark.parametrize("kw", [{"interval": 0}, {"jitter": 1.0}, {"first_delay": -1}])
def test_bad_settings_refused(kw):
    with pytest.raises(ValueError):
        UpdateScheduler(lambda: None, **kw)


async def test_runs_periodically_in_a_worker_thread_and_stops():
    loop_thread = threading.get_ident()
    threads: list[int] = []
    calls = 0

    def check() -> None:
        nonlocal calls
        calls += 1
        threads.append(threading.get_ident())
        if calls == 2:
            raise RuntimeError("repository down")  # the schedule must go on

    s = UpdateScheduler(check, interval=0.05, jitter=0.1, first_delay=0.01)
    s.start()
    s.start()  # idempotent: still one schedule
    for _ in range(200):
        if s.runs >= 4:
            break
        await asyncio.sleep(0.01)
    assert s.runs >= 4 and s.failures == 1 and s.running
    assert loop_thread not in threads
    await s.stop()
    assert not s.running
    after = s.runs
    await asyncio.sleep(0.15)
    assert s.runs == after  # stopped means stopped


async def test_service_scheduler_checks_and_records(tmp_path):
    from vigilcam.update.service import UpdateService

    events = []
    service = UpdateService(tmp_path / "data", lambda action, **kw: events.append((action, kw)))
    sched = service.scheduler(first_delay=0.0)
    assert sched.interval == 24 * 3600
    sched.start()
    for _ in range(200):
        if events:
            break
        await asyncio.sleep(0.01)
    await sched.stop()
    # unconfigured: the scheduled check says so in the log instead of failing silently
    action, details = events[0]
    assert action == "update.checked" and details["result"] == "failure"
    assert details["kind"] == "config" and details["source"] == "scheduler"
