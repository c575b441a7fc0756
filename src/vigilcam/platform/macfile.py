"""A small JSON state file authenticated with HMAC-SHA256: the one way such files are written.

Owns the format and the write of the keyed state files that guard other files against rollback
and truncation (the rollback anchor, ``platform/anchor.py``, which the vault and the security
log both advance). Serves TAICS 5.2.8.1 (no unauthorised modification of the security log) and
IoT-1005-1 5.4.1.2 / 5.6.1.1 (stored state protected, crash-safe writes).

Format: one JSON object, its fields plus ``hmac`` = hex HMAC-SHA256(key, JSON of the other
fields with sorted keys). The same format as the security log's head file.

Invariants:
- ``read`` returns fields only after the MAC verified (constant-time compare); a file that is
  not JSON, or whose MAC does not verify, raises, never reads as empty. Only a file that is not
  there at all reads as ``None``.
- ``write`` replaces the file atomically (``fsutil.atomic_write``, 0600, folder 0700): a crash
  leaves the old or the new content, never a torn file that would read as tampering.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

from vigilcam.platform.fsutil import atomic_write

_MAC_FIELD = "hmac"


class MacFileError(Exception):
    """The file cannot be trusted; the subclass says whether it is damaged or unauthentic."""


class MacFileDamaged(MacFileError):
    """Not a JSON object (torn, truncated or another file)."""


class MacFileUnauthentic(MacFileError):
    """Well-formed, but the MAC does not verify: edited, or written under another key."""


class MacFile:
    def __init__(self, path: Path, key: bytes, *, sync_dir: bool = True) -> None:
        """``sync_dir=False``: the caller tolerates a lost rename after a crash (the old,
        still authentic content stays), and saves a folder fsync per write."""
        self.path = path
        self._key = key
        self._sync_dir = sync_dir

    def mac(self, fields: dict[str, Any]) -> str:
        body = json.dumps(fields, sort_keys=True).encode()
        return hmac.new(self._key, body, hashlib.sha256).hexdigest()

    def read(self) -> dict[str, Any] | None:
        """The authenticated fields (without ``hmac``); None when the file does not exist."""
        try:
            raw = json.loads(self.path.read_bytes())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise MacFileDamaged(str(exc)) from None
        if not isinstance(raw, dict):
            raise MacFileDamaged("not a JSON object")
        fields = {k: v for k, v in raw.items() if k != _MAC_FIELD}
        if not hmac.compare_digest(str(raw.get(_MAC_FIELD, "")), self.mac(fields)):
            raise MacFileUnauthentic("MAC does not verify")
        return fields

    def write(self, fields: dict[str, Any]) -> None:
        data = json.dumps({**fields, _MAC_FIELD: self.mac(fields)}).encode()
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        atomic_write(self.path, data, mode=0o600, sync_dir=self._sync_dir)
