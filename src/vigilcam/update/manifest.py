"""The signed code manifest: SHA-256 of every file of the installed package, signed with Ed25519.

Owns verified start, TAICS 5.1.4.1 ("only authorised software runs; boot only after integrity
is verified"): at start ``verify_start`` checks the installed ``vigilcam`` package against
``code-manifest.json`` (shipped inside the package, signed by the release key) and the service
refuses to run on any mismatch. Also used by the A/B installer (IoT-1005-1 5.3.1.1): a new slot
must carry a valid manifest before the device switches to it.

Invariants:
- The manifest lists every regular file under the package folder except ``__pycache__``
  folders (bytecode the host compiles; see docs/updates.md) and the manifest itself; a file
  that is modified, missing or not listed is a mismatch, named by its relative path.
- The signature covers the canonical JSON of the ``signed`` part (sorted keys, no spaces).
- The public key is pinned outside the package (the data dir); a manifest cannot vouch for
  itself.

Pure apart from reading files; the private key only ever comes from a file the release
engineer names (never from the repository).
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

MANIFEST_NAME = "code-manifest.json"
FORMAT = "vigilcam-code-manifest/1"
_SKIP_DIRS = {"__pycache__"}
_CHUNK = 1 << 20


class ManifestError(Exception):
    """The manifest is unreadable, malformed or carries a bad signature."""


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def package_files(package_dir: Path) -> tuple[list[str], list[str]]:
    """(regular files, symlinks or special files) under ``package_dir``, relative, sorted."""
    files, odd = [], []
    for path in sorted(package_dir.rglob("*")):
        rel = path.relative_to(package_dir)
        if _SKIP_DIRS.intersection(rel.parts) or rel.as_posix() == MANIFEST_NAME:
            continue
        if path.is_symlink() or (not path.is_file() and not path.is_dir()):
            odd.append(rel.as_posix())
        elif path.is_file():
            files.append(rel.as_posix())
    return files, odd


def build_manifest(package_dir: Path, version: str) -> dict[str, Any]:
    """The ``signed`` part: format, package, version and the sorted (path, sha256) list."""
    files, odd = package_files(package_dir)
    if odd:
        raise ManifestError(f"refusing to sign symlinks or special files: {', '.join(odd)}")
    return {
        "format": FORMAT,
        "package": package_dir.name,
        "version": version,
        "files": [[rel, file_digest(package_dir / rel)] for rel in files],
    }


def canonical(signed: dict[str, Any]) -> bytes:
    return json.dumps(signed, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def sign_manifest(signed: dict[str, Any], private_key: Ed25519PrivateKey) -> bytes:
    """The manifest file content: the signed part and one Ed25519 signature over it."""
    sig = private_key.sign(canonical(signed))
    doc = {"signed": signed, "signature": {"keyid": key_id(private_key.public_key()),
                                           "sig": base64.b64encode(sig).decode()}}
    return json.dumps(doc, indent=1, sort_keys=True).encode() + b"\n"


def write_signed_manifest(package_dir: Path, version: str, private_key: Ed25519PrivateKey) -> Path:
    """Release tooling: hash the package, sign, write ``<package>/code-manifest.json``."""
    target = package_dir / MANIFEST_NAME
    target.write_bytes(sign_manifest(build_manifest(package_dir, version), private_key))
    return target


def load_manifest(manifest_path: Path, public_key: Ed25519PublicKey) -> dict[str, Any]:
    """The ``signed`` part after checking the signature; ManifestError otherwise."""
    try:
        doc = json.loads(manifest_path.read_bytes())
        signed = doc["signed"]
        sig = base64.b64decode(doc["signature"]["sig"], validate=True)
    except OSError as exc:
        raise ManifestError(f"cannot read {manifest_path}: {exc.strerror}") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise ManifestError(f"{manifest_path} is not a code manifest ({exc})") from None
    try:
        public_key.verify(sig, canonical(signed))
    except InvalidSignature:
        raise ManifestError(f"{manifest_path}: signature does not verify with the pinned key "
                            f"{key_id(public_key)[:16]}") from None
    if not isinstance(signed, dict) or signed.get("format") != FORMAT:
        raise ManifestError(f"{manifest_path}: unknown manifest format")
    return signed


@dataclass
class CodeCheck:
    """The verdict of one verification: ok, and which files differ (relative paths)."""

    ok: bool
    version: str = ""
    mismatches: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # one line each, for logs and the audit
    files: int = 0


def verify_installed(
    manifest_path: Path, public_key: Ed25519PublicKey, package_dir: Path | None = None
) -> CodeCheck:
    """Check every installed file against the signed manifest (TAICS 5.1.4.1)."""
    package_dir = package_dir or manifest_path.parent
    try:
        signed = load_manifest(manifest_path, public_key)
        expected = {str(rel): str(digest) for rel, digest in signed["files"]}
        version = str(signed["version"])
    except ManifestError as exc:
        return CodeCheck(False, problems=[str(exc)])
    except (KeyError, TypeError, ValueError) as exc:
        return CodeCheck(False, problems=[f"{manifest_path}: malformed file list ({exc})"])
    check = CodeCheck(True, version=version, files=len(expected))
    present, odd = package_files(package_dir)
    for rel in odd:
        check.mismatches.append(rel)
        check.problems.append(f"unexpected symlink or special file: {rel}")
    for rel in present:
        if rel not in expected:
            check.mismatches.append(rel)
            check.problems.append(f"file not in the signed manifest: {rel}")
        elif file_digest(package_dir / rel) != expected[rel]:
            check.mismatches.append(rel)
            check.problems.append(f"modified (SHA-256 differs from the manifest): {rel}")
    for rel in sorted(set(expected) - set(present)):
        check.mismatches.append(rel)
        check.problems.append(f"missing: {rel}")
    check.mismatches.sort()
    check.ok = not check.mismatches
    return check


def load_public_key(path: Path) -> Ed25519PublicKey:
    """A PEM (SubjectPublicKeyInfo) Ed25519 public key."""
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except OSError as exc:
        raise ManifestError(f"cannot read the public key {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise ManifestError(f"{path} is not a PEM public key ({exc})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ManifestError(f"{path} is not an Ed25519 public key")
    return key


def load_private_key(path: Path, password: bytes | None = None) -> Ed25519PrivateKey:
    """A PEM (PKCS#8) Ed25519 private key from the release engineer's file."""
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=password)
    except OSError as exc:
        raise ManifestError(f"cannot read the signing key {path}: {exc.strerror}") from None
    except (ValueError, TypeError) as exc:
        raise ManifestError(f"{path} is not a usable PEM private key ({exc})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ManifestError(f"{path} is not an Ed25519 private key")
    return key


def public_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM,
                            serialization.PublicFormat.SubjectPublicKeyInfo)


