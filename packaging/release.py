"""Release build: ``make release`` writes ``dist/`` (Debian package, wheel, lock, signed tree,
encrypted update package, TUF repository). See docs/install.md, "Building a release".

Serves IoT-1005-1 5.3.1.1-5.3.1.2 and 5.4.1.1 (signed, encrypted release packages, the static TUF
repository devices update from) and TAICS 5.1.4.1 (the package tree carries its Ed25519-signed
code manifest; the Debian package pins the key that verifies it). The repository also carries the
lock's vulnerability advisories (pip-audit's report, ``sbom.advisories``), which devices fetch
with each update check for their audit of IoT-1005-1 5.2.1.1.

Keys (never in the repository): ``--keys DIR`` holds the release keys, one PEM Ed25519 private
key per TUF role (``root.pem``, ``targets.pem``, ``snapshot.pem``, ``timestamp.pem``) and the
code-signing key (``code-signing.pem``); the root key belongs offline and is only read when the
repository is created. Without ``--keys`` a test key set is generated once under
``build/test-keys/`` (git-ignored).

Reproducible: with the same commit, keys and ``SOURCE_DATE_EPOCH`` (default: the commit time)
the ``.deb`` is byte-identical; file times are clamped, owners are root, files are sorted, Python
bytecode uses checked hashes. The update package is encrypted with a fresh key and nonce, so
``dist/repo`` differs from build to build (docs/install.md).

Targets: ``--debian 12`` (default: bookworm, Raspberry Pi OS bookworm, CPython 3.11) or
``--debian 13`` (trixie, CPython 3.13). Each has its own hash-pinned locks
(``packaging/locks/cp311-<arch>.txt``, ``cp313-<arch>.txt``), all pinning the same versions: the
package tree's dependency list, which the update channel's releases must keep, is one for every
target. The Debian 13 package's version carries ``+deb13`` (``vigilcam_0.1.0+deb13_amd64.deb``):
both packages sit side by side in ``dist/``, and a device moved from Debian 12 to 13 upgrades.

Usage: python packaging/release.py [--dist dist] [--keys DIR] [--arch amd64|arm64]
       [--debian 12|13] [--advisories REPORT.json] [--lock]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "vigilcam"
PACKAGING = ROOT / "packaging"
LOCKS = PACKAGING / "locks"
WHEEL_CACHE = ROOT / "build" / "wheelhouse"  # git-ignored; downloaded wheels are reused
TEST_KEYS = ROOT / "build" / "test-keys"
DEBIAN_PYTHON = {"12": "3.11", "13": "3.13"}  # Debian release -> its python3 (bookworm, trixie)
DEFAULT_DEBIAN = "12"
DEBIAN = DEFAULT_DEBIAN  # the target of this build: set by select_debian (from --debian)
PYTHON_VERSION = DEBIAN_PYTHON[DEBIAN]
DEB_ARCH = {"amd64": "x86_64", "arm64": "aarch64"}
PLATFORM = "manylinux2014_{machine}"  # glibc 2.17: one baseline, the same versions per arch
PURE_SDISTS = {"sslyze"}  # pure Python, published as sdist only: built into a py3-none-any wheel
UPDATE_CHANNEL = "https://vigilcam.github.io/updates/stable"
WORK = ROOT / "build" / "release"  # per dist folder: set in main (parallel builds do not mix)
KEY_FILES = ("root", "targets", "snapshot", "timestamp", "code-signing")
MAINTAINER = "vigilcam project <security@vigilcam.invalid>"


def select_debian(release: str) -> None:
    """Target Debian ``release`` (its CPython, locks, package name) for the rest of the run."""
    global DEBIAN, PYTHON_VERSION
    if release not in DEBIAN_PYTHON:
        raise SystemExit(f"Debian {release} not supported ({', '.join(DEBIAN_PYTHON)})")
    DEBIAN, PYTHON_VERSION = release, DEBIAN_PYTHON[release]


def deb_version(version: str) -> str:
    """The package version: plain for Debian 12, ``+debN`` after it for a later release (sorts
    above the Debian 12 build of the same release, below the next release)."""
    return version if DEBIAN == DEFAULT_DEBIAN else f"{version}+deb{DEBIAN}"


def target(arch: str) -> str:
    """The name of a build target in dist/ file names: ``amd64``, ``deb13-amd64``."""
    return arch if DEBIAN == DEFAULT_DEBIAN else f"deb{DEBIAN}-{arch}"


def log(msg: str) -> None:
    print(f"release: {msg}", file=sys.stderr, flush=True)


def run(cmd: list[str], *, check: bool = True, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, check=check, text=True, **kw)  # type: ignore[call-overload,no-any-return]


def source_date_epoch() -> int:
    if os.environ.get("SOURCE_DATE_EPOCH"):
        return int(os.environ["SOURCE_DATE_EPOCH"])
    try:
        out = run(["git", "-C", str(ROOT), "log", "-1", "--format=%ct"], capture_output=True)
        return int(out.stdout.strip())
    except (subprocess.CalledProcessError, ValueError, FileNotFoundError):
        return 0


def package_version() -> str:
    for line in (SRC / "__init__.py").read_text().splitlines():
        if line.startswith("__version__"):
            return line.split("=", 1)[1].strip().strip('"')
    raise SystemExit("no __version__ in src/vigilcam/__init__.py")


# --- keys ------------------------------------------------------------------------------------

def keys(key_dir: Path | None) -> Path:
    """The release key folder, or the test key set (generated once, git-ignored)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    if key_dir is not None:  # root.pem only when the repository is created (kept offline)
        missing = [n for n in KEY_FILES if n != "root" and not (key_dir / f"{n}.pem").exists()]
        if missing:
            raise SystemExit(f"{key_dir}: missing {', '.join(f'{m}.pem' for m in missing)}")
        return key_dir
    TEST_KEYS.mkdir(parents=True, exist_ok=True, mode=0o700)
    for name in KEY_FILES:
        path = TEST_KEYS / f"{name}.pem"
        if not path.exists():
            key = Ed25519PrivateKey.generate()
            path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                               serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
            path.chmod(0o600)
    log(f"TEST KEY SET {TEST_KEYS} (not for a public release: pass --keys / KEYS=)")
    return TEST_KEYS


