"""Fixtures of the packaging tests: one release build per session, one install on this host.

The release is built once (``packaging/release.py`` with a key set generated for the session,
wheels cached under the git-ignored ``build/wheelhouse/``), then installed with
``apt-get install ./vigilcam_*.deb`` as root, exercised, and purged at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ROOT = Path(__file__).resolve().parents[2]
RELEASE = ROOT / "packaging" / "release.py"
KEY_NAMES = ("root", "targets", "snapshot", "timestamp", "code-signing")


@dataclass
class Built:
    dist: Path
    deb: Path
    keys: Path
    repo: Path
    seconds: float
    epoch: str = ""


def generate_keys(folder: Path) -> Path:
    folder.mkdir(parents=True, mode=0o700)
    for name in KEY_NAMES:
        key = Ed25519PrivateKey.generate()
        (folder / f"{name}.pem").write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
    return folder


def lock_report(folder: Path) -> Path:
    """A pip-audit JSON report of this machine's lock with no findings, as the release build
    gets it from pip-audit (whose service is off loopback): the device's audit judges by it."""
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True,
                          text=True).stdout.strip()
    deps = []
    lock = ROOT / "packaging" / "locks" / f"cp311-{arch}.txt"  # the default build: Debian 12
    for line in lock.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split(" ", 1)[0].split("==")
            deps.append({"name": name, "version": version, "vulns": []})
    path = folder / "pip-audit-report.json"
    path.write_text(json.dumps({"dependencies": deps, "fixes": []}))
    return path


def build(dist: Path, keys: Path, *, epoch: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "DEB_COMPRESS": "gzip"}  # fast; the content is the same as with xz
    if epoch:
        env["SOURCE_DATE_EPOCH"] = epoch
    report = lock_report(keys.parent)
    return subprocess.run([sys.executable, str(RELEASE), "--dist", str(dist), "--keys", str(keys),
                           "--advisories", str(report)],
                          capture_output=True, text=True, env=env, timeout=900)


def need_root_and_dpkg() -> None:
    if os.geteuid() != 0 or not shutil.which("dpkg-deb") or not shutil.which("apt-get"):
        pytest.skip("packaging tests build and install a .deb: they need root, dpkg-deb "
                    "and apt-get (run them as root on Debian)")


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    import time

    need_root_and_dpkg()
    base = tmp_path_factory.mktemp("release")
    keys = generate_keys(base / "keys")
    # one SOURCE_DATE_EPOCH for the session (the commit time), so later builds compare
    epoch = subprocess.run(["git", "-C", str(ROOT), "log", "-1", "--format=%ct"],
                           capture_output=True, text=True).stdout.strip() or "0"
    started = time.monotonic()
    done = build(base / "dist", keys, epoch=epoch)
    assert done.returncode == 0, done.stderr[-3000:]
    debs = sorted((base / "dist").glob("vigilcam_*.deb"))
    assert len(debs) == 1, debs
    return Built(base / "dist", debs[0], keys, base / "dist" / "repo", time.monotonic() - started,
                 epoch)


@pytest.fixture(scope="session")
def installed(built: Built) -> Iterator[Built]:
    """The package installed on this host (purged afterwards if a test left it)."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    done = subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", str(built.deb)],
                          capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    built.install_output = done.stdout  # type: ignore[attr-defined]
    yield built
    if subprocess.run(["dpkg", "-s", "vigilcam"], capture_output=True).returncode == 0:
        subprocess.run(["apt-get", "purge", "-y", "vigilcam"], capture_output=True, env=env,
                       timeout=300)
