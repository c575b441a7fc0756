"""Failed and throttled logins in the security log: the first few in full, a flood as a count.

Owns how failed login attempts become security-log records. Serves TAICS 5.2.8.1 (every
failed attempt is accounted for, with user, source, interface and time) and 5.2.8.2 / IoT-1005-1
5.6.1.1 (a client that reconnects in a loop must not fill the disk: an hour of flooding costs
kilobytes, not gigabytes).

Pure logic with an injected clock and record function; the login procedure
(``vigilcam.auth.service``) feeds it and the runtime calls :meth:`FailureLog.flush_due`
periodically.

Invariants:
- Per (interface, source) and window of ``window_s`` seconds, the first ``individual`` failures
  are recorded one by one as ``auth.login`` (result failure) — enough for the alert rules'
  burst trigger to fire at once. Every further failure in the window is counted, and when the
  window closes ONE ``auth.login_failures`` record carries the count, the users tried, how many
  were throttled and the first/last time. Nothing is dropped: each failure is either its own
  record or inside a count.
- Sources are keyed as the throttle keys them (IPv6 by /64). At most ``max_sources`` windows are
  open; opening one more closes (records) the oldest first, so memory stays bounded.
"""

from __future__ import annotations

import time
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from vigilcam.auth.throttle import source_key
from vigilcam.platform.events import Event, Record
from vigilcam.platform.seclog import utc_timestamp

SUMMARY_ACTION = Event.AUTH_LOGIN_FAILURES
_TOP_USERS = 5


@dataclass
class _Window:
    ends: float
    individual: int = 0
    count: int = 0
    throttled: int = 0
    users: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    source: str = ""
    first: str = ""
    last: str = ""


class FailureLog:
    def __init__(
        self,
        record: Record,
        *,
        window_s: float = 60.0,
        individual: int = 3,
        max_sources: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._record = record
        self.window_s = window_s
        self.individual = individual
        self.max_sources = max_sources
        self._clock = clock
        self._windows: OrderedDict[tuple[str, str], _Window] = OrderedDict()

    def failed(self, *, user: str, source: str, interface: str, throttled: bool = False,
               reason: str = "", **details: Any) -> None:
        """One failed (or throttled) attempt."""
        now = self._clock()
        self.flush_due(now)
        key = (interface, source_key(source))
        window = self._windows.get(key)
        if window is None:
            while len(self._windows) >= self.max_sources:
                self._close(*self._windows.popitem(last=False))
            window = self._windows[key] = _Window(now + self.window_s, source=source)
        if window.individual < self.individual:
            window.individual += 1
            extra: dict[str, Any] = dict(details)
            if throttled:
                extra["throttled"] = True
            if reason:
                extra["reason"] = reason[:120]
            self._record(Event.AUTH_LOGIN, result="failure", user=user, source=source,
                         interface=interface, **extra)
            return
        stamp = utc_timestamp()
        window.count += 1
        window.throttled += int(throttled)
        window.users[user] += 1
        if reason:
            window.reasons[reason[:60]] += 1
        window.first = window.first or stamp
        window.last = stamp

    def flush_due(self, now: float | None = None) -> None:
        """Record the summaries of windows that have closed (oldest first)."""
        now = self._clock() if now is None else now
        while self._windows:
            key, window = next(iter(self._windows.items()))
            if window.ends > now:
                break
            del self._windows[key]
            self._close(key, window)

    def flush_all(self) -> None:
        """At shutdown: every open window's count goes to the log."""
        while self._windows:
            self._close(*self._windows.popitem(last=False))

    def open_windows(self) -> int:
        return len(self._windows)

    def _close(self, key: tuple[str, str], window: _Window) -> None:
        if not window.count:
            return
        top_user = window.users.most_common(1)[0][0]
        self._record(
            SUMMARY_ACTION, result="failure", user=top_user, source=window.source,
            interface=key[0], count=window.count, throttled=window.throttled,
            users=dict(window.users.most_common(_TOP_USERS)), distinct_users=len(window.users),
            reasons=dict(window.reasons.most_common(_TOP_USERS)),
            first=window.first, last=window.last,
        )