def is_development_checkout(package_dir: Path) -> bool:
    """``src/vigilcam`` beside a ``pyproject.toml``: a developer's tree, not a release."""
    src = package_dir.parent
    return src.name == "src" and (src.parent / "pyproject.toml").exists()


@dataclass(frozen=True)
class StartVerdict:
    """What verified start decided: "verified", "development" (no manifest in a checkout) or
    "refused"; ``detail`` is the line to print or log."""

    state: str
    detail: str
    check: CodeCheck | None = None

    @property
    def may_run(self) -> bool:
        return self.state != "refused"


def verify_start(package_dir: Path, key_file: Path) -> StartVerdict:
    """The start gate (TAICS 5.1.4.1): run only verified code; a dev checkout may run unsigned."""
    manifest = package_dir / MANIFEST_NAME
    if not manifest.exists():
        if is_development_checkout(package_dir):
            return StartVerdict("development", "development install, no signed manifest")
        return StartVerdict("refused", f"no signed code manifest in {package_dir}: this is not "
                            "a signed release; install one or run from a development checkout")
    if not key_file.exists():
        return StartVerdict("refused", f"no pinned code-signing key at {key_file}: run "
                            "`vigilcam update configure --code-key FILE`")
    try:
        key = load_public_key(key_file)
    except ManifestError as exc:
        return StartVerdict("refused", str(exc))
    check = verify_installed(manifest, key, package_dir)
    if not check.ok:
        shown = "; ".join(check.problems[:5])
        more = f" (+{len(check.problems) - 5} more)" if len(check.problems) > 5 else ""
        return StartVerdict("refused", f"installed code does not match its signed manifest: "
                            f"{shown}{more}", check)
    return StartVerdict("verified", f"{check.files} files match the signed manifest of version "
                        f"{check.version}", check)
