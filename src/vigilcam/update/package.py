"""The update package: a tar of the new version's files, encrypted with AES-256-GCM.

Owns the package format and its safe unpacking. Serves IoT-1005-1 5.3.1.2 (software
confidentiality and integrity in transit), 5.4.1.1 (release packages encrypted with a NIST
approved algorithm) and 5.3.1.1 (a package can only fill the inactive slot, never escape it).

Format: ``MAGIC || nonce(12) || AES-256-GCM(tar)`` (the AEAD of ``platform/aead.py``). Nonce:
random per package (one package per key). Associated data: ``MAGIC || name || 0 || version``,
which binds the ciphertext to its target name and version, so a package cannot be passed off as
another release. A wrapped package key is ``nonce(12) || AES-256-GCM(package key)`` under the
distribution key, random nonce, associated data the wrap label then the package's.

The package key travels in the TUF-signed targets metadata (``custom.vigilcam``), either in
clear (confidentiality only against someone who has the package but not the metadata, e.g. a
mirror) or wrapped under a device-independent distribution key the device keeps in its vault
(confidentiality against anyone without a device). Integrity and authenticity never rest on
this key: they come from TUF (signed hashes). See docs/updates.md for the trade-off.

Pure: bytes in, bytes out; ``unpack`` writes only under the folder it is given.
"""

from __future__ import annotations

import base64
import io
import tarfile
from pathlib import Path, PurePosixPath
from typing import Any

from vigilcam.platform import aead
from vigilcam.platform.aead import Aead, AeadError
from vigilcam.update.errors import RefusalKind, UpdateError

MAGIC = b"VCPKG\x01"
CIPHER = aead.ALGORITHM  # named in the signed metadata: a device refuses any other
KEY_BYTES = aead.KEY_BYTES
NONCE_BYTES = aead.NONCE_BYTES
MAX_UNPACKED = 512 * 1024 * 1024  # bytes: a bound on what one package may write
MAX_MEMBERS = 20000
_WRAP_LABEL = b"vigilcam-package-key\x00"


def _aad(name: str, version: str) -> bytes:
    return MAGIC + name.encode() + b"\x00" + version.encode()


def new_key() -> bytes:
    return aead.new_key()


def encrypt(tar_bytes: bytes, key: bytes, name: str, version: str) -> bytes:
    return MAGIC + Aead(key).seal_random(tar_bytes, _aad(name, version))


def decrypt(blob: bytes, key: bytes, name: str, version: str) -> bytes:
    if len(key) != KEY_BYTES:
        raise UpdateError(RefusalKind.DECRYPT, f"package key must be {KEY_BYTES} bytes")
    if not blob.startswith(MAGIC) or len(blob) < len(MAGIC) + NONCE_BYTES + aead.TAG_BYTES:
        raise UpdateError(RefusalKind.DECRYPT, "not a vigilcam update package")
    try:
        return Aead(key).open_random(blob[len(MAGIC):], _aad(name, version))
    except AeadError:
        raise UpdateError(RefusalKind.DECRYPT, f"package {name} {version} does not decrypt "
                          "(wrong key, or not the release it claims to be)") from None


def wrap_key(package_key: bytes, distribution_key: bytes, name: str, version: str) -> str:
    sealed = Aead(distribution_key).seal_random(package_key, _WRAP_LABEL + _aad(name, version))
    return base64.b64encode(sealed).decode()


def unwrap_key(wrapped: str, distribution_key: bytes | None, name: str, version: str) -> bytes:
    if distribution_key is None:
        raise UpdateError(RefusalKind.CONFIG, "the package key is wrapped but this device has no "
                          "distribution key (vigilcam update configure --distribution-key)")
    try:
        raw = base64.b64decode(wrapped, validate=True)
        return Aead(distribution_key).open_random(raw, _WRAP_LABEL + _aad(name, version))
    except (ValueError, AeadError):
        raise UpdateError(RefusalKind.DECRYPT, "the package key does not unwrap with this "
                          "device's distribution key") from None


