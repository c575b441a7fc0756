"""Retention of recordings and the storage-failure rule.

Owns which segments are deleted to respect the owner's retention period and the disk quota
(IoT-1005-1 5.7.1.1: keep personal data only as long as needed; oldest first, never the newest),
and how a full, read-only or failing disk is reported and survived (IoT-1005-1 5.6.1.1; TAICS
5.2.8.2 spirit: a storage failure is an event, never silent; the camera stays live and
recording resumes when space returns).

``plan_deletions`` and ``WriteFailureMonitor`` are pure; ``RetentionEnforcer`` is the thin IO.
"""

from __future__ import annotations

import errno
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from vigilcam.platform.events import Event
from vigilcam.recording.index import SegmentRecord
from vigilcam.recording.store import SegmentStore

EventSink = Callable[[Event, str, dict[str, str]], None]
"""``on_event(action, result, details)``: the app forwards it to the security log."""

STORAGE_ERRNOS = frozenset(
    {errno.ENOSPC, errno.EROFS, errno.EIO, errno.EDQUOT, errno.EFBIG, errno.EACCES, errno.EPERM}
)

DAY = 86_400.0


def is_storage_error(exc: BaseException) -> bool:
    """A failure of the disk (full, read-only, I/O), not a bug in the caller."""
    return isinstance(exc, OSError) and exc.errno in STORAGE_ERRNOS


@dataclass(frozen=True)
class RetentionPolicy:
    max_age_s: float | None = 30 * DAY
    """Delete segments that ended longer ago than this. None: no age limit."""
    quota_bytes: int | None = None
    """Maximum bytes of segments kept. None: no quota."""
    min_free_bytes: int = 0
    """Keep at least this much free space on the file system (deleting oldest first)."""

    def __post_init__(self) -> None:
        if self.max_age_s is not None and self.max_age_s <= 0:
            raise ValueError("retention max_age_s must be positive")
        if self.quota_bytes is not None and self.quota_bytes < 0:
            raise ValueError("retention quota_bytes must not be negative")
        if self.min_free_bytes < 0:
            raise ValueError("retention min_free_bytes must not be negative")


def plan_deletions(
    records: Sequence[SegmentRecord],
    now: float,
    policy: RetentionPolicy,
    free_bytes: int | None = None,
) -> list[SegmentRecord]:
    """Complete segments to delete, oldest first.

    Age applies to every segment; quota and free space never take the newest one.
    """
    done = sorted((r for r in records if r.state == "complete"), key=lambda r: (r.start, str(r.id)))
    if not done:
        return []
    doomed: list[SegmentRecord] = []
    keep: list[SegmentRecord] = []
    for rec in done:
        end = rec.end if rec.end is not None else rec.start
        if policy.max_age_s is not None and end < now - policy.max_age_s:
            doomed.append(rec)
        else:
            keep.append(rec)
    total = sum(r.size for r in keep) + sum(r.size for r in records if r.state == "writing")
    freed = sum(r.size for r in doomed)
    while len(keep) > 1:
        over_quota = policy.quota_bytes is not None and total > policy.quota_bytes
        short_free = (
            free_bytes is not None
            and policy.min_free_bytes > 0
            and free_bytes + freed < policy.min_free_bytes
        )
        if not (over_quota or short_free):
            break
        oldest = keep.pop(0)
        doomed.append(oldest)
        total -= oldest.size
        freed += oldest.size
    return doomed


@dataclass(frozen=True)
class RetentionResult:
    deleted: int
    freed_bytes: int


class RetentionEnforcer:
    """Applies a policy to a store. Call ``run_once`` periodically and on disk-full."""

    def __init__(
        self,
        store: SegmentStore,
        policy: RetentionPolicy,
        on_event: EventSink | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.policy = policy
        self._on_event = on_event
        self._clock = clock

    def free_bytes(self) -> int | None:
        try:
            return shutil.disk_usage(self.store.root).free
        except OSError:
            return None

    def run_once(self) -> RetentionResult:
        doomed = plan_deletions(
            self.store.index.all(), self._clock(), self.policy, self.free_bytes()
        )
        if not doomed:
            return RetentionResult(0, 0)
        freed = self.store.delete(doomed)
        if self._on_event is not None:
            self._on_event(
                Event.RECORDING_RETENTION_DELETED,
                "success",
                {
                    "segments": str(len(doomed)),
                    "bytes": str(freed),
                    "oldest_start": f"{doomed[0].start:.3f}",
                    "newest_start": f"{doomed[-1].start:.3f}",
                },
            )
        return RetentionResult(len(doomed), freed)


class WriteFailureMonitor:
    """One ``recording.write_failed`` per outage, one ``recording.resumed`` when it ends.

    Pure state machine: the recorder reports outcomes; the monitor decides what to announce
    and when to try again (``retry_interval`` seconds after a failure).
    """

    def __init__(
        self, stream: str, on_event: EventSink | None, retry_interval: float = 5.0
    ) -> None:
        self.stream = stream
        self._on_event = on_event
        self.retry_interval = retry_interval
        self.failing = False
        self.failures = 0
        self.last_error: str | None = None
        self._next_try = 0.0

    def may_try(self, now: float) -> bool:
        return not self.failing or now >= self._next_try

    def failed(self, exc: OSError, now: float) -> None:
        code = errno.errorcode.get(exc.errno or 0, str(exc.errno))
        self.last_error = f"{code}: {exc.strerror or exc}"
        self.failures += 1
        self._next_try = now + self.retry_interval
        if not self.failing:
            self.failing = True
            if self._on_event is not None:
                self._on_event(
                    Event.RECORDING_WRITE_FAILED,
                    "failure",
                    {"stream": self.stream, "errno": code, "error": str(exc.strerror or exc)},
                )

    def succeeded(self) -> None:
        if self.failing:
            self.failing = False
            if self._on_event is not None:
                self._on_event(
                    Event.RECORDING_RESUMED,
                    "success",
                    {"stream": self.stream, "failed_attempts": str(self.failures)},
                )
            self.failures = 0
