"""Pull-point subscriptions: bounded, expiring queues of ONVIF notifications per subscriber.

Owns the life of an ONVIF events subscription (ONVIF Core 9.3 / WS-BaseNotification).
Serves IoT-1005-1 5.6.1.1 (bounded resources: subscriptions per user, messages per queue and
PullMessages wait are all capped; an expired subscription is dropped) and TAICS 5.1.2.1 (tamper
events reach subscribers).

Invariants:
- Security events may be recorded on any thread (the analytics worker records tamper events):
  :meth:`EventHub.offer` only hands them to the event loop with ``call_soon_threadsafe``; all
  state below is touched on the loop alone.
- A subscription belongs to the user who made it; only that user may pull, renew or end it.
- A queue keeps at most ``QUEUE_MAX`` messages; when full the oldest is dropped (a property's
  newer value supersedes it) and the drop is counted.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from .topics import EVENTS, TAMPER, TAMPER_KINDS, TOPICS, Notification, changes_for

QUEUE_MAX = 256
MAX_TERMINATION_S = 3600.0
DEFAULT_TERMINATION_S = 600.0
MIN_TERMINATION_S = 10.0
MAX_PULL_WAIT_S = 60.0
MESSAGE_LIMIT_MAX = 1024


class SubscriptionError(Exception):
    """Refused subscription operation; ``kind`` is ``limit``, ``unknown`` or ``forbidden``."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Subscription:
    sub_id: str
    owner: str
    expires: float  # wall clock (time.time())
    queue: deque[Notification] = field(default_factory=deque)
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    dropped: int = 0

    def push(self, note: Notification) -> None:
        if len(self.queue) >= QUEUE_MAX:
            self.queue.popleft()
            self.dropped += 1
        self.queue.append(note)
        self.wakeup.set()

    def take(self, limit: int) -> list[Notification]:
        out: list[Notification] = []
        while self.queue and len(out) < limit:
            out.append(self.queue.popleft())
        if not self.queue:
            self.wakeup.clear()
        return out


class EventHub:
    """The current value of every topic and the subscriptions that follow them."""

    def __init__(self, per_user: int, clock: Callable[[], float] = time.time) -> None:
        self.per_user = per_user
        self.clock = clock
        self.state: dict[str, bool] = {t.name: False for t in TOPICS}
        self.subs: dict[str, Subscription] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        self.latest_change: float = 0.0

    # -- intake (any thread) ---------------------------------------------------------------
    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    def offer(self, action: str, details: dict[str, object]) -> None:
        """Called by the security log subscriber, on whatever thread recorded the event."""
        if action not in EVENTS:
            return
        loop = self.loop
        if loop is None or loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(self.apply, action, dict(details))
        except RuntimeError:  # the loop closed in between: the device is stopping
            return

    def preset_tamper(self, kind: str | None) -> None:
        """Start from the detector's current state (a tamper raised before ONVIF started)."""
        if kind in TAMPER_KINDS:
            self.state[TAMPER_KINDS[kind].name] = True
            self.state[TAMPER.name] = True

    # -- on the loop ----------------------------------------------------------------------
    def apply(self, action: str, details: dict[str, object]) -> None:
        changed = changes_for(action, details, self.state)
        if not changed:
            return
        now = utcnow()
        self.latest_change = time.monotonic()
        by_name = {t.name: t for t in TOPICS}
        for name, value in changed.items():
            self.state[name] = value
            note = Notification(by_name[name], value, "Changed", now)
            for sub in list(self.subs.values()):
                sub.push(note)

    def _initialized(self) -> list[Notification]:
        now = utcnow()
        return [Notification(t, self.state[t.name], "Initialized", now) for t in TOPICS]

    def _expire(self) -> None:
        now = self.clock()
        for sub_id in [s for s, sub in self.subs.items() if sub.expires <= now]:
            del self.subs[sub_id]

    def create(self, owner: str, termination_s: float) -> Subscription:
        self._expire()
        if sum(1 for s in self.subs.values() if s.owner == owner) >= self.per_user:
            raise SubscriptionError("limit", "too many subscriptions for this user")
        sub = Subscription(secrets.token_urlsafe(18), owner, self.clock() + termination_s)
        for note in self._initialized():
            sub.push(note)
        self.subs[sub.sub_id] = sub
        return sub

    def get(self, sub_id: str, owner: str) -> Subscription:
        self._expire()
        sub = self.subs.get(sub_id)
        if sub is None:
            raise SubscriptionError("unknown", "no such subscription (expired or ended)")
        if sub.owner != owner:
            raise SubscriptionError("forbidden", "the subscription belongs to another user")
        return sub

    def synchronize(self, sub: Subscription) -> None:
        for note in self._initialized():
            sub.push(note)

    def renew(self, sub: Subscription, termination_s: float) -> None:
        sub.expires = self.clock() + termination_s

    def end(self, sub: Subscription) -> None:
        self.subs.pop(sub.sub_id, None)
        sub.wakeup.set()

    async def pull(self, sub: Subscription, timeout_s: float, limit: int) -> list[Notification]:
        """Messages now, or wait until one arrives or ``timeout_s`` passes."""
        limit = max(1, min(limit, MESSAGE_LIMIT_MAX))
        if not sub.queue:
            try:
                await asyncio.wait_for(sub.wakeup.wait(), min(timeout_s, MAX_PULL_WAIT_S))
            except TimeoutError:
                pass
        return sub.take(limit)

    def close(self) -> None:
        for sub in list(self.subs.values()):
            self.end(sub)


def termination_seconds(value: str | None, now: datetime, default: float) -> float:
    """A wsnt termination time (xs:duration or absolute xs:dateTime) as seconds from now,
    clamped to ``[MIN_TERMINATION_S, MAX_TERMINATION_S]``; ValueError when malformed."""
    from .durations import parse_duration

    if value is None or not value.strip():
        seconds = default
    else:
        text = value.strip()
        if text.startswith(("P", "-P")):
            seconds = parse_duration(text).total_seconds()
        else:
            iso = text[:-1] + "+00:00" if text.endswith("Z") else text
            when = datetime.fromisoformat(iso)
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            seconds = (when - now).total_seconds()
    return max(MIN_TERMINATION_S, min(seconds, MAX_TERMINATION_S))


__all__ = ["EventHub", "Subscription", "SubscriptionError", "termination_seconds"]
