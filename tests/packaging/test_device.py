"""The Debian package as a device: install, start as the unit does, audit, update, verified
start, purge (IoT-1005-1 5.3.1.1-5.3.1.3, 5.4.1.1; TAICS 5.1.4.1; docs/install.md).

Runs on this host as root: ``apt-get install ./vigilcam_*.deb``; systemd is not PID 1 in CI
containers, so the test starts the unit's ExecStart line itself as the unit's user with the
unit's UMask and a systemd-like environment, after ``systemd-analyze verify`` accepted the unit.
The tests share one installed device and run in file order.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shlex
import shutil
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tests.packaging.conftest import KEY_NAMES, Built
from tests.support import STRONG, free_port, nonce
from tests.update.helpers import HttpsFileServer, make_pki, package_copy
from vigilcam.platform.tls import server_context
from vigilcam.update.manifest import load_private_key
from vigilcam.update.package import build_tar
from vigilcam.update.repository import ROLES, ReleaseRepository, signer_from_key

pytestmark = [pytest.mark.slow]

DATA = Path("/var/lib/vigilcam")
INSTALL_ROOT = Path("/opt/vigilcam")
UNIT = Path("/lib/systemd/system/vigilcam.service")
SERVICE_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
               "HOME": str(DATA), "USER": "vigilcam", "LOGNAME": "vigilcam", "LANG": "C.UTF-8"}


def vc(*args: str, input: str | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
    """``/usr/bin/vigilcam`` as the admin runs it (root; the launcher drops to vigilcam)."""
    return subprocess.run(["/usr/bin/vigilcam", *args], capture_output=True, text=True,
                          input=input, timeout=timeout, cwd="/")


def unit_settings(path: Path = UNIT) -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.lstrip().startswith(("#", "[")):
            key, value = line.split("=", 1)
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def raw_private(pem: Path) -> bytes:
    """The 32 raw bytes of an Ed25519 private key (what a leak would contain)."""
    from cryptography.hazmat.primitives import serialization

    return load_private_key(pem).private_bytes(serialization.Encoding.Raw,
                                               serialization.PrivateFormat.Raw,
                                               serialization.NoEncryption())


def read_log() -> list[dict]:
    path = DATA / "seclog" / "current.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


class Receiver:
    """An HTTPS webhook receiver on loopback (a throwaway CA the device is told about)."""

    def __init__(self, cert: Path, key: Path) -> None:
        bodies: list[dict] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                data = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                try:
                    bodies.append(json.loads(data))
                except ValueError:
                    bodies.append({"raw": data.decode(errors="replace")})
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a: object) -> None:
                pass

        self.bodies = bodies
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.socket = server_context(cert, key).wrap_socket(self.httpd.socket,
                                                                  server_side=True)
        self.url = f"https://localhost:{self.httpd.server_address[1]}/hook"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def events(self) -> list[str]:
        return [b.get("event", "") for b in self.bodies]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class Device:
    """The installed device, its service process and the peers it talks to."""

    def __init__(self, built: Built, shared: Path) -> None:
        self.built = built
        self.shared = shared
        self.pki = make_pki(shared / "pki")
        for f in shared.rglob("*"):
            f.chmod(0o755 if f.is_dir() else 0o644)  # the vigilcam user reads the CA file
        self.repo_dir = shared / "repo"
        shutil.copytree(built.repo, self.repo_dir)
        self.repo_server = HttpsFileServer(self.repo_dir, self.pki).__enter__()
        self.receiver = Receiver(self.pki.cert_file, self.pki.key_file)
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.log_path = shared / "service.log"

    def signers(self) -> dict:
        return {role: signer_from_key(load_private_key(self.built.keys / f"{role}.pem"))
                for role in ROLES}

    def repository(self) -> ReleaseRepository:
        return ReleaseRepository.load(self.repo_dir, self.signers())

    def publish(self, version: str, **kw: bool) -> Path:
        work = Path(tempfile.mkdtemp(prefix=f"vigilcam-{version}-"))
        tree = package_copy(work, version, code_key=load_private_key(
            self.built.keys / "code-signing.pem"), **kw)
        blob = self.repository().publish(version, build_tar(tree))
        shutil.rmtree(work)
        return blob

    def exec_start(self) -> list[str]:
        (line,) = unit_settings()["ExecStart"]
        return shlex.split(line)

    def start(self) -> httpx.Response:
        """Start as the unit does and wait for the first HTTPS answer of ``/``."""
        self.launch()
        return self.wait_https()

    def launch(self, *, read_only_install_root: bool = False) -> subprocess.Popen:
        """The unit's ExecStart as its User/Group with its UMask; a free port for HTTPS.
        ``read_only_install_root``: in a mount namespace where the A/B install root is
        read-only, as the unit's ProtectSystem=strict makes it."""
        settings = unit_settings()
        assert settings["User"] == ["vigilcam"] and settings["UMask"] == ["0077"]
        cmd = ["setpriv", "--reuid=vigilcam", "--regid=vigilcam", "--init-groups",
               "--inh-caps=-all", "--", *self.exec_start(), "--https-port", str(self.port)]
        if read_only_install_root:
            assert "/opt/vigilcam" not in settings.get("ReadWritePaths", [""])[0]
            cmd = ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
                   f"mount --bind {INSTALL_ROOT} {INSTALL_ROOT} && "
                   f"mount -o remount,bind,ro {INSTALL_ROOT} && exec \"$@\"", "sh", *cmd]
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd="/",
                                     env=SERVICE_ENV, preexec_fn=lambda: os.umask(0o077))
        return self.proc

    def wait_https(self, timeout: float = 90) -> httpx.Response:
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"service exited {self.proc.returncode}: "
                                     + self.log_path.read_text()[-2000:])
            try:
                r = self.client().get("/")
                if r.status_code == 200:
                    return r
            except (httpx.HTTPError, ssl.SSLError, OSError) as exc:
                last = repr(exc)
            time.sleep(0.3)
        raise AssertionError(f"no HTTPS answer: {last}")

    def client(self) -> httpx.Client:
        ctx = ssl.create_default_context(cafile=str(DATA / "tls" / "cert.pem"))
        return httpx.Client(base_url=f"https://localhost:{self.port}", verify=ctx, timeout=30)

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        code, self.proc = self.proc.returncode, None
        return code

    def close(self) -> None:
        self.stop()
        self.receiver.close()
        self.repo_server.__exit__(None, None, None)


