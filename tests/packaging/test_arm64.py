"""The arm64 wheel set resolves and downloads with binary wheels only, hash-checked
(docs/install.md, "Architectures"); the same versions as amd64."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.packaging.conftest import RELEASE, ROOT

pytestmark = [pytest.mark.slow]


def pins(arch: str) -> list[str]:
    lines = (ROOT / "packaging" / "locks" / f"cp311-{arch}.txt").read_text().splitlines()
    return [ln.split(" ", 1)[0] for ln in lines if ln and not ln.startswith("#")]


def test_arm64_wheel_set_is_binary_and_matches_amd64() -> None:
    assert pins("arm64") == pins("amd64")
    done = subprocess.run([sys.executable, str(RELEASE), "--arch", "arm64", "--wheels-only"],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    cache = ROOT / "build" / "wheelhouse" / "arm64"
    wheels = sorted(cache.glob("*.whl"))
    assert len(wheels) >= len(pins("arm64")) - 1  # sslyze's pure wheel is built elsewhere
    for wheel in wheels:
        tags = wheel.name[:-4].split("-")[-1]
        assert tags == "any" or "aarch64" in tags, wheel.name
    assert any("aarch64" in w.name for w in wheels)
