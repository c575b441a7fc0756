"""Login throttling: growing delays, temporary lockouts, a hard cap per account.

Serves IoT-1005-1 5.1.2.2 (login attempts limited in rate and count) following NIST SP 800-63B
(no more than 100 consecutive failed attempts on one account). Pure logic with an injected
clock; the web login, the RTSPS server and the CLI all ask the same instance.

Policy (written out for users in docs/login-throttling.md):
- Per account and source: the first ``free_attempts`` failures are free, then each failure
  doubles the wait (``base_delay_s`` .. ``max_delay_s``). An attempt before the wait is over is
  answered "throttled" without checking the password, so guesses cost time, not CPU.
- Per source, over all accounts: ``source_lockout_after`` failures lock the source out for
  ``source_lockout_s``, doubling at each further lockout (spraying one password over many names).
- Per account, from sources it never logged in from: after ``account_hard_cap`` consecutive
  failures the account refuses those sources for ``account_cap_lockout_s`` (re-armed by each
  further failure). Sources the owner logged in from before keep their own, separate budget,
  so an attacker cannot lock the owner out from the owner's usual places.
- Unknown and known user names are treated alike (no user enumeration).
- IPv6 sources are grouped by /64, since one host usually owns a whole /64.

Invariants (attackers are parallel):
- An attempt is counted when it is *reserved*, before its password is checked, not after:
  :meth:`LoginThrottle.reserve` decides and counts in one step with no await in between, so
  attempts in flight count against every limit and no number of concurrent requests gets more
  password checks than the same requests sent one after another.
- A success refunds only what the same account built up from that source (its own typos and
  the reservation itself). Failures other accounts built up on the source stay, so an attacker
  who owns one account cannot reset the source's budget by logging in between guesses.
- An attempt that turned out not to be a guess (a stale Digest nonce) is refunded whole.
"""

from __future__ import annotations

import ipaddress
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from vigilcam.platform.config import ThrottleSettings

MAX_TRACKED = 50_000


def source_key(address: str) -> str:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


@dataclass
class _Counter:
    failures: int = 0
    blocked_until: float = 0.0
    lockouts: int = 0


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: float = 0.0
    reason: str = ""  # "delay" | "source_locked" | "account_capped"


@dataclass(frozen=True)
class _Undo:
    """(blocked_until, lockouts) of each counter before a reservation, None if it was new."""

    pair: tuple[float, int] | None
    source: tuple[float, int] | None
    account: tuple[float, int] | None


@dataclass(frozen=True)
class Reservation:
    """One attempt, already counted as a failure, whose password may now be checked."""

    pair_key: str
    src: str
    acct: str
    known: bool
    crossed: tuple[str, ...]  # thresholds this attempt crossed ("delay", "source_locked", ...)
    undo: _Undo


class _Lru(OrderedDict[str, _Counter]):
    def get_counter(self, key: str) -> _Counter:
        counter = self.get(key)
        if counter is None:
            counter = self[key] = _Counter()
            if len(self) > MAX_TRACKED:
                self.popitem(last=False)
        else:
            self.move_to_end(key)
        return counter


