"""The release build targets Debian 12 and 13 (docs/install.md, "Building a release" and
"Architectures: what was run"): one lock per Debian release and architecture, all pinning the
same versions (the package tree's dependency list, which every update over the channel must
keep, is one for all targets: IoT-1005-1 5.3.1.1), binary wheels only, and the Debian 13
package names python3.13 and sorts above the Debian 12 build of the same release.

No build and no network: the locks are files of the repository, the control data and names are
pure functions of the build tool. The full runs (install, start, login, audit in a Debian 13
root and in an arm64 root under qemu) take minutes and are recorded in the docs
(``packaging/try_in_chroot.py``)."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from tests.packaging.conftest import RELEASE, ROOT

LOCKS = ROOT / "packaging" / "locks"
TARGETS = [(python, arch) for python in ("cp311", "cp313") for arch in ("amd64", "arm64")]


@pytest.fixture
def release() -> Iterator[ModuleType]:
    """A private copy of packaging/release.py (its target selection is module state)."""
    spec = importlib.util.spec_from_file_location("release_under_test", RELEASE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module


def lock_lines(python: str, arch: str) -> list[str]:
    text = (LOCKS / f"{python}-{arch}.txt").read_text()
    return [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]


def test_every_target_locks_the_same_versions_hash_pinned(release: ModuleType) -> None:
    versions = {t: release.lock_versions(LOCKS / f"{t[0]}-{t[1]}.txt") for t in TARGETS}
    reference = versions[("cp311", "amd64")]
    assert len(reference) > 30
    for target, pins in versions.items():
        assert pins == reference, (target, set(pins.items()) ^ set(reference.items()))
    # the runtime dependencies of pyproject.toml are all in the lock (no stale lock)
    import tomllib

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    wanted = {d.split(">")[0].split("<")[0].split("=")[0].split("[")[0].strip().lower()
              for d in deps}
    assert wanted <= {n.lower() for n in reference}, wanted - {n.lower() for n in reference}
    for python, arch in TARGETS:
        header = (LOCKS / f"{python}-{arch}.txt").read_text().splitlines()[0]
        assert f"CPython {python[2]}.{python[3:]}," in header, header
        for line in lock_lines(python, arch):
            assert " --hash=sha256:" in line, line
            if line.endswith("# sdist"):  # the only source archives: pure, built at release
                assert line.split("==")[0].lower() in release.PURE_SDISTS, line
    # binary wheels differ per CPython (cp311 / cp313 builds): the hashes are not copied
    cp311 = {ln.split()[0]: ln for ln in lock_lines("cp311", "amd64")}
    cp313 = {ln.split()[0]: ln for ln in lock_lines("cp313", "amd64")}
    assert cp311["numpy==" + reference["numpy"]] != cp313["numpy==" + reference["numpy"]]


def test_debian13_package_names_python313_and_sorts_above_debian12(
        release: ModuleType) -> None:
    assert release.DEBIAN == "12" and release.PYTHON_VERSION == "3.11"  # the default target
    deb12 = release.control_text("0.1.0", "arm64", 1)
    assert "\nDepends: python3.11," in deb12 and "\nVersion: 0.1.0\n" in deb12
    assert release.deb_name("0.1.0", "arm64") == "vigilcam_0.1.0_arm64.deb"
    release.select_debian("13")
    control = release.control_text("0.1.0", "arm64", 1)
    assert "\nDepends: python3.13," in control and "python3.11" not in control
    assert "\nVersion: 0.1.0+deb13\n" in control and "\nArchitecture: arm64\n" in control
    assert release.deb_name("0.1.0", "amd64") == "vigilcam_0.1.0+deb13_amd64.deb"
    assert release.lock_path("arm64") == LOCKS / "cp313-arm64.txt"
    args = release.platform_args("arm64")
    assert args[args.index("--python-version") + 1] == "3.13"
    assert args[args.index("--abi") + 1] == "cp313"
    assert "manylinux2014_aarch64" in args
    assert release.target("arm64") == "deb13-arm64"  # dist/requirements-deb13-arm64.lock
    with pytest.raises(SystemExit, match="Debian 14 not supported"):
        release.select_debian("14")
    if shutil.which("dpkg"):  # 0.1.0 (Debian 12) < 0.1.0+deb13 < 0.1.1: a dist-upgrade upgrades
        for low, high in (("0.1.0", "0.1.0+deb13"), ("0.1.0+deb13", "0.1.1")):
            assert subprocess.run(["dpkg", "--compare-versions", low, "lt", high]).returncode == 0


def test_wheels_are_found_by_their_normalised_file_names(release: ModuleType,
                                                         tmp_path: Path) -> None:
    for name in ("boolean_py-5.0-py3-none-any.whl", "PyYAML-6.0.4-cp313-cp313-x.whl",
                 "typing_extensions-4.16.0-py3-none-any.whl", "numpy-2.2.6-cp313-cp313-x.whl",
                 "numpy-2.2.5-cp313-cp313-x.whl"):
        (tmp_path / name).write_bytes(b"")
    assert release.find_wheel(tmp_path, "boolean.py", "5.0").name.startswith("boolean_py-")
    assert release.find_wheel(tmp_path, "pyyaml", "6.0.4").name.startswith("PyYAML-")
    assert release.find_wheel(tmp_path, "typing-extensions", "4.16.0")
    assert release.find_wheel(tmp_path, "numpy", "2.2.6").name.startswith("numpy-2.2.6-")
    with pytest.raises(SystemExit, match="wheel for sslyze 6.3.1 not found"):
        release.find_wheel(tmp_path, "sslyze", "6.3.1")
