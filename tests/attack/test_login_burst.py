"""Concurrent password guessing against a running camera: no burst gets more checks than a queue.

IoT-1005-1 5.1.2.2 (NIST SP 800-63B: at most 100 failed attempts per account) under parallel
attackers: hundreds of TLS connections at once from one address and from many loopback
addresses (127.0.0.0/8 is all loopback). A checked guess is a 401; a refused one (429/503 or a
closed connection) was never checked. Bounded: each burst is a fixed number of requests with
a time limit.
"""

from __future__ import annotations

import asyncio
import math
import time

import pytest

from tests.attack.clients import insecure_tls, post_login
from tests.support import STRONG, Api

pytestmark = [pytest.mark.peer, pytest.mark.slow]

BURST = 500
TIME_LIMIT_S = 90


def owner_ready(server) -> None:
    """The owner replaces the setup secret from their usual place, 127.0.0.5."""
    with server.client(local_address="127.0.0.5") as c:
        api = Api(c)
        r = api.login("admin", server.setup_secret)
        assert r.status_code == 200, r.text
        r = api.send("POST", "/api/v1/session/password",
                     {"current_password": server.setup_secret, "new_password": STRONG})
        assert r.status_code == 200, r.text


def owner_logs_in(server, source: str) -> int:
    with server.client(local_address=source) as c:
        return c.post("/api/v1/session", json={"username": "admin", "password": STRONG}
                      ).status_code


async def _burst_one_source(port: int) -> tuple[list[int], int]:
    ctx = insecure_tls()
    answered = asyncio.Event()
    done = 0

    async def guess(i: int) -> int:
        nonlocal done
        status = await post_login(port, "127.0.0.20", "admin", f"wrong-guess-{i}-xxxxxxxx", ctx)
        done += 1
        if done >= 10:
            answered.set()
        return status

    async def real() -> int:
        await answered.wait()  # the limit is reached by then (3 checks, the rest refused)
        return await post_login(port, "127.0.0.20", "admin", STRONG, ctx)

    results = await asyncio.wait_for(
        asyncio.gather(real(), *(guess(i) for i in range(BURST - 1))), TIME_LIMIT_S)
    return list(results[1:]), results[0]


def sequential_budget(seconds: float) -> int:
    """Checks one client in a row gets in ``seconds``: 3 free, then waits of 1, 2, 4 ... s."""
    return 3 + int(math.log2(seconds + 1))


def test_500_concurrent_guesses_from_one_source_get_the_sequential_budget(server) -> None:
    owner_ready(server)
    started = time.monotonic()
    guesses, real = asyncio.run(_burst_one_source(server.port))
    elapsed = time.monotonic() - started
    checked = guesses.count(401)
    assert 200 not in guesses
    # No more than one client sending in a row would get in the same time (3 in the first
    # second); the old code checked about half of the 500.
    assert 1 <= checked <= sequential_budget(elapsed), (checked, elapsed, sorted(set(guesses)))
    assert real != 200, "the real password was accepted after the limit was reached"
    assert owner_logs_in(server, "127.0.0.5") == 200


async def _burst_many_sources(port: int, n: int) -> list[int]:
    ctx = insecure_tls()
    sources = [f"127.0.{1 + i // 250}.{1 + i % 250}" for i in range(n)]
    return list(await asyncio.wait_for(asyncio.gather(*(
        post_login(port, src, "admin", f"botnet-guess-{i}-xxxxxxxx", ctx)
        for i, src in enumerate(sources))), TIME_LIMIT_S))


def test_500_sources_at_once_get_at_most_100_checks_on_one_account(server) -> None:
    owner_ready(server)
    statuses = asyncio.run(_burst_many_sources(server.port, BURST))
    checked = statuses.count(401)
    assert 200 not in statuses
    assert 50 <= checked <= 100, (checked, sorted(set(statuses)))  # NIST SP 800-63B cap
    # The capped account refuses new places (the burst reaches the cap unless a busy listener
    # left some of the 500 unanswered); the owner's usual place has its own budget. (The
    # owner's success then ends the run of consecutive failures, as NIST SP 800-63B counts.)
    assert owner_logs_in(server, "127.0.3.77") == (429 if checked == 100 else 200)
    assert owner_logs_in(server, "127.0.0.5") == 200


async def _spray(port: int) -> list[int]:
    ctx = insecure_tls()
    return list(await asyncio.wait_for(asyncio.gather(*(
        post_login(port, "127.0.0.30", f"user{i:03d}", "Summer2026!-spray", ctx)
        for i in range(BURST))), TIME_LIMIT_S))


def test_spraying_many_accounts_from_one_source_gets_at_most_10_checks(server) -> None:
    owner_ready(server)
    statuses = asyncio.run(_spray(server.port))
    assert 1 <= statuses.count(401) <= 10, sorted(set(statuses))
    assert owner_logs_in(server, "127.0.0.5") == 200


def test_own_account_logins_do_not_reset_the_budget_for_other_accounts(server) -> None:
    """An attacker who owns one account logs in with it after every few guesses at others."""
    owner_ready(server)
    with server.client(local_address="127.0.0.5") as c:
        api = Api(c)
        assert api.login("admin", STRONG).status_code == 200
        r = api.send("POST", "/api/v1/users", {"username": "mallory", "role": "viewer"})
        assert r.status_code == 201, r.text
        mallory_password = r.json()["one_time_password"]
    checked = 0
    with server.client(local_address="127.0.0.40") as c:
        for round_ in range(5):
            for i in range(9):
                r = c.post("/api/v1/session",
                           json={"username": f"victim{round_}{i}", "password": "guess-xxxxxxxx"})
                checked += r.status_code == 401
            c.post("/api/v1/session", json={"username": "mallory", "password": mallory_password})
    assert checked <= 10, checked  # the source lockout holds across the attacker's own logins
