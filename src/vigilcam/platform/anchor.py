"""The rollback anchor: monotonic counters kept apart from the files they protect.

Owns the one record that says how far the security log and the vault have come, so that cutting
records off the log, deleting or restoring an older log head, or putting back an older
``vault.bin`` is found. Serves TAICS 5.2.8.1 (the security log is protected from unauthorised
modification, including removal of its newest records) and IoT-1005-1 5.4.1.2 (stored secrets:
an older vault cannot bring back a revoked credential unnoticed).

The anchor file (``keys/anchor.json``, beside the key-encryption key, 0600) holds::

    vault        version of the newest vault.bin written
    seclog_seq   seq of the newest security-log record whose head was written
    seclog_mac   that record's MAC
    hmac         HMAC-SHA256 over the fields above, key derived from the KEK (HKDF-SHA256)

written and verified by ``platform/macfile.py`` (the one keyed state-file format), under the
file lock of ``platform/fsutil.exclusive_lock``.

Invariants:
- Counters only go up: ``advance`` keeps the larger of the stored and the offered value, under
  an exclusive file lock, so writers in several processes (the service and a CLI run) never
  lower one.
- Each protected file is written (and made durable) BEFORE its anchor, so on disk at every
  moment ``anchor <= protected file``: a crash or kill -9 between the two leaves the anchor
  behind (it catches up with the next write); a protected file BEHIND its anchor was cut or
  replaced by an older copy. Readers therefore read the anchor first, then the file.
- The anchor is authenticated with a key only the KEK yields: it cannot be edited or forged
  without the KEK; a missing or unauthenticated anchor is reported, never treated as zero,
  once the device has written one.
- Limit: a copy of the WHOLE data dir (anchor, vault and log together) put back in one piece
  is consistent and is not detected here; every partial restore or cut is. With a TPM 2.0 the
  vault's version is also held by a TPM NV counter (``platform/tpm.py``), which closes that for
  the vault; the log's anchor stays this file (one TPM write per security event is too costly).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from vigilcam.platform.fsutil import exclusive_lock
from vigilcam.platform.macfile import MacFile, MacFileDamaged, MacFileUnauthentic

_INFO = b"vigilcam rollback anchor v1"


class AnchorError(Exception):
    """The anchor file failed authentication or is not an anchor; the message says which."""


@dataclass(frozen=True)
class AnchorState:
    vault: int = 0
    seclog_seq: int = 0
    seclog_mac: str = ""


def anchor_key(kek: bytes) -> bytes:
    """The anchor's MAC key, derived from the key-encryption key (never stored)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(kek)


class Anchor:
    def __init__(self, path: Path, key: bytes) -> None:
        self.path = path
        # No folder fsync after the rename: a lost rename leaves the anchor behind, which the
        # invariant allows; the content itself is durable before the rename (a torn anchor
        # would read as tampering).
        self._file = MacFile(path, key, sync_dir=False)

    def exists(self) -> bool:
        return self.path.exists()

    def read(self) -> AnchorState | None:
        """The anchored state; None when there is no anchor file at all."""
        try:
            raw = self._file.read()
            if raw is None:
                return None
            return AnchorState(int(raw["vault"]), int(raw["seclog_seq"]), str(raw["seclog_mac"]))
        except MacFileUnauthentic:
            raise AnchorError(
                f"rollback anchor {self.path} failed authentication (edited, or from another "
                "key-encryption key)"
            ) from None
        except (MacFileDamaged, ValueError, KeyError, TypeError) as exc:
            raise AnchorError(f"rollback anchor {self.path} is damaged: {exc}") from None

    def _write(self, state: AnchorState) -> None:
        self._file.write(asdict(state))

    def reset(self, state: AnchorState | None = None) -> None:
        """Start a fresh anchor (provisioning and factory reset: a new KEK, a new key)."""
        with exclusive_lock(self.path):
            self._write(state or AnchorState())

    def advance(
        self, *, vault: int | None = None, seclog: tuple[int, str] | None = None
    ) -> None:
        """Raise the named counters to the given values; never lowers one."""
        with exclusive_lock(self.path):
            current = self.read() or AnchorState()
            new = current
            if vault is not None and vault > current.vault:
                new = AnchorState(vault, new.seclog_seq, new.seclog_mac)
            if seclog is not None and seclog[0] > current.seclog_seq:
                new = AnchorState(new.vault, seclog[0], seclog[1])
            if new != current or not self.path.exists():
                self._write(new)