# --- lock and wheels -------------------------------------------------------------------------

def pip(*args: str) -> list[str]:
    return [sys.executable, "-m", "pip", "--disable-pip-version-check", *args]


def platform_args(arch: str) -> list[str]:
    return ["--only-binary=:all:", "--platform", PLATFORM.format(machine=DEB_ARCH[arch]),
            "--python-version", PYTHON_VERSION, "--implementation", "cp",
            "--abi", f"cp{PYTHON_VERSION.replace('.', '')}"]


def lock_path(arch: str) -> Path:
    return LOCKS / f"cp{PYTHON_VERSION.replace('.', '')}-{arch}.txt"


def _sdist_wheels(names: dict[str, str], out: Path) -> dict[str, Path]:
    """Build py3-none-any wheels from the pinned sdists (``name -> version``)."""
    out.mkdir(parents=True, exist_ok=True)
    built = {}
    for name, version in names.items():
        have = list(out.glob(f"{name}-{version}-*.whl"))
        if not have:
            run(pip("wheel", "-q", "--no-deps", "-w", str(out), f"{name}=={version}"))
            have = list(out.glob(f"{name}-{version}-*.whl"))
        if not have or not have[0].name.endswith("-py3-none-any.whl"):
            raise SystemExit(f"{name} {version} did not build a pure py3-none-any wheel")
        built[name] = have[0]
    return built


