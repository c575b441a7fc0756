"""Reproducible release: the same commit, keys and SOURCE_DATE_EPOCH give the same .deb
(docs/install.md, "Reproducible"; IoT-1005-1 5.3.1.2: what devices install can be rebuilt and
compared by anyone holding the source)."""

from __future__ import annotations

import hashlib
import subprocess

import pytest

from tests.packaging.conftest import Built, build

pytestmark = [pytest.mark.slow]


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_building_twice_gives_the_same_deb(built: Built, tmp_path) -> None:
    again = build(tmp_path / "dist", built.keys, epoch=built.epoch)
    assert again.returncode == 0, again.stderr[-3000:]
    second = tmp_path / "dist" / built.deb.name
    assert sha256(second) == sha256(built.deb)
    # the update package is encrypted with a fresh key and nonce: it differs, by design
    first_pkg = next((built.repo / "targets").glob("*.vigilcam.pkg"))
    second_pkg = next((tmp_path / "dist" / "repo" / "targets").glob("*.vigilcam.pkg"))
    assert first_pkg.name != second_pkg.name
    # and the control data names the architecture it was built for
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True,
                          text=True).stdout.strip()
    field = subprocess.run(["dpkg-deb", "-f", str(second), "Architecture"], capture_output=True,
                           text=True).stdout.strip()
    assert field == arch
