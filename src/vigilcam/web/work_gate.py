"""How many heavy requests (recording exports) may run at once, in all and per user.

Owns the admission of requests whose cost is memory or disk time rather than a quick answer:
an export builds a whole MP4 (up to 1 GiB) in an anonymous in-memory file and streams it.
Serves IoT-1005-1 5.6.1.1 (resilience: no number of parallel export requests can exhaust the
device's memory) and 5.1.2.1 (one user's exports cannot starve the others).

Invariants:
- At most ``total`` tickets are out at once and at most ``per_user`` for one user; a request
  beyond either is refused at once (the edge answers 429 with Retry-After), never queued.
- A ticket is given back exactly once, however often release is called (stream done, client
  gone, error), so a refused or aborted export never leaks a slot.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable


class WorkGate:
    def __init__(self, total: int = 2, per_user: int = 1) -> None:
        self.total = total
        self.per_user = per_user
        self._users: Counter[str] = Counter()

    @property
    def in_use(self) -> int:
        return sum(self._users.values())

    def enter(self, user: str) -> Callable[[], None] | None:
        """A release function for one ticket, or None when the gate is full."""
        if self.in_use >= self.total or self._users[user] >= self.per_user:
            return None
        self._users[user] += 1
        released = False

        def release() -> None:
            nonlocal released
            if released:
                return
            released = True
            self._users[user] -= 1
            if self._users[user] <= 0:
                del self._users[user]

        return release