def make_lock(arch: str, same_as: Path | None = None) -> Path:
    """Resolve the runtime dependencies for ``arch`` and the selected Debian's CPython (binary
    wheels only) and write the lock. ``same_as``: a lock whose versions this one must pin (the
    reference target), so that every target bundles the same versions."""
    import tomllib

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    work = ROOT / "build" / "lock"
    work.mkdir(parents=True, exist_ok=True)
    (work / "requirements.in").write_text("\n".join(deps) + "\n")
    constraints: list[str] = []
    if same_as is not None:
        (work / "constraints.txt").write_text("".join(
            f"{name}=={version}\n" for name, version in lock_versions(same_as).items()))
        constraints = ["-c", str(work / "constraints.txt")]
    # sdist-only pure packages: resolve their newest version, build a local wheel to resolve with
    local = WHEEL_CACHE / "local"
    report = work / f"report-cp{PYTHON_VERSION.replace('.', '')}-{arch}.json"
    versions: dict[str, str] = {}
    for _ in range(2):  # a first pass finds the sdist-only versions, the second resolves all
        _sdist_wheels(versions, local)
        cmd = pip("install", "-q", "--dry-run", "--ignore-installed", "--target",
                  str(work / "t"), "--report", str(report), "--find-links", str(local),
                  *platform_args(arch), *constraints, "-r", str(work / "requirements.in"))
        done = run(cmd, capture_output=True, check=False)
        if done.returncode == 0:
            break
        for name in PURE_SDISTS:
            out = run(pip("download", "-q", "--no-deps", "--no-binary=:all:", "-d",
                          str(work / "sdist"), name), capture_output=True)
            del out
            sd = sorted((work / "sdist").glob(f"{name}-*.tar.gz"))[-1]
            versions[name] = sd.name[len(name) + 1:-len(".tar.gz")]
    else:
        why = "\n".join(ln for ln in done.stderr.splitlines() if "ERROR" in ln)[-1500:]
        pinned = f", pinning the versions of {same_as.name}" if same_as else ""
        raise SystemExit(f"cannot resolve the {arch} wheel set for CPython {PYTHON_VERSION} "
                         f"with binary wheels only{pinned}:\n{why}")
    lines = [f"# vigilcam {package_version()} runtime dependencies for {arch}, CPython "
             f"{PYTHON_VERSION}, {PLATFORM.format(machine=DEB_ARCH[arch])}, binary wheels only.",
             "# Written by `make lock` (packaging/release.py --lock); used by `make release`.",
             "# Entries marked 'sdist' are pure Python published only as source: the release build",
             "# makes a py3-none-any wheel from the pinned sdist hash."]
    for item in sorted(json.loads(report.read_text())["install"],
                       key=lambda i: i["metadata"]["name"].lower()):
        name, version = item["metadata"]["name"], item["metadata"]["version"]
        url = item["download_info"]["url"]
        if name.lower() in PURE_SDISTS:  # a wheel built here from an sdist: pin the sdist
            sd = sorted((work / "sdist").glob(f"{name}-{version}.tar.gz"))
            if not sd:
                run(pip("download", "-q", "--no-deps", "--no-binary=:all:", "-d",
                        str(work / "sdist"), f"{name}=={version}"))
                sd = sorted((work / "sdist").glob(f"{name}-{version}.tar.gz"))
            digest = hashlib.sha256(sd[0].read_bytes()).hexdigest()
            lines.append(f"{name}=={version} --hash=sha256:{digest}  # sdist")
        else:
            del url
            digest = item["download_info"]["archive_info"]["hashes"]["sha256"]
            lines.append(f"{name}=={version} --hash=sha256:{digest}")
    LOCKS.mkdir(parents=True, exist_ok=True)
    path = lock_path(arch)
    path.write_text("\n".join(lines) + "\n")
    log(f"wrote {path.relative_to(ROOT)} ({len(lines) - 4} packages)")
    return path


def lock_versions(path: Path) -> dict[str, str]:
    """``{name: version}`` of a lock file (what must be equal on every target)."""
    pins = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split(" ", 1)[0].split("==")
            pins[name] = version
    return pins


def make_locks(releases: list[str]) -> list[Path]:
    """The locks of every architecture for ``releases``: Debian 12 amd64 resolves freely (the
    reference), every other target pins its versions or fails naming what has no wheel."""
    reference = (DEFAULT_DEBIAN, "amd64")
    written = []
    for release in sorted(releases, key=lambda r: r != reference[0]):
        select_debian(release)
        for arch in sorted(DEB_ARCH, key=lambda a: (release, a) != reference):
            if (release, arch) == reference:
                written.append(make_lock(arch))
                continue
            select_debian(reference[0])
            ref = lock_path(reference[1])
            select_debian(release)
            written.append(make_lock(arch, same_as=ref))
    return written


def read_lock(arch: str) -> tuple[list[str], dict[str, str]]:
    """(binary requirement lines, {sdist name: 'name==version --hash=...'})."""
    path = lock_path(arch)
    if not path.exists():
        raise SystemExit(f"{path.relative_to(ROOT)} missing: run `make lock`")
    binary, sdists = [], {}
    for line in path.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        req = line.split("  #", 1)[0].strip()
        if line.rstrip().endswith("# sdist"):
            sdists[req.split("==", 1)[0]] = req
        else:
            binary.append(req)
    return binary, sdists


