"""The vault: every secret of the device, encrypted at rest.

Owns secret storage. Serves IoT-1005-1 5.4.1.2 (security-sensitive data encrypted with AES-256-GCM,
NIST SP 800-38D), 5.1.1.2 (per-device keys) and TAICS 5.2.5.2 (key-encryption key in a protected
domain: a root-only file here; a TPM 2.0 sealing backend can implement ``KeyEncryptionKeyStore``).

Invariants:
- The whole vault is one AES-256-GCM blob under the key-encryption key (KEK); any edit, swap or
  truncation fails authentication and the service refuses to start.
- The KEK file and its folder must be private to the service user (0600 / 0700); loose
  permissions are refused with the chmod that fixes them.
- Every write re-encrypts with a fresh random 96-bit nonce and replaces the file atomically.
- Several processes may hold the vault (the service and the CLI): reads re-load the file when
  another process replaced it, and writes are read-modify-write under an exclusive file lock,
  so no process overwrites a secret another one just stored.
- The vault carries a version, inside the authenticated plaintext, raised by every write; the
  rollback anchor (``platform/anchor.py``) records it AFTER the vault file is durable, so
  ``anchor <= version`` always holds on disk. A vault older than its anchor was put back (an
  old ``vault.bin`` restoring a revoked credential or key) and is refused with
  ``VaultRollbackError``; a versioned vault whose anchor is gone is refused too. A vault of the
  first format (no version) opens without an anchor once, and is anchored at its next write.
- With the KEK in a TPM 2.0, the vault also records the TPM's NV rollback counter it was written
  with, and the counter is raised after the file is durable (``platform/tpm.py``): a vault behind
  the counter is refused even when the whole data dir was put back with it.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol

from vigilcam.platform.aead import KEY_BYTES, NONCE_BYTES, TAG_BYTES, Aead, AeadError, new_key
from vigilcam.platform.anchor import Anchor, AnchorError, AnchorState, anchor_key
from vigilcam.platform.fsutil import (
    PermissionProblem,
    atomic_write,
    check_private,
    ensure_private_dir,
    exclusive_lock,
)

# File: magic(8) || nonce(12) || AES-256-GCM(JSON) (``platform/aead.py``). Nonce: random per
# write (one KEK, a few writes a day). Associated data: the format's label, so a blob of one
# format never opens as the other.
_MAGIC_V1 = b"VCVAULT1"
_AAD_V1 = b"vigilcam vault v1"
_MAGIC = b"VCVAULT2"
_AAD = b"vigilcam vault v2"


class VaultError(Exception):
    """The vault or its key cannot be used; the message says why and what to do."""


class VaultRollbackError(VaultError):
    """The vault is older than its anchor (or the anchor is gone). ``vault`` is the opened,
    authentic but outdated vault, so the caller can still record the event before refusing."""

    def __init__(self, message: str, vault: Vault) -> None:
        super().__init__(message)
        self.vault = vault


class RollbackCounter(Protocol):
    """A monotonic counter outside the data dir (a TPM 2.0 NV counter)."""

    def counter_read(self) -> int | None: ...
    def counter_ensure(self) -> int: ...
    def counter_increment(self) -> int: ...


class KeyEncryptionKeyStore(Protocol):
    """Where the key-encryption key lives (file now; TPM 2.0 later, same interface)."""

    kind: str

    def exists(self) -> bool: ...
    def create(self) -> None: ...
    def load(self) -> bytes: ...
    def destroy(self) -> None: ...


class FileKek:
    """A 256-bit KEK in a file only the service user can read (TAICS 5.2.5.2 fallback)."""

    kind = "file"

    def __init__(self, path: Path) -> None:
        self.path = path

    def exists(self) -> bool:
        return self.path.exists()

    def create(self) -> None:
        ensure_private_dir(self.path.parent)
        atomic_write(self.path, new_key(), mode=0o600)

    def load(self) -> bytes:
        try:
            check_private(self.path.parent, is_dir=True)
            check_private(self.path)
            key = self.path.read_bytes()
        except PermissionProblem as exc:
            raise VaultError(f"key-encryption key refused: {exc}") from None
        except OSError as exc:
            raise VaultError(
                f"key-encryption key unreadable: {self.path}: {exc.strerror}"
            ) from None
        if len(key) != KEY_BYTES:
            raise VaultError(f"key-encryption key {self.path} is damaged (wrong length)")
        return key

    def destroy(self) -> None:
        if self.path.exists():
            size = self.path.stat().st_size
            with open(self.path, "r+b") as fh:
                fh.write(secrets.token_bytes(size))
                fh.flush()
                os.fsync(fh.fileno())
            self.path.unlink()


class Vault:
    """Named secrets (bytes), AES-256-GCM encrypted as one blob under the KEK."""

    def __init__(
        self, path: Path, kek_store: KeyEncryptionKeyStore, anchor_file: Path | None = None
    ) -> None:
        self.path = path
        self.kek_store = kek_store
        self.anchor_file = anchor_file
        self.anchor: Anchor | None = None
        self.version = 0
        self.tpm_counter: int | None = None
        """The TPM rollback counter value this vault was written with (None: no TPM)."""
        self._entries: dict[str, bytes] | None = None
        self._loaded: tuple[int, int, int] | None = None

    def _stamp(self) -> tuple[int, int, int] | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return st.st_ino, st.st_mtime_ns, st.st_size

    def _refresh(self) -> None:
        """Re-load when another process replaced the file since we read it."""
        if self._entries is not None and self._stamp() != self._loaded:
            self.open()

    def _write_lock(self) -> AbstractContextManager[None]:
        return exclusive_lock(self.path)

    @property
    def backend(self) -> str:
        return self.kek_store.kind

    def create(self) -> None:
        if not self.kek_store.exists():
            self.kek_store.create()
        self._entries = {}
        self.version = 0
        if self.anchor_file is not None:
            self.anchor = Anchor(self.anchor_file, anchor_key(self.kek_store.load()))
            self.anchor.reset()
        with self._write_lock():
            self._save()

    def open(self) -> None:
        kek = self.kek_store.load()
        # The anchor is read before the vault file: anchor <= vault holds at every moment on
        # disk, so a write by another process between the two reads cannot look like a rollback.
        anchored: AnchorState | None = None
        if self.anchor_file is not None:
            self.anchor = Anchor(self.anchor_file, anchor_key(kek))
            try:
                anchored = self.anchor.read()
            except AnchorError as exc:
                raise VaultError(str(exc)) from None
        try:
            check_private(self.path)
            blob = self.path.read_bytes()
        except PermissionProblem as exc:
            raise VaultError(f"vault refused: {exc}") from None
        except OSError as exc:
            raise VaultError(f"vault unreadable: {self.path}: {exc.strerror}") from None
        magic = blob[: len(_MAGIC)]
        if magic not in (_MAGIC, _MAGIC_V1) or len(blob) < len(_MAGIC) + NONCE_BYTES + TAG_BYTES:
            raise VaultError(f"vault {self.path} is damaged or not a vigilcam vault")
        try:
            plain = Aead(kek).open_random(blob[len(_MAGIC) :], _AAD if magic == _MAGIC else _AAD_V1)
        except AeadError:
            raise VaultError(
                f"vault {self.path} failed authentication: it was modified or the key is wrong"
            ) from None
        raw = json.loads(plain)
        tpm_counter: int | None = None
        if magic == _MAGIC:
            version, tpm_counter, raw = int(raw["version"]), raw.get("tpm_counter"), raw["secrets"]
        else:
            version = 0  # the first format had no version
        self._entries = {k: base64.b64decode(v) for k, v in raw.items()}
        self.version = version
        self.tpm_counter = tpm_counter
        self._loaded = self._stamp()
        if self.anchor is not None:
            self._check_anchor(anchored)
            self._check_counter()

    def _counter(self) -> RollbackCounter | None:
        store = self.kek_store
        return store if hasattr(store, "counter_increment") else None  # type: ignore[return-value]

    def _check_counter(self) -> None:
        counter = self._counter()
        if counter is None or self.tpm_counter is None:
            return  # no TPM, or a vault written before the counter existed
        value = counter.counter_read()
        if value is None:
            raise VaultRollbackError(
                f"vault {self.path.name} was written with TPM rollback counter "
                f"{self.tpm_counter} but the TPM holds no counter (undefined, or another TPM)",
                self)
        if value > self.tpm_counter:
            raise VaultRollbackError(
                f"vault {self.path.name} was written with TPM rollback counter "
                f"{self.tpm_counter} but the TPM's counter is at {value}: an older vault.bin was "
                "put back (with the whole data dir, or alone); restore the newest vault.bin or "
                "factory-reset the device", self)

    def _check_anchor(self, anchored: AnchorState | None) -> None:
        if anchored is None:
            if self.version > 0:
                raise VaultRollbackError(
                    f"vault {self.path.name} is version {self.version} but its rollback anchor "
                    f"{self.anchor_file} is missing (deleted): the vault cannot be shown to be "
                    "the newest one; restore the anchor or factory-reset the device", self)
            return
        if anchored.vault > self.version:
            raise VaultRollbackError(
                f"vault {self.path.name} is version {self.version} but version {anchored.vault} "
                "was already written: an older vault.bin was put back (it may hold revoked "
                "credentials or keys); restore the newest vault.bin or factory-reset the device",
                self)

    def _require(self) -> dict[str, bytes]:
        if self._entries is None:
            raise VaultError("vault is not open")
        return self._entries

    def _save(self) -> None:
        entries = self._require()
        kek = self.kek_store.load()
        version = self.version + 1
        counter = self._counter() if self.anchor is not None else None
        tpm_counter = None
        if counter is not None:  # above both the TPM's value and this vault's (a crash lag)
            tpm_counter = max(counter.counter_ensure(), self.tpm_counter or 0) + 1
        plain = json.dumps({
            "version": version,
            "tpm_counter": tpm_counter,
            "secrets": {k: base64.b64encode(v).decode() for k, v in entries.items()},
        }).encode()
        atomic_write(self.path, _MAGIC + Aead(kek).seal_random(plain, _AAD))
        self.version = version
        self.tpm_counter = tpm_counter
        self._loaded = self._stamp()
        if self.anchor is not None:
            self.anchor.advance(vault=version)  # after the file is durable: anchor <= vault
        if counter is not None and tpm_counter is not None:
            # After the file is durable: counter <= vault. A counter left behind by a crash
            # takes more than one step (bounded: each crash leaves it one behind at most).
            for _ in range(64):
                if counter.counter_increment() >= tpm_counter:
                    break

    def get(self, name: str) -> bytes:
        self._refresh()
        try:
            return self._require()[name]
        except KeyError:
            raise VaultError(f"vault has no secret named {name!r}") from None

    def find(self, name: str) -> bytes | None:
        self._refresh()
        return self._require().get(name)

    def put(self, name: str, value: bytes) -> None:
        self._require()
        with self._write_lock():
            self._refresh()
            self._require()[name] = value
            self._save()

    def delete(self, name: str) -> None:
        self._require()
        with self._write_lock():
            self._refresh()
            if self._require().pop(name, None) is not None:
                self._save()

    def names(self) -> list[str]:
        self._refresh()
        return sorted(self._require())

    def ensure_random(self, name: str, size: int = 32) -> bytes:
        """Return secret ``name``, creating it from the OS CSPRNG on first use."""
        value = self.find(name)
        if value is None:
            value = secrets.token_bytes(size)
            self.put(name, value)
        return value
