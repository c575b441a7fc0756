"""IoT-1005-1 5.1.2.2: growing delays, source lockout, hard cap of 100 per account."""

from __future__ import annotations

from vigilcam.auth.throttle import LoginThrottle, Reservation, source_key
from vigilcam.platform.config import ThrottleSettings


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def attack(throttle: LoginThrottle, clock: Clock, account: str, source: str, seconds: float,
           step: float = 0.05) -> int:
    """Hammer for ``seconds`` of simulated time; return how many passwords got checked."""
    checked = 0
    end = clock.now + seconds
    while clock.now < end:
        if throttle.check(account, source).allowed:
            throttle.failure(account, source)
            checked += 1
        clock.now += step
    return checked


def test_growing_delay_and_retry_after():
    clock = Clock()
    t = LoginThrottle(ThrottleSettings(), clock=clock)
    for _ in range(3):
        assert t.check("alice", "192.0.2.1").allowed
        t.failure("alice", "192.0.2.1")
    verdict = t.check("alice", "192.0.2.1")
    assert not verdict.allowed and verdict.retry_after > 0
    clock.now += verdict.retry_after + 0.01
    t.failure("alice", "192.0.2.1")
    second = t.check("alice", "192.0.2.1")
    assert second.retry_after > verdict.retry_after  # doubles


def test_checks_in_an_hour_are_bounded():
    clock = Clock()
    t = LoginThrottle(ThrottleSettings(), clock=clock)
    checked = attack(t, clock, "admin", "198.51.100.9", 3600)
    assert checked <= 20, checked


def test_source_lockout_over_many_accounts():
    clock = Clock()
    t = LoginThrottle(ThrottleSettings(), clock=clock)
    for i in range(10):
        t.failure(f"user{i}", "203.0.113.5")
    verdict = t.check("someone-else", "203.0.113.5")
    assert not verdict.allowed and verdict.reason == "source_locked"


def test_hard_cap_of_100_consecutive_failures_per_account():
    clock = Clock()
    t = LoginThrottle(ThrottleSettings(), clock=clock)
    total = 0
    for i in range(400):  # a botnet: many sources, one account
        src = f"10.{i // 250}.{i % 250}.1"
        for _ in range(2):
            if t.check("admin", src).allowed:
                t.failure("admin", src)
                total += 1
    assert total == 100
    assert t.check("admin", "10.9.9.9").reason == "account_capped"


def test_owner_known_source_is_not_locked_out():
    clock = Clock()
    known = {("admin", "192.0.2.50")}
    t = LoginThrottle(ThrottleSettings(), clock=clock,
                      is_known_source=lambda a, s: (a, s) in known)
    for i in range(300):
        src = f"10.0.{i // 250}.{i % 250}"
        if t.check("admin", src).allowed:
            t.failure("admin", src)
    assert not t.check("admin", "10.0.5.5").allowed
    assert t.check("admin", "192.0.2.50").allowed


def test_unknown_and_known_names_throttle_alike():
    clock = Clock()
    t = LoginThrottle(ThrottleSettings(), clock=clock)
    a = [t.failure("admin", "192.0.2.1") for _ in range(4)]
    b = [t.failure("nosuchuser", "192.0.2.2") for _ in range(4)]
    assert a == b


def test_ipv6_grouped_by_64():
    assert source_key("2001:db8:1:2::5") == source_key("2001:db8:1:2:ffff::1")
    assert source_key("2001:db8:1:2::5") != source_key("2001:db8:1:3::5")
    assert source_key("::ffff:192.0.2.1") == "192.0.2.1"


def test_success_resets_counters():
    clock = Clock()
    t = LoginThrottle(ThrottleSettings(), clock=clock)
    for _ in range(3):
        t.failure("bob", "192.0.2.9")
    t.success("bob", "192.0.2.9")
    assert t.check("bob", "192.0.2.9").allowed


def test_reservations_in_flight_count_against_the_limits():
    """500 attempts reserved before any is settled get the budget of attempts in a row."""
    clock = Clock()
    t = LoginThrottle(ThrottleSettings(), clock=clock)
    slots = [t.reserve("admin", "192.0.2.1") for _ in range(500)]
    granted = [s for s in slots if isinstance(s, Reservation)]
    assert len(granted) == ThrottleSettings().free_attempts
    botnet = [t.reserve("root", f"10.1.{i // 250}.{i % 250}") for i in range(500)]
    assert sum(isinstance(s, Reservation) for s in botnet) == 100  # NIST SP 800-63B cap


def test_success_keeps_other_accounts_failures_on_the_source():
    clock = Clock()
    t = LoginThrottle(ThrottleSettings(), clock=clock)
    guesses = 0
    for round_ in range(5):
        for i in range(9):
            slot = t.reserve(f"victim{round_}{i}", "203.0.113.8")
            if isinstance(slot, Reservation):
                t.settle(slot, "failed")
                guesses += 1
        own = t.reserve("mallory", "203.0.113.8")
        if isinstance(own, Reservation):
            t.settle(own, "ok")
    assert guesses == 10
    assert t.check("anyone", "203.0.113.8").reason == "source_locked"


def test_success_refunds_the_accounts_own_typos():
    clock = Clock()
    t = LoginThrottle(ThrottleSettings(), clock=clock)
    for _ in range(2):
        t.settle(t.reserve("bob", "192.0.2.9"), "failed")
    t.settle(t.reserve("bob", "192.0.2.9"), "ok")
    for i in range(9):  # the source's full budget is back for the household's other typos
        slot = t.reserve(f"other{i}", "192.0.2.9")
        assert isinstance(slot, Reservation), i
        t.settle(slot, "failed")


def test_void_attempt_is_refunded_whole():
    clock = Clock()
    t = LoginThrottle(ThrottleSettings(), clock=clock)
    for _ in range(2):
        t.settle(t.reserve("carol", "192.0.2.7"), "failed")
    slot = t.reserve("carol", "192.0.2.7")  # the third would start the delay
    assert isinstance(slot, Reservation) and "delay" in slot.crossed
    t.settle(slot, "void")
    assert t.check("carol", "192.0.2.7").allowed