def find_wheel(folder: Path, name: str, version: str) -> Path:
    """The one wheel of ``name`` ``version`` in ``folder``; wheel file names normalise the
    project name (``boolean.py`` -> ``boolean_py-5.0-py3-none-any.whl``, PEP 427 / 503)."""
    stem = re.sub(r"[-_.]+", "_", name).lower()
    found = [p for p in folder.glob("*.whl")
             if re.sub(r"[-_.]+", "_", p.name.split("-", 1)[0]).lower() == stem
             and p.name.split("-")[1] == version]
    if len(found) != 1:
        raise SystemExit(f"wheel for {name} {version} not found in {folder}")
    return found[0]


def fetch_wheels(arch: str) -> list[Path]:
    """Every wheel of the lock for ``arch``, downloaded once into the wheel cache (hash-checked)."""
    binary, sdists = read_lock(arch)
    cache = WHEEL_CACHE / target(arch)
    cache.mkdir(parents=True, exist_ok=True)
    req = cache / "binary.txt"
    req.write_text("\n".join(binary) + "\n")
    run(pip("download", "-q", "--no-deps", "--require-hashes", "-d", str(cache),
            *platform_args(arch), "-r", str(req)))
    wheels = []
    for line in binary:
        name, version = line.split(" ", 1)[0].split("==")
        wheels.append(find_wheel(cache, name, version))
    sdist_dir = WHEEL_CACHE / "sdist"
    for req_line in sdists.values():
        (sdist_dir / "req.txt").parent.mkdir(parents=True, exist_ok=True)
        (sdist_dir / "req.txt").write_text(req_line + "\n")
        run(pip("download", "-q", "--no-deps", "--no-binary=:all:", "--require-hashes",
                "-d", str(sdist_dir), "-r", str(sdist_dir / "req.txt")))
        name, version = req_line.split(" ", 1)[0].split("==")
        sd = sdist_dir / f"{name}-{version}.tar.gz"
        out = WHEEL_CACHE / "pure"
        have = list(out.glob(f"{name}-{version}-py3-none-any.whl"))
        if not have:
            run(pip("wheel", "-q", "--no-deps", "-w", str(out), str(sd)))
            have = list(out.glob(f"{name}-{version}-py3-none-any.whl"))
        if not have:
            raise SystemExit(f"{name} {version}: no pure wheel built")
        wheels.append(have[0])
    return sorted(wheels)


# --- the package tree and the wheel ----------------------------------------------------------

def package_tree(out: Path, version: str, code_key: Path, arch: str) -> Path:
    """``out/vigilcam``: the source package without bytecode, with the dependency list it was
    built against, its manifest signed."""
    sys.path.insert(0, str(ROOT / "src"))
    from vigilcam.update import dependencies
    from vigilcam.update.manifest import load_private_key, write_signed_manifest

    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(SRC, out / "vigilcam",
                    ignore=shutil.ignore_patterns("__pycache__", "code-manifest.json"))
    binary, sdists = read_lock(arch)
    pins = dependencies.parse("\n".join([*binary, *sdists.values()]).replace(" --hash", " #"))
    (out / "vigilcam" / dependencies.DEPENDENCIES_NAME).write_text(dependencies.render(pins))
    write_signed_manifest(out / "vigilcam", version, load_private_key(code_key))
    return out


def build_wheel(tree: Path, dist: Path, epoch: int) -> Path:
    """The wheel of the signed tree (its code manifest included)."""
    stage = WORK / "wheel-src"
    if stage.exists():
        shutil.rmtree(stage)
    stage.mkdir(parents=True)
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, stage / name)
    shutil.copytree(tree / "vigilcam", stage / "src" / "vigilcam")
    env = {**os.environ, "SOURCE_DATE_EPOCH": str(epoch)}
    run(pip("wheel", "-q", "--no-deps", "-w", str(dist), str(stage)),
        env=env, cwd=stage)
    wheels = sorted(dist.glob("vigilcam-*.whl"))
    if not wheels:
        raise SystemExit("no wheel built")
    return wheels[-1]


