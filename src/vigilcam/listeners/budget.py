"""How many connections one source may hold open on a listener: the per-source budget.

Owns the admission decision for every listener (HTTPS/WSS, the plain redirect listener,
RTSPS), pure (no sockets, no clock), so tests drive it directly. Serves IoT-1005-1 5.6.1.1
(the device stays available to its owner while a few addresses open connections and never
finish them) and 5.5.2.1 (resources spent on untrusted peers are bounded).

Invariants (held by :meth:`ConnectionBudget.admit` and :meth:`Ticket.release`):
- A source is an IPv4 address or an IPv6 /64, grouped by ``auth.throttle.source_key`` exactly
  as the login throttle groups them (one host usually owns a whole /64; an IPv4-mapped IPv6
  peer is its IPv4 address).
- At every moment ``open(source) <= per_source`` and ``total <= max_total``: ``admit`` checks
  before it counts, and a refused connection is never counted.
- ``per_source`` is well below ``max_total`` (the settings allow at most a quarter), so
  filling a listener takes at least four distinct sources, and every other source keeps the
  rest. The listener asks at accept, before any TLS work, and gives the ticket back when the
  connection ends, whatever ended it; releasing twice is harmless.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vigilcam.auth.throttle import source_key

__all__ = ["ConnectionBudget", "Ticket"]


@dataclass(eq=False)
class Ticket:
    """One admitted connection; :meth:`release` gives its place back (idempotent)."""

    source: str
    _budget: ConnectionBudget = field(repr=False)
    released: bool = False

    def release(self) -> None:
        if not self.released:
            self.released = True
            self._budget._give_back(self.source)


class ConnectionBudget:
    """Counts open connections per source and in total; refuses beyond either cap."""

    def __init__(self, per_source: int, max_total: int) -> None:
        if per_source < 1 or max_total < 1:
            raise ValueError("connection budgets must be at least 1")
        if per_source > max_total:
            raise ValueError(f"per-source budget {per_source} exceeds the total {max_total}")
        self.per_source = per_source
        self.max_total = max_total
        self.total = 0
        self._open: dict[str, int] = {}
        self.refused = {"source": 0, "total": 0}

    def admit(self, address: str) -> Ticket | None:
        """A ticket for a new connection from ``address``, or None when over budget."""
        source = source_key(address)
        held = self._open.get(source, 0)
        if held >= self.per_source:
            self.refused["source"] += 1
            return None
        if self.total >= self.max_total:
            self.refused["total"] += 1
            return None
        self._open[source] = held + 1
        self.total += 1
        return Ticket(source, self)

    def open_from(self, address: str) -> int:
        return self._open.get(source_key(address), 0)

    def _give_back(self, source: str) -> None:
        held = self._open.get(source, 0) - 1
        if held > 0:
            self._open[source] = held
        else:
            self._open.pop(source, None)
        self.total = max(0, self.total - 1)
