"""Seed an A/B slot from the signed release a system package ships (install and upgrade).

Owns how the package manager's copy of a release reaches the install root: the Debian package
ships the signed package tree read-only (``/usr/lib/vigilcam/release/vigilcam``) and its
``postinst`` calls ``seed``. Serves IoT-1005-1 5.3.1.1 (the package fills the inactive slot and
switches only after the copy verifies; the slot that runs is never touched) and TAICS 5.1.4.1
(only code that matches its manifest signed by the pinned key is ever pointed at).

Rules:
- the shipped tree must verify against the pinned key, or nothing is changed;
- a current slot that verifies and is as new as the shipped release or newer (a signed update
  arrived over the update channel) is kept: a package reinstall never downgrades;
- a current slot that does not verify is replaced (reinstalling the package repairs it).

Pure apart from the folder operations under the install root.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from vigilcam.update.errors import RefusalKind, UpdateError
from vigilcam.update.manifest import MANIFEST_NAME, load_public_key, verify_installed
from vigilcam.update.slots import SlotManager
from vigilcam.update.versions import is_newer

PACKAGE = "vigilcam"


@dataclass(frozen=True)
class SeedOutcome:
    result: str  # "installed" | "kept"
    version: str
    slot: str
    detail: str


def seed(release_dir: Path, install_root: Path, key_file: Path) -> SeedOutcome:
    """Copy ``release_dir/vigilcam`` into the inactive slot and switch, unless the current slot
    already runs a verified release at least as new. Raises UpdateError when the shipped tree
    does not verify."""
    key = load_public_key(key_file)
    shipped = verify_installed(release_dir / PACKAGE / MANIFEST_NAME, key)
    if not shipped.ok:
        raise UpdateError(RefusalKind.PACKAGE, "the shipped release does not match its signed "
                          "manifest: " + "; ".join(shipped.problems[:5]))
    slots = SlotManager(install_root)
    current = slots.current_slot()
    if current is not None:
        running = verify_installed(slots.slot_path(current) / PACKAGE / MANIFEST_NAME, key)
        if running.ok and not is_newer(shipped.version, running.version):
            return SeedOutcome("kept", running.version, current,
                               f"{current} runs {running.version} (verified); not replaced")
    target = slots.inactive_slot()
    path = slots.slot_path(target)
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True, mode=0o755)
    shutil.copytree(release_dir / PACKAGE, path / PACKAGE,
                    ignore=shutil.ignore_patterns("__pycache__"))
    copied = verify_installed(path / PACKAGE / MANIFEST_NAME, key)
    if not copied.ok:
        shutil.rmtree(path, ignore_errors=True)
        raise UpdateError(RefusalKind.PACKAGE, "the copy in the slot does not verify: "
                          + "; ".join(copied.problems[:5]))
    slots.switch(target)
    return SeedOutcome("installed", shipped.version, target,
                       f"{shipped.version} installed into {target} ({copied.files} files "
                       "verified)")