# --- the TUF repository ----------------------------------------------------------------------

def advisories(arch: str, given: Path | None) -> bytes | None:
    """The lock's vulnerability report as the signed advisories target (IoT-1005-1 5.2.1.1).

    ``given``: a pip-audit JSON report made elsewhere (an offline build); else pip-audit audits
    the hash-pinned lock now. None when neither is possible: devices then read NOT TESTED."""
    from vigilcam.sbom import advisories as adv

    if given is not None:
        report, source = json.loads(given.read_text()), f"pip-audit report {given.name}"
    else:
        binary, sdists = read_lock(arch)
        req = WORK / f"audit-{target(arch)}.txt"
        out = WORK / f"audit-{target(arch)}.json"
        req.parent.mkdir(parents=True, exist_ok=True)
        req.write_text("\n".join([*binary, *sdists.values()]) + "\n")
        out.unlink(missing_ok=True)
        done = run([sys.executable, "-m", "pip_audit", "-r", str(req), "--no-deps",
                    "--disable-pip", "--format", "json", "--progress-spinner", "off",
                    "--output", str(out)], check=False, capture_output=True)
        if done.returncode not in (0, 1) or not out.exists():
            last = (done.stderr.strip().splitlines() or ["no output"])[-1][:200]
            log(f"no advisories published: pip-audit could not audit the lock ({last}); "
                "devices' audits read NOT TESTED for 5.2.1.1 until they are (--advisories)")
            return None
        report = json.loads(out.read_text())
        deps = report.get("dependencies") or []
        if not any(isinstance(d, dict) and not d.get("skip_reason") for d in deps):
            log("no advisories published: pip-audit looked up none of the lock's packages "
                "(its service unreachable?); devices' audits read NOT TESTED for 5.2.1.1")
            return None
        source = f"pip-audit, PyPI advisory database, on requirements-{target(arch)}.lock"
    return adv.document(report, generated=dt.datetime.now(dt.UTC), source=source)


def tuf_repository(repo_dir: Path, key_dir: Path, tree: Path, version: str,
                   epoch: int, advisories_doc: bytes | None = None) -> bytes:
    """Create (once) or continue the repository; publish ``version`` unless it is current, and
    the advisories when given. Returns the root metadata devices pin."""
    from vigilcam.update.manifest import load_private_key
    from vigilcam.update.package import build_tar
    from vigilcam.update.repository import DEFAULT_EXPIRY, ReleaseRepository, signer_from_key

    signers = {role: signer_from_key(load_private_key(key_dir / f"{role}.pem"))
               for role in ("targets", "snapshot", "timestamp")}
    if (repo_dir / "metadata" / "1.root.json").exists():
        repo = ReleaseRepository.load(repo_dir, signers)  # the root key is not read
    else:
        signers["root"] = signer_from_key(load_private_key(key_dir / "root.pem"))
        repo = ReleaseRepository(repo_dir, signers)
        # The root's expiry from SOURCE_DATE_EPOCH: the same keys give the same root bytes.
        repo.root.signed.expires = (dt.datetime.fromtimestamp(epoch, dt.UTC)
                                    + DEFAULT_EXPIRY["root"])
        repo.initialise()
    if advisories_doc is not None:  # signed with the release's state below
        repo.stage_advisories(advisories_doc)
        log("publishing the vulnerability advisories of the lock")
    current = repo.targets.signed.targets.get("vigilcam.pkg")
    custom = current.custom.get("vigilcam", {}) if current is not None else {}
    if custom.get("version") == version:
        log(f"repository already publishes {version}")
        if advisories_doc is not None:
            repo.bump()
    else:
        blob = repo.publish(version, build_tar(tree))
        log(f"published {version}: {blob.relative_to(repo_dir.parent)}")
    return (repo_dir / "metadata" / "root.json").read_bytes()


# --- the Debian package ----------------------------------------------------------------------

def _normalise(root: Path, epoch: int) -> None:
    """Modes by kind (not by the builder's umask) and every time clamped to the epoch."""
    for path in sorted(root.rglob("*"), reverse=True):
        if path.is_symlink():
            os.utime(path, (epoch, epoch), follow_symlinks=False)
            continue
        if path.is_dir():
            path.chmod(0o755)
        elif path.name.endswith(".so") or ".so." in path.name or "site-packages" in path.parts:
            path.chmod(0o644)  # shared objects are loaded and bundled modules imported, not run
        else:
            executable = path.stat().st_mode & 0o111
            path.chmod(0o755 if executable else 0o644)
        os.utime(path, (epoch, epoch))
    os.utime(root, (epoch, epoch))