@pytest.fixture(scope="module")
def device(installed: Built) -> Iterator[Device]:
    shared = Path(tempfile.mkdtemp(prefix="vigilcam-pkgtest-"))
    shared.chmod(0o755)
    dev = Device(installed, shared)
    try:
        yield dev
    finally:
        dev.close()
        shutil.rmtree(shared, ignore_errors=True)


# --- the release ------------------------------------------------------------------------------

def test_release_writes_dist_and_no_private_key(built: Built) -> None:
    dist = built.dist
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True,
                          text=True).stdout.strip()
    assert built.deb.name == f"vigilcam_0.1.0_{arch}.deb"
    field = lambda name: subprocess.run(["dpkg-deb", "-f", str(built.deb), name],  # noqa: E731
                                        capture_output=True, text=True).stdout.strip()
    assert field("Architecture") == arch and field("Package") == "vigilcam"
    assert "python3.11" in field("Depends")
    assert sorted(dist.glob("vigilcam-0.1.0-py3-none-any.whl"))
    lock = (dist / f"requirements-{arch}.lock").read_text().splitlines()
    pins = [ln for ln in lock if ln and not ln.startswith("#")]
    assert len(pins) > 30 and all("==" in ln and "--hash=sha256:" in ln for ln in pins)
    assert (dist / "vigilcam-0.1.0-tree.tar").stat().st_size > 100_000
    meta = dist / "repo" / "metadata"
    for name in ("1.root.json", "timestamp.json", "2.snapshot.json", "2.targets.json"):
        assert (meta / name).exists(), name
    targets = json.loads((meta / "2.targets.json").read_text())["signed"]["targets"]
    assert targets["vigilcam.pkg"]["custom"]["vigilcam"]["version"] == "0.1.0"
    blob = next((dist / "repo" / "targets").glob("*.vigilcam.pkg")).read_bytes()
    assert blob.startswith(b"VCPKG\x01") and b"vigilcam" not in blob[:4096]  # encrypted
    root = json.loads((meta / "1.root.json").read_text())["signed"]
    keyids = {role: root["roles"][role]["keyids"] for role in ROLES}
    assert len({k for ids in keyids.values() for k in ids}) == 4  # one key per role
    # No private key anywhere in dist/: no PEM private key block, none of the release keys.
    pem_block = re.compile(rb"-----BEGIN [A-Z ]*PRIVATE KEY-----\s+[A-Za-z0-9+/=\s]{40,}")
    secrets = [raw_private(built.keys / f"{name}.pem") for name in KEY_NAMES]
    for path in dist.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not pem_block.search(data), path
            assert not any(s in data for s in secrets), path
    listing = subprocess.run(["dpkg-deb", "-c", str(built.deb)], capture_output=True,
                             text=True).stdout
    assert "./usr/share/vigilcam/trust/root.json" in listing
    assert "./usr/share/vigilcam/trust/code-signing.pub" in listing
    # ... and none inside the package's data (unpacked and scanned)
    unpacked = built.dist.parent / "unpacked"
    subprocess.run(["dpkg-deb", "-x", str(built.deb), str(unpacked)], check=True)
    try:
        for path in unpacked.rglob("*"):
            if path.is_file() and not path.is_symlink():
                data = path.read_bytes()
                assert not any(s in data for s in secrets), path
                if "venv" not in path.parts:  # third-party libraries carry self-test keys
                    assert not pem_block.search(data), path
    finally:
        shutil.rmtree(unpacked)


