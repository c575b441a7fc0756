"""Where the device keeps its state inside the data dir.

Owns the data-dir layout, so every module finds files in one place. Serves IoT-1005-1 5.7.1.1
(the data inventory lists these locations).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

DATA_DIR_ENV = "VIGILCAM_DATA_DIR"  # the packaged launcher sets it: /var/lib/vigilcam


def default_data_dir() -> Path:
    """``$VIGILCAM_DATA_DIR`` if set, ``/var/lib/vigilcam`` as root, else the user's data dir."""
    override = os.environ.get(DATA_DIR_ENV)
    if override:
        return Path(override)
    if os.geteuid() == 0:
        return Path("/var/lib/vigilcam")
    return Path(platformdirs.user_data_dir("vigilcam"))


@dataclass(frozen=True)
class DataPaths:
    root: Path

    @property
    def keys_dir(self) -> Path:
        return self.root / "keys"

    @property
    def kek_file(self) -> Path:
        return self.keys_dir / "kek"

    @property
    def anchor_file(self) -> Path:
        """The rollback anchor of the vault and the security log (``platform/anchor.py``)."""
        return self.keys_dir / "anchor.json"

    @property
    def vault_file(self) -> Path:
        return self.root / "vault.bin"

    @property
    def identity_file(self) -> Path:
        return self.root / "identity.json"

    @property
    def tls_dir(self) -> Path:
        return self.root / "tls"

    @property
    def cert_file(self) -> Path:
        return self.tls_dir / "cert.pem"

    @property
    def key_file(self) -> Path:
        return self.tls_dir / "key.pem"

    @property
    def setup_secret_file(self) -> Path:
        return self.root / "setup-secret"

    @property
    def accounts_db(self) -> Path:
        return self.root / "accounts.db"

    @property
    def seclog_dir(self) -> Path:
        return self.root / "seclog"

    @property
    def config_file(self) -> Path:
        return self.root / "config.toml"

    @property
    def recordings_dir(self) -> Path:
        return self.root / "recordings"

    @property
    def alerts_db(self) -> Path:
        return self.root / "alerts.db"

    @property
    def run_marker(self) -> Path:
        """Present while the service runs; found at start it means an unclean stop."""
        return self.root / "running"