def key_field(package_key: bytes, version: str, name: str,
              distribution_key: bytes | None = None) -> dict[str, Any]:
    """The ``custom.vigilcam`` entry of the signed targets metadata for one package."""
    entry: dict[str, Any] = {"version": version, "cipher": CIPHER}
    if distribution_key is None:
        entry["key"] = base64.b64encode(package_key).decode()
    else:
        entry["wrapped_key"] = wrap_key(package_key, distribution_key, name, version)
    return entry


def key_from_field(entry: dict[str, Any], name: str, distribution_key: bytes | None) -> bytes:
    if entry.get("cipher") != CIPHER:
        raise UpdateError(RefusalKind.PACKAGE,
                          f"unsupported package cipher {entry.get('cipher')!r}")
    version = str(entry.get("version", ""))
    if "wrapped_key" in entry:
        return unwrap_key(str(entry["wrapped_key"]), distribution_key, name, version)
    try:
        return base64.b64decode(str(entry["key"]), validate=True)
    except (KeyError, ValueError):
        raise UpdateError(RefusalKind.PACKAGE,
                          "the signed metadata carries no package key") from None


def build_tar(folder: Path) -> bytes:
    """A deterministic tar of ``folder``'s contents (no bytecode, no owners, no times)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for path in sorted(folder.rglob("*")):
            rel = path.relative_to(folder)
            if "__pycache__" in rel.parts:
                continue
            if path.is_symlink() or not (path.is_file() or path.is_dir()):
                raise UpdateError(RefusalKind.PACKAGE, f"refusing to pack non-regular file {rel}")
            add_normalised(tar, path, rel.as_posix())
    return buf.getvalue()


def add_normalised(tar: tarfile.TarFile, path: Path, arcname: str, *, mtime: int = 0,
                   owner: str = "") -> None:
    """One member with nothing of the build machine in it (owner ids, times, modes), so the
    same tree always gives the same bytes."""
    info = tar.gettarinfo(str(path), arcname=arcname)
    info.uid = info.gid = 0
    info.uname = info.gname = owner
    info.mtime = mtime
    info.mode = 0o755 if path.is_dir() else 0o644
    if path.is_file():
        with path.open("rb") as f:
            tar.addfile(info, f)
    else:
        tar.addfile(info)


def _check_member(member: tarfile.TarInfo) -> None:
    name = PurePosixPath(member.name)
    if name.is_absolute() or ".." in name.parts or not name.parts:
        raise UpdateError(RefusalKind.PACKAGE, f"unsafe path in package: {member.name!r}")
    if not (member.isfile() or member.isdir()):
        raise UpdateError(RefusalKind.PACKAGE, f"links and special files are refused: "
                          f"{member.name!r}")


def unpack(tar_bytes: bytes, dest: Path) -> list[str]:
    """Extract into ``dest`` (which must be empty) after checking every member; names returned."""
    dest.mkdir(parents=True, exist_ok=True)
    if any(dest.iterdir()):
        raise UpdateError(RefusalKind.PACKAGE, f"{dest} is not empty")
    try:
        with tarfile.open(fileobj=io.BytesIO(tar_bytes), mode="r:") as tar:
            members = tar.getmembers()
            if len(members) > MAX_MEMBERS:
                raise UpdateError(RefusalKind.PACKAGE, "package has too many files")
            if sum(m.size for m in members) > MAX_UNPACKED:
                raise UpdateError(RefusalKind.PACKAGE, "package unpacks larger than allowed")
            for member in members:
                _check_member(member)
            if hasattr(tarfile, "data_filter"):
                tar.extractall(dest, members=members, filter="data")
            else:  # Python before 3.11.4 (Debian 12 ships 3.11.2): members were checked above
                for member in members:
                    member.mode = 0o755 if member.isdir() else 0o644
                tar.extractall(dest, members=members)  # noqa: S202 - every member checked
    except tarfile.TarError as exc:
        raise UpdateError(RefusalKind.PACKAGE, f"package is not a valid tar ({exc})") from None
    return [m.name for m in members]
