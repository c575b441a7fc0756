"""Password policy and the one password hasher.

Serves IoT-1005-1 5.1.3.1 (no universal default; password policy per NIST SP 800-63B rev 4:
at least 15 characters for a password-only account, at least 64 allowed, no composition rules,
refused when found in a blocklist of common and breached passwords or when built from context
words) and 5.4.1.2 (passwords stored only as Argon2id hashes).

Blocklist source: the 30,000 most common passwords of the zxcvbn project's frequency lists
(compiled from breach corpora), plus context words (model, serial, username, product name).

Argon2id parameters (``ARGON2_*``) were chosen by ``benchmarks/login.py``: about 80 ms per
hash on the reference machine, memory 46 MiB (OWASP's first recommended set). Hashing runs in a
small bounded thread pool, so a flood of logins queues instead of exhausting memory or the loop.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

from argon2 import PasswordHasher as _Argon2
from argon2 import Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 15
MAX_LENGTH = 128
ARGON2_TIME_COST = 2
ARGON2_MEMORY_KIB = 46 * 1024
ARGON2_PARALLELISM = 1
MAX_CONCURRENT_HASHES = 2


@lru_cache(maxsize=1)
def _blocklist() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS  # loaded on first use only

    return frozenset(word.lower() for word in FREQUENCY_LISTS["passwords"])


def _is_repetitive(password: str) -> bool:
    for unit in range(1, 5):
        if len(password) >= unit * 3 and password == (password[:unit] * len(password))[
            : len(password)
        ]:
            return True
    codes = [ord(c) for c in password.lower()]
    steps = {b - a for a, b in zip(codes, codes[1:], strict=False)}
    return len(steps) == 1 and steps <= {1, -1}


def policy_problems(password: str, context: Iterable[str] = ()) -> list[str]:
    """Why ``password`` is refused, as sentences a person can act on; empty when it is fine."""
    problems: list[str] = []
    if len(password) < MIN_LENGTH:
        problems.append(f"Use at least {MIN_LENGTH} characters (a few words make a good one).")
    if len(password) > MAX_LENGTH:
        problems.append(f"Use at most {MAX_LENGTH} characters.")
    lowered = password.lower()
    compact = re.sub(r"[\s\d\W_]+", "", lowered)
    if lowered in _blocklist() or (len(compact) >= 4 and compact in _blocklist()):
        problems.append("This password is on a list of common or breached passwords.")
    if _is_repetitive(password):
        problems.append("Avoid repeated or sequential characters.")
    for word in context:
        word = word.lower().strip()
        if len(word) >= 4 and word in lowered:
            problems.append("Do not build the password from the user name, model or serial.")
            break
    return problems


def generate_secret(words: int = 5) -> str:
    """A random one-time secret that a person can type: 5 groups of 5 from a clear alphabet."""
    alphabet = "abcdefghijkmnpqrstuvwxyz23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(5)) for _ in range(words))


class PasswordHasher:
    """Argon2id hashing with bounded concurrency; counts the checks actually performed."""

    def __init__(
        self,
        time_cost: int = ARGON2_TIME_COST,
        memory_kib: int = ARGON2_MEMORY_KIB,
        parallelism: int = ARGON2_PARALLELISM,
        max_concurrent: int = MAX_CONCURRENT_HASHES,
    ) -> None:
        self._argon = _Argon2(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism, type=Type.ID
        )
        self._pool = ThreadPoolExecutor(max_workers=max_concurrent, thread_name_prefix="argon2")
        self._lock = threading.Lock()
        self.checks_performed = 0
        # Unknown users are checked against this hash so both answers take the same time.
        self._dummy = self._argon.hash(secrets.token_urlsafe(24))

    def hash(self, password: str) -> str:
        return self._argon.hash(password)

    def verify(self, stored_hash: str | None, password: str) -> bool:
        with self._lock:
            self.checks_performed += 1
        try:
            return self._argon.verify(stored_hash or self._dummy, password) and bool(stored_hash)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored_hash: str) -> bool:
        return self._argon.check_needs_rehash(stored_hash)

    async def verify_async(self, stored_hash: str | None, password: str) -> bool:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self.verify, stored_hash, password)

    async def hash_async(self, password: str) -> str:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self.hash, password)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