class LoginThrottle:
    def __init__(
        self,
        settings: ThrottleSettings,
        *,
        is_known_source: Callable[[str, str], bool] = lambda account, source: False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self._is_known = is_known_source
        self._pairs = _Lru()
        self._sources = _Lru()
        self._accounts = _Lru()

    def _keys(self, account: str, source: str) -> tuple[str, str, str, bool]:
        account = account.casefold()
        src = source_key(source)
        return f"{account}\x00{src}", src, account, self._is_known(account, source)

    def check(self, account: str, source: str) -> Verdict:
        """May this attempt have its password checked now? (Asks only; counts nothing.)"""
        pair_key, src, acct, known = self._keys(account, source)
        return self._verdict(pair_key, src, acct, known, self.clock())

    def _verdict(self, pair_key: str, src: str, acct: str, known: bool, now: float) -> Verdict:
        checks = [(self._sources.get(src), "source_locked"), (self._pairs.get(pair_key), "delay")]
        if not known:
            checks.append((self._accounts.get(acct), "account_capped"))
        for counter, reason in checks:
            if counter is not None and counter.blocked_until > now:
                return Verdict(False, counter.blocked_until - now, reason)
        return Verdict(True)

    def reserve(self, account: str, source: str) -> Reservation | Verdict:
        """Decide and count one attempt atomically: a :class:`Reservation` (check the password,
        then :meth:`settle` it) or the refusing :class:`Verdict` (check nothing)."""
        pair_key, src, acct, known = self._keys(account, source)
        now = self.clock()
        verdict = self._verdict(pair_key, src, acct, known, now)
        if not verdict.allowed:
            return verdict
        undo = _Undo(*(
            (c.blocked_until, c.lockouts) if c is not None else None
            for c in (self._pairs.get(pair_key), self._sources.get(src), self._accounts.get(acct))
        ))
        crossed = self._count_failure(pair_key, src, acct, known, now)
        return Reservation(pair_key, src, acct, known, tuple(crossed), undo)

    def settle(self, reservation: Reservation, outcome: str) -> None:
        """``outcome``: "ok" (refund the account's own failures on this source), "failed"
        (the reservation stands as the failure it was counted as) or "void" (not a guess:
        refund the reservation whole)."""
        r = reservation
        if outcome == "failed":
            return
        if outcome == "ok":
            pair = self._pairs.pop(r.pair_key, None)
            own = pair.failures if pair is not None else 1
            per_source = self._sources.get(r.src)
            if per_source is not None:
                per_source.failures = max(0, per_source.failures - own)
                if "source_locked" in r.crossed:
                    self._unlock(per_source, r.undo.source)
            self._accounts.pop(r.acct, None)
            return
        for key, table, before, lock in (
            (r.pair_key, self._pairs, r.undo.pair, "delay"),
            (r.src, self._sources, r.undo.source, "source_locked"),
            (r.acct, self._accounts, r.undo.account, "account_capped"),
        ):
            counter = table.get(key)
            if counter is None or (table is self._accounts and r.known):
                continue
            counter.failures = max(0, counter.failures - 1)
            if lock in r.crossed:
                self._unlock(counter, before)

    @staticmethod
    def _unlock(counter: _Counter, before: tuple[float, int] | None) -> None:
        """Take back the lock a refunded reservation set."""
        counter.blocked_until = before[0] if before is not None else 0.0
        if counter.lockouts:
            counter.lockouts -= 1

    def failure(self, account: str, source: str) -> list[str]:
        """Count a failed check; return the thresholds this failure crossed (for the log)."""
        pair_key, src, acct, known = self._keys(account, source)
        return self._count_failure(pair_key, src, acct, known, self.clock())

    def _count_failure(self, pair_key: str, src: str, acct: str, known: bool,
                       now: float) -> list[str]:
        s, crossed = self.settings, []
        pair = self._pairs.get_counter(pair_key)
        pair.failures += 1
        if pair.failures >= s.free_attempts:
            exponent = min(pair.failures - s.free_attempts, 30)
            pair.blocked_until = now + min(s.base_delay_s * 2**exponent, s.max_delay_s)
            crossed.append("delay")
        per_source = self._sources.get_counter(src)
        per_source.failures += 1
        # The first lockout after source_lockout_after failures, each further one after half as
        # many more (the count is never reset, so a refund is a plain decrement).
        step = max(1, s.source_lockout_after // 2)
        if per_source.failures >= s.source_lockout_after + per_source.lockouts * step:
            per_source.lockouts += 1
            lock = min(s.source_lockout_s * 2 ** (per_source.lockouts - 1), 30 * 86400)
            per_source.blocked_until = now + lock
            crossed.append("source_locked")
        if not known:
            per_account = self._accounts.get_counter(acct)
            per_account.failures += 1
            if per_account.failures >= s.account_hard_cap:
                per_account.blocked_until = now + s.account_cap_lockout_s
                crossed.append("account_capped")
        return crossed

    def success(self, account: str, source: str) -> None:
        """A success checked outside :meth:`reserve`: refund the account's own failures."""
        pair_key, src, acct, known = self._keys(account, source)
        self.settle(Reservation(pair_key, src, acct, known, (), _Undo(None, None, None)), "ok")

    def reset_account(self, account: str) -> None:
        """An admin unlock (password reset) clears the account's cap."""
        self._accounts.pop(account.casefold(), None)