def _venv(stage: Path, wheels: list[Path], arch: str, epoch: int) -> Path:
    """/usr/lib/vigilcam/venv: the bundled dependencies beside Debian's python3.11."""
    venv = stage / "usr/lib/vigilcam/venv"
    site = venv / f"lib/python{PYTHON_VERSION}/site-packages"
    site.mkdir(parents=True)
    run(pip("install", "-q", "--no-deps", "--no-index", "--no-compile", "--target", str(site),
            *platform_args(arch), *map(str, wheels)), capture_output=True)
    shutil.rmtree(site / "bin", ignore_errors=True)  # console scripts with the builder's path
    for vcs in site.rglob(".gitignore"):
        vcs.unlink()
    (venv / "bin").mkdir()
    # relative: /usr/lib/vigilcam/venv/bin -> /usr/bin
    os.symlink(f"../../../../bin/python{PYTHON_VERSION}", venv / "bin" / "python3")
    (venv / "pyvenv.cfg").write_text(
        f"home = /usr/bin\ninclude-system-site-packages = false\nversion = {PYTHON_VERSION}\n")
    python = target_python()
    if python:  # checked-hash bytecode (SOURCE_DATE_EPOCH): reproducible
        env = {**os.environ, "SOURCE_DATE_EPOCH": str(epoch)}
        subprocess.run([python, "-m", "compileall", "-q", "-j", "0", "-s", str(stage),
                        "-p", "/", str(site)], env=env, check=False, capture_output=True)
    else:
        log(f"no python{PYTHON_VERSION} on this host (TARGET_PYTHON=): bundled dependencies "
            "not precompiled (they are compiled in memory at each start)")
    return venv


def target_python() -> str | None:
    """An interpreter of the target's CPython minor version to precompile the bundle with:
    ``TARGET_PYTHON`` or ``python3.X`` on the PATH, used only if it runs and is that version
    (bytecode is the same for every architecture and patch release of a minor version)."""
    for candidate in (os.environ.get("TARGET_PYTHON"), shutil.which(f"python{PYTHON_VERSION}")):
        if not candidate:
            continue
        ask = "import sys; print('%d.%d' % sys.version_info[:2])"
        done = subprocess.run([candidate, "-c", ask], capture_output=True, text=True,
                              check=False)
        if done.returncode == 0 and done.stdout.strip() == PYTHON_VERSION:
            return candidate
    return None


def _installed_size(stage: Path) -> int:
    total = 0
    for path in stage.rglob("*"):
        if path.is_file() and not path.is_symlink():
            total += (path.stat().st_size + 1023) // 1024
    return total


def _changelog(version: str, epoch: int) -> bytes:
    when = dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
    text = (f"vigilcam ({version}) stable; urgency=medium\n\n"
            f"  * Release {version}: see the project's release notes.\n\n"
            f" -- {MAINTAINER}  {when}\n")
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=epoch, filename="") as gz:
        gz.write(text.encode())
    return buf.getvalue()