# --- install, start, audit --------------------------------------------------------------------

def test_install_makes_a_device(installed: Built) -> None:
    import grp
    import pwd

    user = pwd.getpwnam("vigilcam")
    assert user.pw_dir == str(DATA) and user.pw_shell in ("/usr/sbin/nologin", "/bin/false")
    assert user.pw_uid < 1000  # a system user
    assert grp.getgrgid(user.pw_gid).gr_name == "vigilcam"
    st = DATA.stat()
    assert st.st_mode & 0o777 == 0o700 and st.st_uid == user.pw_uid
    assert os.access("/usr/bin/vigilcam", os.X_OK)
    assert os.readlink(INSTALL_ROOT / "current") in ("slot_a", "slot_b")
    assert (INSTALL_ROOT / "current" / "vigilcam" / "code-manifest.json").exists()
    # trust pinned: the package's root-owned copy and the data dir's copy are the same
    assert (DATA / "update" / "trust" / "root.json").read_bytes() == \
        Path("/usr/share/vigilcam/trust/root.json").read_bytes()
    assert Path("/usr/share/vigilcam/trust/code-signing.pub").stat().st_uid == 0
    config = json.loads((DATA / "update" / "config.json").read_text())
    assert config["repository_url"].startswith("https://")
    assert (DATA / "identity.json").exists() and (DATA / "setup-secret").exists()
    out = installed.install_output  # type: ignore[attr-defined]
    assert "certificate SHA-256:" in out and "setup secret: sudo cat" in out
    secret = (DATA / "setup-secret").read_text().strip()
    assert secret not in out  # the secret is not written into apt's logs
    verify = subprocess.run(["systemd-analyze", "verify", str(UNIT),
                             "/lib/systemd/system/vigilcam-update.service",
                             "/lib/systemd/system/vigilcam-update.timer",
                             "/lib/systemd/system/vigilcam-update.path"],
                            capture_output=True, text=True, timeout=60)
    problems = [ln for ln in verify.stderr.splitlines() if ln.strip()]
    assert verify.returncode == 0 and problems == [], problems
    assert vc("update", "verify-code").stdout.startswith("verified:")
    # the SBOM of the installed device names the bundled packages (IoT-1005-1 5.2.1.1)
    sbom = json.loads(vc("sbom").stdout)
    names = {c["name"] for c in sbom["components"]}
    assert {"cryptography", "av", "starlette"} <= names and len(names) > 30, sorted(names)


