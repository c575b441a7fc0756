"""Home Assistant's ONVIF setup with the onvif-zeep-async release Home Assistant pins.

The suite installs the newest onvif-zeep-async; Home Assistant's ONVIF integration pins its own
release in its manifest (``onvif-zeep-async==4.2.1``). This test installs that release beside
the suite's (``pip --target``, no dependencies: the rest is shared) and runs the same setup
sequence, stream and snapshot test with it first on the path (IoT-1005-1 5.4.2.1, 5.1.2.1).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HA_PINNED = "4.2.1"
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.peer
@pytest.mark.slow
def test_setup_sequence_with_the_release_home_assistant_pins(tmp_path: Path) -> None:
    target = tmp_path / "onvif-zeep-async"
    pip = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check",
         "--no-deps", "--target", str(target), f"onvif-zeep-async=={HA_PINNED}"],
        capture_output=True, text=True, timeout=300)
    assert pip.returncode == 0, pip.stderr
    env = {**os.environ,
           "PYTHONPATH": os.pathsep.join(p for p in (str(target), str(ROOT),
                                                     os.environ.get("PYTHONPATH", "")) if p),
           "VIGILCAM_ONVIF_CLIENT_DIR": str(target),
           "VIGILCAM_ONVIF_CLIENT_VERSION": HA_PINNED}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "tests/onvif/test_home_assistant.py"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "1 passed" in run.stdout