def build_deb(dist: Path, tree: Path, wheels: list[Path], arch: str, version: str,
              key_dir: Path, root_json: bytes, epoch: int, compress: str) -> Path:
    from vigilcam.update.manifest import load_private_key, public_pem

    stage = WORK / f"deb-{target(arch)}"
    if stage.exists():
        shutil.rmtree(stage)
    stage.mkdir(parents=True)
    venv = _venv(stage, wheels, arch, epoch)
    del venv
    shutil.copytree(tree / "vigilcam", stage / "usr/lib/vigilcam/release/vigilcam")
    bindir = stage / "usr/bin"
    bindir.mkdir(parents=True)
    shutil.copy(PACKAGING / "vigilcam.sh", bindir / "vigilcam")
    (bindir / "vigilcam").chmod(0o755)
    shutil.copy(PACKAGING / "restart-if-updated", stage / "usr/lib/vigilcam/restart-if-updated")
    (stage / "usr/lib/vigilcam/restart-if-updated").chmod(0o755)
    units = stage / "lib/systemd/system"
    units.mkdir(parents=True)
    for unit in ("vigilcam.service", "vigilcam-update.service", "vigilcam-update.timer",
                 "vigilcam-update.path"):
        shutil.copy(PACKAGING / unit, units / unit)
    share = stage / "usr/share/vigilcam"
    (share / "trust").mkdir(parents=True)
    (share / "trust" / "root.json").write_bytes(root_json)
    (share / "trust" / "code-signing.pub").write_bytes(
        public_pem(load_private_key(key_dir / "code-signing.pem").public_key()))
    (share / "update-channel").write_text(os.environ.get("UPDATE_CHANNEL", UPDATE_CHANNEL) + "\n")
    doc = stage / "usr/share/doc/vigilcam"
    doc.mkdir(parents=True)
    shutil.copy(PACKAGING / "debian" / "copyright", doc / "copyright")
    (doc / "changelog.gz").write_bytes(_changelog(deb_version(version), epoch))  # a native package
    # The documentation pack the audit reads (IoT-1005-1 5.2.3.x): SECURITY.md and docs/*.md.
    shutil.copy(ROOT / "SECURITY.md", doc / "SECURITY.md")
    (doc / "docs").mkdir()
    for page in sorted((ROOT / "docs").glob("*.md")):
        shutil.copy(page, doc / "docs" / page.name)
    shutil.copy(lock_path(arch), doc / "requirements.lock")
    overrides = stage / "usr/share/lintian/overrides"
    overrides.mkdir(parents=True)
    shutil.copy(PACKAGING / "debian" / "lintian-overrides", overrides / "vigilcam")
    man = stage / "usr/share/man/man1"
    man.mkdir(parents=True)
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=epoch, filename="") as gz:
        gz.write((PACKAGING / "vigilcam.1").read_bytes())
    (man / "vigilcam.1.gz").write_bytes(buf.getvalue())
    _normalise(stage, epoch)
    control = stage / "DEBIAN"
    control.mkdir()
    for script in ("postinst", "prerm", "postrm"):
        shutil.copy(PACKAGING / "debian" / script, control / script)
        (control / script).chmod(0o755)
    (control / "control").write_text(control_text(version, arch, _installed_size(stage)))
    for path in control.iterdir():
        os.utime(path, (epoch, epoch))
    os.utime(control, (epoch, epoch))
    deb = dist / deb_name(version, arch)
    env = {**os.environ, "SOURCE_DATE_EPOCH": str(epoch)}
    level = ["-z1"] if compress == "gzip" else []  # gzip: the fast test builds
    run(["dpkg-deb", "--root-owner-group", f"-Z{compress}", *level, "--build", str(stage),
         str(deb)],
        env=env, capture_output=True)
    return deb


def deb_name(version: str, arch: str) -> str:
    return f"vigilcam_{deb_version(version)}_{arch}.deb"


def control_text(version: str, arch: str, installed_size: int) -> str:
    """The package's control data for the selected Debian release."""
    return (
        "Package: vigilcam\n"
        f"Version: {deb_version(version)}\n"
        f"Architecture: {arch}\n"
        f"Maintainer: {MAINTAINER}\n"
        f"Installed-Size: {installed_size}\n"
        f"Depends: python{PYTHON_VERSION}, adduser, util-linux (>= 2.33), libc6 (>= 2.17)\n"
        "Recommends: systemd, openssl\n"
        "Section: video\n"
        "Priority: optional\n"
        "Homepage: https://github.com/vigilcam/vigilcam\n"
        "Description: network camera that is secure by default and proves it\n"
        " vigilcam turns a Linux host with a camera into a network camera built to\n"
        " Taiwan's IoT-1005-1 (ETSI EN 303 645) and TAICS TS 5100-2-1: HTTPS-only\n"
        " web interface, RTSPS video, signed updates with A/B slots and rollback,\n"
        " verified start, a tamper-evident security log and a built-in audit.\n"
        " .\n"
        " Python dependencies are bundled (binary wheels, hash-pinned) so the\n"
        " install needs no network.\n")


# --- main ------------------------------------------------------------------------------------

