"""The release side: a TUF repository (root, targets, snapshot, timestamp) holding the package.

Owns how a release is published, with python-tuf's Metadata API. Serves IoT-1005-1 5.3.1.2
(packages signed with TUF metadata; the device refuses rollback, freeze and mix-and-match) and
5.4.1.1 (release packages encrypted with AES-256-GCM and signed). Used by release tooling and
by the tests, which also use it to forge the attacks the client must refuse.

Layout written under ``folder`` (consistent snapshots, as the TUF spec recommends for mirrors):
``metadata/{N}.root.json``, ``metadata/root.json``, ``metadata/{N}.targets.json``,
``metadata/{N}.snapshot.json``, ``metadata/timestamp.json`` and
``targets/{sha256}.vigilcam.pkg``. One target, ``vigilcam.pkg``, is always the current release;
its ``custom.vigilcam`` field names the version and carries the (optionally wrapped) key.
A second target, ``advisories.json``, carries the release's vulnerability advisories.

Keys are never stored here: the caller hands in signers (from files, an HSM or, in tests,
freshly generated).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Mapping
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from securesystemslib.signer import CryptoSigner, Signer, SSlibKey
from tuf.api.metadata import (
    Metadata,
    MetaFile,
    Root,
    Snapshot,
    TargetFile,
    Targets,
    Timestamp,
)
from tuf.api.serialization.json import JSONSerializer

from vigilcam.update import package

TARGET_NAME = "vigilcam.pkg"
ADVISORIES_NAME = "advisories.json"  # the vulnerability advisories (sbom.advisories)
ROLES = ("root", "targets", "snapshot", "timestamp")
DEFAULT_EXPIRY = {
    "root": dt.timedelta(days=365),
    "targets": dt.timedelta(days=90),
    "snapshot": dt.timedelta(days=7),
    "timestamp": dt.timedelta(days=1),
}


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def generate_signer() -> CryptoSigner:
    """A fresh Ed25519 signer (tests and first-time release setup)."""
    return CryptoSigner.generate_ed25519()


def signer_from_key(private_key: Ed25519PrivateKey) -> CryptoSigner:
    return CryptoSigner(private_key, SSlibKey.from_crypto(private_key.public_key()))


class ReleaseRepository:
    """A TUF repository on disk; each ``publish`` bumps targets, snapshot and timestamp."""

    def __init__(
        self,
        folder: Path,
        signers: Mapping[str, Signer],
        *,
        now: Callable[[], dt.datetime] = _utcnow,
        _continuing: bool = False,
    ) -> None:
        missing = [r for r in ROLES if r not in signers]
        if missing and not _continuing:
            raise ValueError(f"a signer is needed for every role; missing: {', '.join(missing)}")
        self.folder = folder
        self.metadata_dir = folder / "metadata"
        self.targets_dir = folder / "targets"
        self.signers = dict(signers)
        self.now = now
        root = Root(expires=self._expiry("root"), consistent_snapshot=True)
        for role in ROLES:
            if role in self.signers:
                root.add_key(self.signers[role].public_key, role)
        self.root: Metadata[Root] = Metadata(root)
        self.targets: Metadata[Targets] = Metadata(Targets(expires=self._expiry("targets")))
        self.snapshot: Metadata[Snapshot] = Metadata(Snapshot(expires=self._expiry("snapshot")))
        self.timestamp: Metadata[Timestamp] = Metadata(
            Timestamp(expires=self._expiry("timestamp")))

    @classmethod
    def load(cls, folder: Path, signers: Mapping[str, Signer], *,
             now: Callable[[], dt.datetime] = _utcnow) -> ReleaseRepository:
        """Continue an existing repository: the newest root and the state the timestamp names.

        The root key stays offline: publishing and refreshing the timestamp need only the
        targets, snapshot and timestamp signers. Refuses signers whose keys the root does not
        list for their role."""
        repo = cls(folder, signers, now=now, _continuing=True)
        md = repo.metadata_dir
        roots = sorted(int(p.name.split(".", 1)[0]) for p in md.glob("*.root.json"))
        if not roots:
            raise ValueError(f"{md} holds no root metadata: initialise the repository first")
        repo.root = Metadata[Root].from_file(str(md / f"{roots[-1]}.root.json"))
        repo.timestamp = Metadata[Timestamp].from_file(str(md / "timestamp.json"))
        snap = repo.timestamp.signed.snapshot_meta.version
        repo.snapshot = Metadata[Snapshot].from_file(str(md / f"{snap}.snapshot.json"))
        targets = repo.snapshot.signed.meta["targets.json"].version
        repo.targets = Metadata[Targets].from_file(str(md / f"{targets}.targets.json"))
        for role in ROLES:
            if role not in repo.signers:
                continue
            if repo.signers[role].public_key.keyid not in repo.root.signed.roles[role].keyids:
                raise ValueError(f"the {role} key given is not a {role} key of this repository")
        return repo

    def refresh_timestamp(self, expires: dt.datetime | None = None) -> None:
        """A new timestamp for the same snapshot (run daily: timestamps expire in a day)."""
        self.timestamp.signed.version += 1
        self.write_timestamp(expires)

    def _expiry(self, role: str) -> dt.datetime:
        return self.now() + DEFAULT_EXPIRY[role]

    # --- writing -------------------------------------------------------------------------

    def signed_bytes(self, md: Metadata, signers: list[Signer] | None = None) -> bytes:
        """Sign ``md`` (replacing its signatures) and return its canonical file content."""
        md.signatures.clear()
        for signer in signers or [self.signers[md.signed.type]]:
            md.sign(signer, append=True)
        return md.to_bytes(JSONSerializer(compact=False))

    def _write(self, name: str, data: bytes) -> None:
        self.metadata_dir.mkdir(parents=True, exist_ok=True)
        path = self.metadata_dir / name
        tmp = path.with_name(f".{name}.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)

    def write_root(self) -> bytes:
        data = self.signed_bytes(self.root)
        self._write(f"{self.root.signed.version}.root.json", data)
        self._write("root.json", data)
        return data

    def write_targets(self) -> bytes:
        data = self.signed_bytes(self.targets)
        self._write(f"{self.targets.signed.version}.targets.json", data)
        return data

    def write_snapshot(self) -> bytes:
        data = self.signed_bytes(self.snapshot)
        self._write(f"{self.snapshot.signed.version}.snapshot.json", data)
        return data

    def write_timestamp(self, expires: dt.datetime | None = None) -> bytes:
        self.timestamp.signed.expires = expires or self._expiry("timestamp")
        data = self.signed_bytes(self.timestamp)
        self._write("timestamp.json", data)
        return data

    def initialise(self) -> bytes:
        """Write version 1 of every role (no release yet); return the root to pin on devices."""
        root = self.write_root()
        self.write_targets()
        self.write_snapshot()
        self.write_timestamp()
        return root

    def trusted_root(self) -> bytes:
        return (self.metadata_dir / "1.root.json").read_bytes()

    # --- releasing -----------------------------------------------------------------------

    def publish(
        self,
        version: str,
        tar_bytes: bytes,
        *,
        distribution_key: bytes | None = None,
        timestamp_expires: dt.datetime | None = None,
    ) -> Path:
        """Encrypt the tar, add it as ``vigilcam.pkg`` and sign a new repository state."""
        key = package.new_key()
        blob = package.encrypt(tar_bytes, key, TARGET_NAME, version)
        digest = hashlib.sha256(blob).hexdigest()
        self.targets_dir.mkdir(parents=True, exist_ok=True)
        blob_path = self.targets_dir / f"{digest}.{TARGET_NAME}"
        blob_path.write_bytes(blob)
        target = TargetFile.from_data(TARGET_NAME, blob, ["sha256"])
        target.unrecognized_fields["custom"] = {
            "vigilcam": package.key_field(key, version, TARGET_NAME, distribution_key)}
        self.targets.signed.targets[TARGET_NAME] = target
        self.bump(timestamp_expires=timestamp_expires)
        return blob_path

    def stage_advisories(self, document: bytes) -> Path:
        """Put the vulnerability advisories (``sbom.advisories``) into the targets; the next
        ``publish`` or ``bump`` signs them. Devices fetch them with each check (IoT-1005-1
        5.2.1.1)."""
        digest = hashlib.sha256(document).hexdigest()
        self.targets_dir.mkdir(parents=True, exist_ok=True)
        path = self.targets_dir / f"{digest}.{ADVISORIES_NAME}"
        path.write_bytes(document)
        self.targets.signed.targets[ADVISORIES_NAME] = TargetFile.from_data(
            ADVISORIES_NAME, document, ["sha256"])
        return path

    def publish_advisories(self, document: bytes) -> Path:
        """New advisories alone, in a new signed repository state."""
        path = self.stage_advisories(document)
        self.bump()
        return path

    def bump(self, *, timestamp_expires: dt.datetime | None = None) -> None:
        """A new repository state: targets, snapshot and timestamp each one version up."""
        self.targets.signed.version += 1
        self.targets.signed.expires = self._expiry("targets")
        self.write_targets()
        self.snapshot.signed.version += 1
        self.snapshot.signed.expires = self._expiry("snapshot")
        self.snapshot.signed.meta["targets.json"] = MetaFile(self.targets.signed.version)
        self.write_snapshot()
        self.timestamp.signed.version += 1
        self.timestamp.signed.snapshot_meta = MetaFile(self.snapshot.signed.version)
        self.write_timestamp(timestamp_expires)