def test_service_starts_as_the_unit_does_and_passes_its_audit(device: Device) -> None:
    started = time.monotonic()
    page = device.start().text
    first_answer = time.monotonic() - started
    assert "0.1.0" in page
    # the owner logs in with the setup secret and chooses a password
    secret = (DATA / "setup-secret").read_text().strip()
    with device.client() as client:
        r = client.post("/api/v1/session", json={"username": "admin", "password": secret})
        assert r.status_code == 200, r.text
        r = client.post("/api/v1/session/password",
                        json={"current_password": secret, "new_password": STRONG},
                        headers={"X-CSRF-Token": r.json()["csrf_token"],
                                 "X-Request-Nonce": nonce()})
        assert r.status_code == 200, r.text
    # an alert channel, and a test alert that arrives (the receiver runs on this host: the
    # owner allows that explicitly)
    ca = str(device.pki.ca_file)
    added = vc("alerts", "add", "webhook", device.receiver.url, "--cafile", ca,
               "--allow-local-target")
    assert added.returncode == 0, added.stderr
    assert vc("alerts", "test").returncode == 0
    # the update channel: the project's repository, here served over HTTPS on loopback
    conf = vc("update", "configure", "--url", device.repo_server.url, "--ca", ca)
    assert conf.returncode == 0, conf.stderr
    check = vc("update", "check")
    assert check.returncode == 0 and "up to date (0.1.0)" in check.stdout, check.stderr
    audit = vc("audit", "--format", "json", "--quiet", timeout=300)
    report = json.loads(audit.stdout)
    verdicts = {f"{c['standard']} {c['id']}": c["verdict"] for c in report["clauses"]}
    failing = {k: v for k, v in verdicts.items() if v not in ("PASS", "NOT APPLICABLE")}
    # 5.2.1.1: no pip-audit on the device; the channel's signed advisories judge the bundle
    assert audit.returncode == 0 and failing == {}, (failing, audit.stderr[-500:])
    for standard, clause in (("IoT-1005-1", "5.2.1.1"), ("IoT-1005-1", "5.3.1.1"),
                             ("IoT-1005-1", "5.3.1.2"),
                             ("IoT-1005-1", "5.3.1.3"), ("TAICS", "5.1.4.1")):
        (verdict,) = [v for k, v in verdicts.items()
                      if k.startswith(standard) and k.endswith(f" {clause}")]
        assert verdict == "PASS", clause
    deadline = time.monotonic() + 20
    while "test" not in " ".join(device.receiver.events()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert device.receiver.bodies, "the test alert did not arrive"
    print(f"install-to-first-HTTPS-answer (service start part): {first_answer:.2f} s")


# --- updates ----------------------------------------------------------------------------------

def _refusals() -> list[dict]:
    return [e for e in read_log() if e["action"] == "update.refused"]


def test_update_attacks_are_refused_then_010_installs_011(device: Device) -> None:
    blob = device.publish("0.1.1")
    before = len(_refusals())
    # one flipped byte in the package: refused (TUF hash), nothing switched
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0x01
    good = blob.read_bytes()
    blob.write_bytes(bytes(data))
    r = vc("update", "install", "--yes")
    assert r.returncode == 1 and "tampered" in r.stderr, r.stderr
    blob.write_bytes(good)
    # a replayed older timestamp: rollback refused
    meta = device.repo_dir / "metadata"
    newest = (meta / "timestamp.json").read_bytes()
    repo = device.repository()
    old_ts = repo.timestamp
    old_ts.signed.version -= 1
    (meta / "timestamp.json").write_bytes(repo.signed_bytes(old_ts))
    r = vc("update", "check")
    assert r.returncode == 1 and "rollback" in r.stderr, r.stderr
    (meta / "timestamp.json").write_bytes(newest)
    # an expired snapshot (validly signed, fresh timestamp): freeze refused
    repo = device.repository()
    repo.snapshot.signed.version += 1
    repo.snapshot.signed.expires = dt.datetime.now(dt.UTC).replace(microsecond=0) - \
        dt.timedelta(hours=1)
    repo.write_snapshot()
    from tuf.api.metadata import MetaFile

    repo.timestamp.signed.version += 1
    repo.timestamp.signed.snapshot_meta = MetaFile(repo.snapshot.signed.version)
    repo.write_timestamp()
    r = vc("update", "check")
    assert r.returncode == 1 and "expired" in r.stderr, r.stderr
    kinds = [e["details"].get("kind") for e in _refusals()[before:]]
    assert kinds == ["tampered", "rollback", "freeze"], kinds
    # the repository recovers (a new signed state); the device installs 0.1.1
    repo = device.repository()
    repo.bump()
    r = vc("update", "install", "--yes", timeout=300)
    assert r.returncode == 0 and r.stdout.startswith("installed: 0.1.1"), r.stdout + r.stderr
    assert (DATA / "update" / "restart-needed").exists()
    status = json.loads(vc("update", "status", "--json").stdout)
    assert status["current_version"] == "0.1.1" and status["last_install"]["result"] == \
        "installed"
    assert "security updates:   until 20" in vc("update", "status").stdout
    # the restart the updater unit makes: the service now runs and shows 0.1.1
    device.stop()
    assert "0.1.1" in device.start().text


def test_update_failing_its_health_check_is_rolled_back(device: Device) -> None:
    slot_before = os.readlink(INSTALL_ROOT / "current")
    device.publish("0.1.2", break_start=True)
    r = vc("update", "install", "--yes", timeout=300)
    assert r.returncode == 1 and r.stdout.startswith("rolled_back: 0.1.2"), r.stdout + r.stderr
    assert os.readlink(INSTALL_ROOT / "current") == slot_before
    assert any(e["action"] == "update.rolled_back" for e in read_log())
    assert "0.1.1" in device.client().get("/").text  # the device keeps serving
    assert json.loads(vc("update", "status", "--json").stdout)["current_version"] == "0.1.1"


def test_install_asked_in_the_api_is_handed_to_the_updater_unit(device: Device) -> None:
    """The camera unit cannot write /opt/vigilcam: the API hands the install to
    vigilcam-update.path / .service, which install it and report in the status."""
    device.publish("0.1.3")
    device.stop()
    device.launch(read_only_install_root=True)
    device.wait_https()
    with device.client() as client:
        r = client.post("/api/v1/session", json={"username": "admin", "password": STRONG})
        csrf = r.json()["csrf_token"]
        r = client.post("/api/v1/update/install", headers={"X-CSRF-Token": csrf,
                                                            "X-Request-Nonce": nonce()})
        assert r.status_code == 202 and r.json()["result"] == "requested", r.text
        assert r.json()["status"]["install_requested"]
    request = DATA / "update" / "install-requested"
    assert request.exists()
    path_unit = unit_settings(Path("/lib/systemd/system/vigilcam-update.path"))
    assert path_unit["PathExists"] == [str(request)]
    # what systemd does when the path appears: the updater unit's ExecStart as its user
    updater = unit_settings(Path("/lib/systemd/system/vigilcam-update.service"))
    assert updater["User"] == ["vigilcam"] and "/opt/vigilcam" in updater["ReadWritePaths"][0]
    done = subprocess.run(["setpriv", "--reuid=vigilcam", "--regid=vigilcam", "--init-groups",
                           "--inh-caps=-all", "--", *shlex.split(updater["ExecStart"][0])],
                          capture_output=True, text=True, env=SERVICE_ENV, cwd="/", timeout=300)
    assert done.returncode == 0 and "installed: 0.1.3" in done.stdout, done.stdout + done.stderr
    assert not request.exists()  # handled: the path unit does not start it again
    actions = [e["action"] for e in read_log()]
    assert "update.install_requested" in actions and actions[-1] != "update.install_requested"
    device.stop()
    assert "0.1.3" in device.start().text


# --- verified start ---------------------------------------------------------------------------

def test_one_changed_byte_stops_the_next_start_and_alerts(device: Device) -> None:
    device.stop()
    target = INSTALL_ROOT / "current" / "vigilcam" / "product.py"
    original = target.read_bytes()
    changed = bytearray(original)
    changed[original.index(b"SUPPORT_UNTIL")] ^= 0x20  # one byte, one bit
    target.write_bytes(bytes(changed))
    try:
        before = len(device.receiver.bodies)
        proc = device.launch()
        assert proc.wait(timeout=120) == 3
        out = device.log_path.read_text()
        assert "verified start refused" in out and "product.py" in out
        events = [e for e in read_log() if e["action"] == "code.verification_failed"]
        assert events and "product.py" in events[-1]["details"]["mismatches"]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "code.verification_failed" not in \
                device.receiver.events()[before:]:
            time.sleep(0.2)
        assert "code.verification_failed" in device.receiver.events()[before:]
        assert vc("update", "verify-code").returncode == 1
        audit = json.loads(vc("audit", "--format", "json", "--quiet", timeout=300).stdout)
        (clause,) = [c for c in audit["clauses"]
                     if c["standard"].startswith("TAICS") and c["id"] == "5.1.4.1"]
        assert clause["verdict"] == "FAIL" and "product.py" in " ".join(clause["evidence"])
    finally:
        target.write_bytes(original)
    assert hashlib.sha256(target.read_bytes()).digest() == hashlib.sha256(original).digest()
    device.start()  # restored: starts again


# --- purge ------------------------------------------------------------------------------------

def test_purge_leaves_nothing_but_what_the_docs_say(device: Device) -> None:
    device.stop()
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    removed = subprocess.run(["apt-get", "remove", "-y", "vigilcam"], capture_output=True,
                             text=True, env=env, timeout=300)
    assert removed.returncode == 0, removed.stderr
    assert not INSTALL_ROOT.exists()  # the code goes with remove
    assert (DATA / "identity.json").exists()  # the data stays until purge
    purged = subprocess.run(["apt-get", "purge", "-y", "vigilcam"], capture_output=True,
                            text=True, env=env, timeout=300)
    assert purged.returncode == 0, purged.stderr
    leftovers = [p for p in (DATA, INSTALL_ROOT, Path("/usr/lib/vigilcam"),
                             Path("/usr/share/vigilcam"), Path("/usr/bin/vigilcam"), UNIT,
                             Path("/usr/share/doc/vigilcam")) if p.exists()]
    assert leftovers == []
    assert subprocess.run(["getent", "passwd", "vigilcam"]).returncode == 2
    assert subprocess.run(["getent", "group", "vigilcam"]).returncode == 2
    enabled = Path("/var/lib/systemd/deb-systemd-helper-enabled")
    assert not [p for p in enabled.rglob("*vigilcam*")] if enabled.exists() else True
    status = subprocess.run(["dpkg", "-s", "vigilcam"], capture_output=True, text=True)
    assert status.returncode != 0
