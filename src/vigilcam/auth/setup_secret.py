"""The setup secret: the one-time credential of the first admin login, issued in one place.

Owns issuing it: a fresh random secret (``passwords.generate_secret``), the ``admin`` account
that holds it with a forced change at first login, and the owner-only file in the data dir that
shows it once; and retiring it once that account has chosen its own password. Provisioning
and the erasure of personal data both call ``issue_setup_secret``.
Serves IoT-1005-1 5.1.3.1 (no universal default password: unique per device, changed at first
access) and TAICS 5.1.3.2 (a reset never restores a known password: it issues a new secret).
"""

from __future__ import annotations

from pathlib import Path

from vigilcam.auth.accounts import AccountStore
from vigilcam.auth.passwords import generate_secret
from vigilcam.auth.permissions import Role
from vigilcam.platform.fsutil import atomic_write

__all__ = ["ADMIN", "issue_setup_secret", "retire_setup_secret"]

ADMIN = "admin"
"""The account the setup secret opens."""


def issue_setup_secret(accounts: AccountStore, secret_file: Path) -> str:
    """Create ``admin`` with a new setup secret it must change, write it to ``secret_file``
    (mode 0600) and return it. ``accounts`` must not hold an ``admin`` yet."""
    secret = generate_secret()
    accounts.add(ADMIN, Role.ADMIN, secret, must_change=True, check_policy=False)
    atomic_write(secret_file, (secret + "\n").encode(), mode=0o600)
    return secret


def retire_setup_secret(username: str, secret_file: Path) -> bool:
    """After ``username`` changed its password: remove the file that shows the setup secret
    when it was the account the secret opens. True when a secret was retired."""
    if username != ADMIN or not secret_file.exists():
        return False
    secret_file.unlink()
    return True
