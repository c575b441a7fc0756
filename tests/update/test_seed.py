"""The system package's postinst fills an A/B slot from the release it ships (update/seed.py,
IoT-1005-1 5.3.1.1, TAICS 5.1.4.1): verified copy, switch, never a downgrade, repair."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.update.helpers import package_copy, write_code_key
from vigilcam.update.errors import UpdateError
from vigilcam.update.seed import seed


@pytest.fixture
def key(tmp_path):
    private = Ed25519PrivateKey.generate()
    return private, write_code_key(tmp_path / "code.pub", private)


def test_first_install_then_reinstall_keeps_a_newer_verified_update(tmp_path, key):
    private, pub = key
    shipped = package_copy(tmp_path / "release-010", "0.1.0", code_key=private)
    root = tmp_path / "opt"
    first = seed(shipped, root, pub)
    assert (first.result, first.slot) == ("installed", "slot_a")
    assert os.readlink(root / "current") == "slot_a"
    # an update over the channel put 0.1.1 in slot_b; reinstalling the 0.1.0 package keeps it
    newer = package_copy(tmp_path / "release-011", "0.1.1", code_key=private)
    assert seed(newer, root, pub).slot == "slot_b"
    kept = seed(shipped, root, pub)
    assert (kept.result, kept.version) == ("kept", "0.1.1")
    assert os.readlink(root / "current") == "slot_b"


def test_a_damaged_slot_is_repaired_and_an_unsigned_release_is_refused(tmp_path, key):
    private, pub = key
    shipped = package_copy(tmp_path / "release", "0.1.0", code_key=private)
    root = tmp_path / "opt"
    seed(shipped, root, pub)
    (root / "slot_a" / "vigilcam" / "product.py").write_text("SUPPORT_UNTIL = None\n")
    repaired = seed(shipped, root, pub)
    assert (repaired.result, repaired.slot) == ("installed", "slot_b")
    other = Ed25519PrivateKey.generate()
    foreign = package_copy(tmp_path / "foreign", "0.2.0", code_key=other)
    with pytest.raises(UpdateError, match="does not match its signed manifest"):
        seed(foreign, root, pub)
    assert os.readlink(root / "current") == "slot_b"
