"""Retention by age and quota (oldest first, newest kept) and the storage-failure events."""

from __future__ import annotations

import errno
import uuid

import pytest

from vigilcam.recording.index import SegmentRecord
from vigilcam.recording.retention import (
    RetentionEnforcer,
    RetentionPolicy,
    WriteFailureMonitor,
    is_storage_error,
    plan_deletions,
)

T0 = 1_700_000_000.0
DAY = 86_400.0


def rec(i: int, size: int = 100, state: str = "complete", age_days: float = 0.0) -> SegmentRecord:
    start = T0 - age_days * DAY + i
    return SegmentRecord(uuid.uuid4(), "main", start, start + 4, size, "continuous", f"{i}", state)


def test_age_deletes_expired_only() -> None:
    recs = [rec(0, age_days=40), rec(1, age_days=31), rec(2, age_days=29), rec(3)]
    doomed = plan_deletions(recs, T0 + 10, RetentionPolicy(max_age_s=30 * DAY))
    assert doomed == recs[:2]


def test_quota_deletes_oldest_first_and_keeps_newest() -> None:
    recs = [rec(i, size=100) for i in range(10)]
    shuffled = recs[5:] + recs[:5]
    doomed = plan_deletions(shuffled, T0, RetentionPolicy(max_age_s=None, quota_bytes=650))
    assert doomed == recs[:4]  # 1000 -> 600 <= 650
    doomed = plan_deletions(recs, T0, RetentionPolicy(max_age_s=None, quota_bytes=0))
    assert doomed == recs[:9] and recs[9] not in doomed


def test_segment_being_written_counts_but_is_never_deleted() -> None:
    recs = [rec(0), rec(1), rec(2, state="writing", size=500)]
    doomed = plan_deletions(recs, T0, RetentionPolicy(max_age_s=None, quota_bytes=600))
    assert doomed == [recs[0]]


def test_min_free_space_deletes_oldest_until_enough_is_free() -> None:
    recs = [rec(i, size=1000) for i in range(5)]
    pol = RetentionPolicy(max_age_s=None, min_free_bytes=10_000)
    assert plan_deletions(recs, T0, pol, free_bytes=7_500) == recs[:3]
    assert plan_deletions(recs, T0, pol, free_bytes=50_000) == []


def test_policy_validation() -> None:
    with pytest.raises(ValueError):
        RetentionPolicy(max_age_s=0)
    with pytest.raises(ValueError):
        RetentionPolicy(quota_bytes=-1)


def test_enforcer_deletes_files_on_quota(store) -> None:
    recs = []
    for i in range(6):
        seg = store.open_segment("main", T0 + 4 * i, "continuous")
        seg.write(bytes([i]) * 5000)
        recs.append(seg.commit(T0 + 4 * i + 4))
    size = recs[0].size
    events = []
    enf = RetentionEnforcer(store, RetentionPolicy(max_age_s=None, quota_bytes=size * 2 + 10),
                            on_event=lambda *a: events.append(a), clock=lambda: T0 + 30)
    res = enf.run_once()
    assert res.deleted == 4 and res.freed_bytes == 4 * size
    assert [r.id for r in store.index.all()] == [recs[4].id, recs[5].id]
    assert all(not store.path_of(r).exists() for r in recs[:4])
    assert store.path_of(recs[5]).exists()
    assert events[0][0] == "recording.retention_deleted" and events[0][2]["segments"] == "4"
    assert enf.run_once().deleted == 0


def test_write_failure_monitor_reports_once_and_resumes() -> None:
    events = []
    mon = WriteFailureMonitor("main", lambda *a: events.append(a), retry_interval=5)
    assert mon.may_try(0)
    mon.failed(OSError(errno.ENOSPC, "No space left on device"), now=100)
    mon.failed(OSError(errno.ENOSPC, "No space left on device"), now=101)
    assert not mon.may_try(103) and mon.may_try(106.5)
    mon.failed(OSError(errno.EROFS, "Read-only file system"), now=107)
    assert [e[0] for e in events] == ["recording.write_failed"]
    assert events[0][1] == "failure" and events[0][2]["errno"] == "ENOSPC"
    mon.succeeded()
    mon.succeeded()
    assert [e[0] for e in events] == ["recording.write_failed", "recording.resumed"]
    assert events[1][2]["failed_attempts"] == "3"


def test_storage_errors_are_recognised() -> None:
    for code in (errno.ENOSPC, errno.EROFS, errno.EIO):
        assert is_storage_error(OSError(code, "x"))
    assert not is_storage_error(ValueError("x"))
