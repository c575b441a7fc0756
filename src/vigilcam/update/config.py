"""Where the update feature keeps its state and trust anchors, and its small settings file.

Owns ``<data dir>/update/``: ``metadata/`` (the TUF cache that carries rollback protection
across restarts), ``downloads/``, ``state.json``, ``config.json`` (repository URL, install
root, check interval) and ``trust/`` (the pinned TUF root, the pinned code-signing public key,
an optional CA for the update server). Serves IoT-1005-1 5.3.1.2 (trust pinned on the device)
and TAICS 5.1.4.1 (the code-signing key lives outside the code it vouches for). The optional
package distribution key is a secret and lives in the vault (``DISTRIBUTION_KEY_SECRET``).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

from vigilcam.platform.fsutil import atomic_write

CODE_KEY_ENV = "VIGILCAM_CODE_KEY"  # lets a health-check boot use the device's pinned key
DISTRIBUTION_KEY_SECRET = "update:distribution_key"
DEFAULT_INSTALL_ROOT = Path("/opt/vigilcam")


class UpdateConfigError(Exception):
    pass


@dataclass(frozen=True)
class UpdatePaths:
    data_root: Path

    @property
    def root(self) -> Path:
        return self.data_root / "update"

    @property
    def metadata_dir(self) -> Path:
        return self.root / "metadata"

    @property
    def downloads_dir(self) -> Path:
        return self.root / "downloads"

    @property
    def state_file(self) -> Path:
        return self.root / "state.json"

    @property
    def config_file(self) -> Path:
        return self.root / "config.json"

    @property
    def restart_marker(self) -> Path:
        """Written after an install switched slots; the packaged updater unit restarts the
        service and removes it."""
        return self.root / "restart-needed"

    @property
    def restart_pending(self) -> Path:
        """Names the slot still running after an install switched ``current``; the service
        removes it when it starts (``update.slots``)."""
        return self.root / "restart-pending"

    @property
    def install_request(self) -> Path:
        """Written when an admin asks for an install the camera service cannot do itself (its
        unit makes the install root read-only); ``vigilcam-update.path`` starts the updater."""
        return self.root / "install-requested"

    @property
    def advisories_file(self) -> Path:
        """The channel's signed vulnerability advisories, as last fetched (IoT-1005-1 5.2.1.1)."""
        return self.root / "advisories.json"

    @property
    def trust_dir(self) -> Path:
        return self.root / "trust"

    @property
    def trusted_root(self) -> Path:
        return self.trust_dir / "root.json"

    @property
    def code_key(self) -> Path:
        return self.trust_dir / "code-signing.pub"

    @property
    def ca_file(self) -> Path:
        return self.trust_dir / "ca.pem"


def code_key_path(data_root: Path) -> Path:
    """The pinned code-signing key verified start uses: ``$VIGILCAM_CODE_KEY`` or the data dir."""
    override = os.environ.get(CODE_KEY_ENV)
    return Path(override) if override else UpdatePaths(data_root).code_key


@dataclass(frozen=True)
class UpdateConfig:
    repository_url: str = ""
    install_root: str = str(DEFAULT_INSTALL_ROOT)
    interval_hours: float = 24.0
    jitter: float = 0.1

    def validate(self) -> UpdateConfig:
        if self.repository_url:
            parts = urlsplit(self.repository_url)
            if parts.scheme != "https" or not parts.hostname:
                raise UpdateConfigError("the update repository URL must be https://host/...")
        if not 0.1 <= self.interval_hours <= 24 * 7:
            raise UpdateConfigError("interval_hours must be between 0.1 and 168")
        if not 0 <= self.jitter < 1:
            raise UpdateConfigError("jitter must be in [0, 1)")
        return self

    @staticmethod
    def load(path: Path) -> UpdateConfig:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return UpdateConfig()
        except (OSError, ValueError) as exc:
            raise UpdateConfigError(f"{path}: unreadable ({exc})") from None
        unknown = set(data) - set(UpdateConfig.__dataclass_fields__)
        if unknown:
            raise UpdateConfigError(f"{path}: unknown settings {', '.join(sorted(unknown))}")
        try:
            return UpdateConfig(**data).validate()
        except TypeError as exc:
            raise UpdateConfigError(f"{path}: {exc}") from None

    def save(self, path: Path) -> None:
        atomic_write(path, json.dumps(asdict(self.validate()), indent=1).encode(), mode=0o600)
