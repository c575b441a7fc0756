"""Periodic update checks, jittered, started and stopped by the runtime that owns them.

Owns the schedule of IoT-1005-1 5.3.1.3 ("periodically checks for security updates"). The
interval is configurable; each wait is the interval +/- a jitter fraction so a fleet does not
hit the repository at the same second. The check itself is blocking IO (TUF over HTTPS) and
runs in a worker thread, never on the event loop. A failing check is recorded by the check
itself (update.checked with result failure / update.refused) and the schedule goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable

log = logging.getLogger(__name__)


class UpdateScheduler:
    def __init__(
        self,
        check: Callable[[], object],
        *,
        interval: float = 24 * 3600.0,
        jitter: float = 0.1,
        first_delay: float = 300.0,
        rng: random.Random | None = None,
    ) -> None:
        if interval <= 0 or not 0 <= jitter < 1 or first_delay < 0:
            raise ValueError("interval must be > 0, jitter in [0, 1), first_delay >= 0")
        self.check = check
        self.interval = interval
        self.jitter = jitter
        self.first_delay = first_delay
        self.rng = rng or random.Random()
        self.runs = 0
        self.failures = 0
        self._task: asyncio.Task[None] | None = None

    def next_delay(self, *, first: bool = False) -> float:
        base = self.first_delay if first else self.interval
        return base * (1 + self.rng.uniform(-self.jitter, self.jitter))

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start the schedule on the running event loop (idempotent)."""
        if not self.running:
            self._task = asyncio.get_running_loop().create_task(self._loop(),
                                                                name="update-scheduler")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _loop(self) -> None:
        delay = self.next_delay(first=True)
        while True:
            await asyncio.sleep(delay)
            try:
                await asyncio.to_thread(self.check)
            except Exception:  # noqa: BLE001 - the check recorded it; the schedule goes on
                self.failures += 1
                log.warning("scheduled update check failed", exc_info=True)
            self.runs += 1
            delay = self.next_delay()
