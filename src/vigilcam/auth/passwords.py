"""Password policy and the one password hasher.

Serves IoT-1005-1 5.1.3.1 (no universal default; password policy per NIST SP 800-63B rev 4:
at least 15 characters for a password-only account, at least 64 allowed, no composition rules,
refused when found in a blocklist of common and breached passwords or when built from context
words) and 5.4.1.2 (passwords stored only as Argon2id hashes).

Blocklist: the zxcvbn estimator (its frequency lists of common and breached passwords, plus
repeats, sequences, keyboard patterns and the context words model, serial, user name); a
password it expects to fall within 10^10 guesses is refused.

Argon2id parameters (``ARGON2_*``) were chosen by ``benchmarks/login.py``: about 80 ms per
hash on the reference machine, memory 46 MiB (OWASP's first recommended set). Hashing runs in a
small bounded thread pool, so a flood of logins queues instead of exhausting memory or the loop.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher as _Argon2
from argon2 import Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from zxcvbn import zxcvbn

MIN_LENGTH = 15
MAX_LENGTH = 128
ARGON2_TIME_COST = 2
ARGON2_MEMORY_KIB = 46 * 1024
ARGON2_PARALLELISM = 1
MAX_CONCURRENT_HASHES = 2


MIN_GUESSES_LOG10 = 10.0


def policy_problems(password: str, context: Iterable[str] = ()) -> list[str]:
    """Why ``password`` is refused, as sentences a person can act on; empty when it is fine."""
    problems: list[str] = []
    if len(password) < MIN_LENGTH:
        problems.append(f"Use at least {MIN_LENGTH} characters (a few words make a good one).")
    if len(password) > MAX_LENGTH:
        return [*problems, f"Use at most {MAX_LENGTH} characters."]
    words = [w.lower().strip() for w in context if len(w.strip()) >= 4]
    if any(word in password.lower() for word in words):
        problems.append("Do not build the password from the user name, model or serial.")
    estimate = zxcvbn(password, user_inputs=words)
    if estimate["guesses_log10"] < MIN_GUESSES_LOG10:
        problems.append(
            "This password is too easy to guess: it is on a list of common or breached "
            "passwords, or made of repeats, sequences or keyboard patterns."
        )
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