def deterministic_tar(folder: Path, out: Path, epoch: int) -> None:
    from vigilcam.update.package import add_normalised

    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(folder.rglob("*")):
            add_normalised(tar, path, path.relative_to(folder.parent).as_posix(), mtime=epoch,
                           owner="root")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dist", default=str(ROOT / "dist"))
    p.add_argument("--keys", help="release key folder (default: a generated test key set)")
    p.add_argument("--arch", default=None, help="Debian architecture (default: this machine's)")
    p.add_argument("--debian", default=None, choices=sorted(DEBIAN_PYTHON),
                   help="target Debian release: 12 (CPython 3.11, the default) or 13 (CPython "
                   "3.13); with --lock, only that release's locks (default: all)")
    p.add_argument("--repo", help="TUF repository folder (default: DIST/repo)")
    p.add_argument("--compress", default=os.environ.get("DEB_COMPRESS", "xz"),
                   choices=["xz", "gzip", "none"])
    p.add_argument("--advisories", help="a pip-audit JSON report of the lock to publish as the "
                   "signed advisories (default: run pip-audit on the lock now)")
    p.add_argument("--lock", action="store_true", help="resolve and write the locks, then stop")
    p.add_argument("--wheels-only", action="store_true",
                   help="download the wheel set of --arch (e.g. arm64) and stop")
    args = p.parse_args(argv)
    if args.lock:
        make_locks([args.debian] if args.debian else sorted(DEBIAN_PYTHON))
        return 0
    select_debian(args.debian or DEFAULT_DEBIAN)
    arch = args.arch or run(["dpkg", "--print-architecture"], capture_output=True).stdout.strip()
    if arch not in DEB_ARCH:
        raise SystemExit(f"architecture {arch} not supported (amd64, arm64)")
    if args.wheels_only:
        wheels = fetch_wheels(arch)
        log(f"{len(wheels)} wheels for {arch} in {WHEEL_CACHE / target(arch)}")
        return 0
    epoch = source_date_epoch()
    version = package_version()
    dist = Path(args.dist).resolve()
    global WORK
    WORK = ROOT / "build" / f"release-{hashlib.sha256(str(dist).encode()).hexdigest()[:10]}"
    dist.mkdir(parents=True, exist_ok=True)
    key_dir = keys(Path(args.keys) if args.keys else None)
    log(f"vigilcam {version} for Debian {DEBIAN} (CPython {PYTHON_VERSION}) {arch}, "
        f"SOURCE_DATE_EPOCH={epoch}")
    tree = package_tree(WORK / "tree", version, key_dir / "code-signing.pem", arch)
    tree_tar = dist / f"vigilcam-{version}-tree.tar"
    deterministic_tar(tree / "vigilcam", tree_tar, epoch)
    for old in dist.glob("vigilcam-*.whl"):
        old.unlink()
    wheel = build_wheel(tree, dist, epoch)
    wheels = fetch_wheels(arch)
    lock_copy = dist / f"requirements-{target(arch)}.lock"
    shutil.copy(lock_path(arch), lock_copy)
    repo_dir = Path(args.repo) if args.repo else dist / "repo"
    report = advisories(arch, Path(args.advisories) if args.advisories else None)
    root_json = tuf_repository(repo_dir, key_dir, tree, version, epoch, report)
    trust = dist / "trust"
    trust.mkdir(exist_ok=True)
    (trust / "root.json").write_bytes(root_json)
    from vigilcam.update.manifest import load_private_key, public_pem

    (trust / "code-signing.pub").write_bytes(
        public_pem(load_private_key(key_dir / "code-signing.pem").public_key()))
    deb = build_deb(dist, tree, wheels, arch, version, key_dir, root_json, epoch, args.compress)
    sums = []
    for path in sorted([deb, wheel, tree_tar, lock_copy,
                        trust / "root.json", trust / "code-signing.pub"]):
        sums.append(f"{hashlib.sha256(path.read_bytes()).hexdigest()}  "
                    f"{path.relative_to(dist).as_posix()}")
    (dist / f"SHA256SUMS-{target(arch)}").write_text("\n".join(sums) + "\n")
    log(f"wrote {deb.relative_to(dist.parent) if dist.parent in deb.parents else deb} "
        f"({deb.stat().st_size / 1e6:.1f} MB), {wheel.name}, {repo_dir}")
    print(deb)
    return 0


if __name__ == "__main__":
    sys.exit(main())
