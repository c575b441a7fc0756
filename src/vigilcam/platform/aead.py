"""Authenticated encryption at rest: the one home of the algorithm, its key and nonce sizes.

Owns the choice of AEAD for every blob vigilcam stores or ships encrypted: the vault
(``platform/vault.py``), the security-log archive (``platform/seclog.py``), update packages
(``update/package.py``) and recording segments (``recording/segment_format.py``). Serves
IoT-1005-1 5.4.1.2 (security-sensitive data at rest encrypted with AES-256-GCM, NIST SP 800-38D,
key size per SP 800-131A), 5.4.1.1 (release packages encrypted with an approved algorithm) and
TAICS 5.2.8.1 (the log archive cannot be altered unnoticed).

Invariants:
- One algorithm: AES-256-GCM with a 96-bit nonce and a 128-bit tag. A key of any other size is
  refused with ``ValueError`` before any use, so a 128-bit key can never slip in.
- A nonce of any other length is refused (``ValueError``): GCM with a non-96-bit nonce hashes it
  down and loses the nonce-uniqueness guarantee the callers reason about.
- Opening yields plaintext only when the tag verified; otherwise ``AeadError`` and nothing else
  (no ``cryptography`` exception type leaks to callers, who map it to their own error).
- The nonce scheme and the associated data are the CALLER's decision, stated where it calls:
  each caller owns its on-disk format, and this module never adds bytes to it, so files written
  before this module existed still open. ``seal_random``/``open_random`` serve the callers whose
  format is ``nonce(12) || ciphertext || tag`` with a fresh random nonce per message (safe for
  the message counts of the vault, the log archive and packages: far below 2^32 per key).
"""

from __future__ import annotations

import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

ALGORITHM = "AES-256-GCM"
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16


class AeadError(Exception):
    """Authentication failed: wrong key, or the ciphertext, nonce or associated data changed."""


def new_key() -> bytes:
    """A fresh random key from the OS CSPRNG."""
    return secrets.token_bytes(KEY_BYTES)


def new_nonce() -> bytes:
    """A fresh random 96-bit nonce."""
    return secrets.token_bytes(NONCE_BYTES)


class Aead:
    """AES-256-GCM under one key; the caller supplies nonce and associated data."""

    __slots__ = ("_cipher",)

    def __init__(self, key: bytes | bytearray) -> None:
        if not isinstance(key, bytes | bytearray) or len(key) != KEY_BYTES:
            raise ValueError(f"an {ALGORITHM} key must be {KEY_BYTES} bytes")
        self._cipher = AESGCM(bytes(key))

    @staticmethod
    def _check_nonce(nonce: bytes) -> None:
        if len(nonce) != NONCE_BYTES:
            raise ValueError(f"an {ALGORITHM} nonce must be {NONCE_BYTES} bytes")

    def seal(self, nonce: bytes, plaintext: bytes, aad: bytes) -> bytes:
        """Ciphertext || tag. The caller guarantees ``nonce`` is never reused under this key."""
        self._check_nonce(nonce)
        return self._cipher.encrypt(nonce, plaintext, aad)

    def open(self, nonce: bytes, ciphertext: bytes, aad: bytes) -> bytes:
        """The plaintext, only once the tag verified; ``AeadError`` otherwise."""
        self._check_nonce(nonce)
        try:
            return self._cipher.decrypt(nonce, ciphertext, aad)
        except InvalidTag:
            raise AeadError("authentication failed") from None

    def seal_random(self, plaintext: bytes, aad: bytes) -> bytes:
        """``nonce(12) || ciphertext || tag`` under a fresh random nonce."""
        nonce = new_nonce()
        return nonce + self.seal(nonce, plaintext, aad)

    def open_random(self, blob: bytes, aad: bytes) -> bytes:
        """Open what ``seal_random`` made; a blob too short to hold nonce and tag fails too."""
        if len(blob) < NONCE_BYTES + TAG_BYTES:
            raise AeadError("too short to be sealed")
        return self.open(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)
