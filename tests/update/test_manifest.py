"""Verified start against the signed code manifest (TAICS 5.1.4.1)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.update.helpers import SOURCE_PACKAGE, package_copy, write_code_key
from vigilcam.update.manifest import (
    MANIFEST_NAME,
    build_manifest,
    verify_installed,
    verify_start,
)


@pytest.fixture
def signed(tmp_path: Path) -> tuple[Path, Ed25519PrivateKey]:
    key = Ed25519PrivateKey.generate()
    pkg = package_copy(tmp_path / "release", "0.2.0", code_key=key) / "vigilcam"
    return pkg, key


def test_intact_package_verifies(signed):
    pkg, key = signed
    check = verify_installed(pkg / MANIFEST_NAME, key.public_key())
    assert check.ok and check.version == "0.2.0" and not check.mismatches
    assert check.files == len([p for p in pkg.rglob("*") if p.is_file()]) - 1  # all but itself
    listed = [rel for rel, _ in json.loads((pkg / MANIFEST_NAME).read_text())["signed"]["files"]]
    assert listed == sorted(listed) and "web/server.py" in listed


def test_one_modified_byte_is_found_and_named(signed):
    pkg, key = signed
    target = pkg / "auth" / "throttle.py"
    data = bytearray(target.read_bytes())
    data[100] ^= 0x20  # one byte, same length
    target.write_bytes(bytes(data))
    check = verify_installed(pkg / MANIFEST_NAME, key.public_key())
    assert not check.ok
    assert check.mismatches == ["auth/throttle.py"]
    assert "modified" in check.problems[0] and "auth/throttle.py" in check.problems[0]


def test_added_missing_and_symlinked_files_are_found(signed):
    pkg, key = signed
    (pkg / "backdoor.py").write_text("import os\n")
    (pkg / "product.py").unlink()
    os.symlink("/etc/passwd", pkg / "web" / "link.txt")
    check = verify_installed(pkg / MANIFEST_NAME, key.public_key())
    assert check.mismatches == ["backdoor.py", "product.py", "web/link.txt"]
    text = " | ".join(check.problems)
    assert "not in the signed manifest: backdoor.py" in text and "missing: product.py" in text


def test_bytecode_caches_are_not_part_of_the_manifest(signed):
    pkg, key = signed
    (pkg / "__pycache__").mkdir()
    (pkg / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\0" * 16)
    assert verify_installed(pkg / MANIFEST_NAME, key.public_key()).ok


def test_wrong_key_or_edited_manifest_refused(signed):
    pkg, key = signed
    other = Ed25519PrivateKey.generate()
    check = verify_installed(pkg / MANIFEST_NAME, other.public_key())
    assert not check.ok and "signature does not verify" in check.problems[0]
    # an attacker edits a file AND its hash in the manifest: the signature breaks
    doc = json.loads((pkg / MANIFEST_NAME).read_text())
    doc["signed"]["files"][0][1] = "0" * 64
    (pkg / MANIFEST_NAME).write_text(json.dumps(doc))
    check = verify_installed(pkg / MANIFEST_NAME, key.public_key())
    assert not check.ok and "signature does not verify" in check.problems[0]


def test_garbage_manifest_is_a_clear_failure(signed):
    pkg, key = signed
    (pkg / MANIFEST_NAME).write_text("{not json")
    check = verify_installed(pkg / MANIFEST_NAME, key.public_key())
    assert not check.ok and "is not a code manifest" in check.problems[0]


def test_start_gate(signed, tmp_path):
    pkg, key = signed
    key_file = write_code_key(tmp_path / "trust" / "code-signing.pub", key)
    verdict = verify_start(pkg, key_file)
    assert verdict.state == "verified" and verdict.may_run
    (pkg / "cli.py").write_text((pkg / "cli.py").read_text() + "\n# tampered\n")
    verdict = verify_start(pkg, key_file)
    assert verdict.state == "refused" and not verdict.may_run and "cli.py" in verdict.detail
    # no pinned key: refused with what to do
    verdict = verify_start(pkg, tmp_path / "nowhere.pub")
    assert verdict.state == "refused" and "vigilcam update configure" in verdict.detail


def test_development_checkout_runs_unsigned_but_an_installed_copy_does_not(tmp_path):
    assert not (SOURCE_PACKAGE / MANIFEST_NAME).exists()
    verdict = verify_start(SOURCE_PACKAGE, tmp_path / "none.pub")
    assert verdict.state == "development" and verdict.may_run
    assert verdict.detail == "development install, no signed manifest"
    copy = tmp_path / "site-packages" / "vigilcam"
    shutil.copytree(SOURCE_PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    verdict = verify_start(copy, tmp_path / "none.pub")
    assert verdict.state == "refused" and "no signed code manifest" in verdict.detail


def test_manifest_refuses_to_sign_symlinks(tmp_path):
    pkg = tmp_path / "p"
    pkg.mkdir()
    (pkg / "a.py").write_text("x = 1\n")
    os.symlink("a.py", pkg / "b.py")
    with pytest.raises(Exception, match="symlinks"):
        build_manifest(pkg, "1.0")
