"""Install a built vigilcam package into a fresh Debian root (a chroot) and run it there as the
unit would: the record of what was run per Debian release and architecture in docs/install.md,
section 6, "Architectures: what was run".

Serves IoT-1005-1 5.3.1.1-5.3.1.3 and TAICS 5.1.4.1 on the targets the package is built for
(Debian 12 / 13, amd64 / arm64): the same steps as ``tests/packaging/test_device.py`` on this
host, in a root of the target release, under qemu-user when the architecture is not this
machine's. Not a test of the suite: one run takes minutes (tens under emulation).

Steps, each timed: debootstrap the release (once; ``--foreign`` and a second stage under
qemu-user for another architecture), ``apt-get install ./vigilcam_*.deb`` inside (purged first
when a previous run left it), the unit's ExecStart as the ``vigilcam`` user via setpriv on a
free loopback port (no systemd in a chroot), the first HTTPS answer of ``/`` verified against the
device's own certificate, login with the setup secret and a new password, ``vigilcam
--version``, a webhook alert channel and the update channel (``dist/repo`` served over HTTPS on
loopback, a throwaway CA), ``vigilcam update check`` and ``vigilcam audit``. Everything listens
on 127.0.0.1 only; the script checks the service's sockets and stops what it started.

Needs root, debootstrap, and for arm64 on amd64 qemu-user-static and binfmt-support (the
binfmt_misc handler registered with the F flag, so the chroot needs no copy of qemu).

Usage: python packaging/try_in_chroot.py DEBIAN ARCH [--deb FILE] [--repo DIR] [--root DIR]
  e.g. python packaging/try_in_chroot.py 13 amd64 --deb dist/vigilcam_0.1.0+deb13_amd64.deb
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import http.cookiejar
import http.server
import ipaddress
import json
import os
import secrets
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CODENAME = {"12": "bookworm", "13": "trixie"}
QEMU = {"arm64": "qemu-aarch64"}
MIRROR = os.environ.get("DEBIAN_MIRROR", "http://deb.debian.org/debian")
DATA = "/var/lib/vigilcam"
UNIT = "/lib/systemd/system/vigilcam.service"
SERVICE_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
               "HOME": DATA, "USER": "vigilcam", "LOGNAME": "vigilcam", "LANG": "C.UTF-8"}
APT_ENV = {"PATH": SERVICE_ENV["PATH"], "DEBIAN_FRONTEND": "noninteractive", "LANG": "C.UTF-8"}


def log(msg: str) -> None:
    print(f"[{dt.datetime.now(dt.UTC):%H:%M:%S}] {msg}", flush=True)


def run(cmd: list[str], *, timeout: float, check: bool = True,
        env: dict[str, str] | None = None, input: str | None = None,
        ) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                          input=input, check=False)
    if check and done.returncode != 0:
        raise SystemExit(f"failed ({done.returncode}): {shlex.join(cmd)}\n"
                         f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done


class Timer:
    """Named wall-clock figures of one run."""

    def __init__(self) -> None:
        self.figures: dict[str, float] = {}

    @contextlib.contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        started = time.monotonic()
        log(f"{name} ...")
        yield
        self.figures[name] = round(time.monotonic() - started, 1)
        log(f"{name}: {self.figures[name]} s")


# --- the Debian root ---------------------------------------------------------------------------

def binfmt_ready(arch: str) -> None:
    """The qemu-user handler for ``arch``, registered (binfmt_misc mounted, handler enabled)."""
    handler = Path("/proc/sys/fs/binfmt_misc") / QEMU[arch]
    if not Path("/proc/sys/fs/binfmt_misc/status").exists():
        run(["mount", "-t", "binfmt_misc", "binfmt_misc", "/proc/sys/fs/binfmt_misc"],
            timeout=30)
    if not handler.exists():
        run(["update-binfmts", "--enable", QEMU[arch]], timeout=60)
    text = handler.read_text()
    if not text.startswith("enabled") or "F" not in text.split("flags:", 1)[1].split()[0]:
        raise SystemExit(f"{handler}: not enabled with the F flag:\n{text}")


def bootstrap(chroot: Path, debian: str, arch: str, foreign: bool, timer: Timer) -> None:
    first_stage_done = (chroot / "debootstrap").exists()  # a foreign root half made
    if (chroot / "usr/bin/apt-get").exists() and not first_stage_done:
        return
    chroot.parent.mkdir(parents=True, exist_ok=True)
    if not (foreign and first_stage_done):
        with timer(f"debootstrap {CODENAME[debian]} {arch} (first stage)" if foreign
                   else f"debootstrap {CODENAME[debian]} {arch}"):
            run(["debootstrap", "--variant=minbase", f"--arch={arch}",
                 *(["--foreign"] if foreign else []), CODENAME[debian], str(chroot), MIRROR],
                timeout=3600)
    if foreign:
        with timer("debootstrap second stage (emulated)"):
            run(["chroot", str(chroot), "/debootstrap/debootstrap", "--second-stage"],
                timeout=7200)


@contextlib.contextmanager
def mounted(chroot: Path) -> Iterator[None]:
    """/proc, /sys and a private /dev of the chroot for the duration; DNS from this host,
    localhost in /etc/hosts as an installed system has it. /dev is a tmpfs with the few nodes a
    Debian root needs and its own devpts, not this host's /dev bound in: a root left mounted
    after a crash then holds nothing of the host that ``rm -rf build`` could delete."""
    mounts = [(["-t", "proc", "proc"], "proc"), (["-t", "sysfs", "sysfs"], "sys"),
              (["-t", "tmpfs", "-o", "mode=0755,nosuid", "vigilcam-dev"], "dev"),
              (["-t", "devpts", "-o", "newinstance,ptmxmode=0666,mode=0620", "devpts"],
               "dev/pts")]
    done: list[Path] = []
    previous = {sig: signal.signal(sig, _interrupted) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        for how, where in mounts:
            target = chroot / where
            target.mkdir(exist_ok=True)
            if subprocess.run(["mountpoint", "-q", str(target)]).returncode != 0:
                run(["mount", *how, str(target)], timeout=30)
                done.append(target)
            if where == "dev":
                _device_nodes(target)
        shutil.copy("/etc/resolv.conf", chroot / "etc/resolv.conf")
        hosts = chroot / "etc/hosts"  # the installer writes it; debootstrap does not (bookworm)
        if not hosts.exists():
            hosts.write_text("127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n")
        policy = chroot / "usr/sbin/policy-rc.d"  # no service starts from maintainer scripts
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
        yield
    finally:
        for target in reversed(done):
            subprocess.run(["umount", "-l", str(target)], check=False)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _interrupted(signum: int, frame: object) -> None:
    raise SystemExit(f"stopped by signal {signum}")  # the mounts are undone on the way out


def _device_nodes(dev: Path) -> None:
    """The character devices of a minimal Debian root (Linux major/minor numbers)."""
    import stat

    for name, major, minor in (("null", 1, 3), ("zero", 1, 5), ("full", 1, 7),
                               ("random", 1, 8), ("urandom", 1, 9), ("tty", 5, 0)):
        if not (dev / name).exists():
            os.mknod(dev / name, 0o666 | stat.S_IFCHR, os.makedev(major, minor))
            (dev / name).chmod(0o666)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2"),
                         ("ptmx", "pts/ptmx")):
        if not (dev / name).is_symlink():
            (dev / name).symlink_to(target)
    for name in ("pts", "shm"):
        (dev / name).mkdir(exist_ok=True)
    (dev / "shm").chmod(0o1777)


def in_root(chroot: Path, *cmd: str) -> list[str]:
    return ["chroot", str(chroot), *cmd]


# --- peers on loopback: the update channel and a webhook receiver -----------------------------

def throwaway_pki(folder: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for localhost / 127.0.0.1, with the extensions a strict
    verifier (CPython 3.13's default context) requires: key identifiers, key usages."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(dt.UTC)
    folder.mkdir(parents=True, exist_ok=True)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "vigilcam chroot trial CA")])
    usage = dict(content_commitment=False, key_encipherment=False, data_encipherment=False,
                 key_agreement=False, encipher_only=False, decipher_only=False)
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(minutes=5))
          .not_valid_after(now + dt.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       **usage), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                         critical=False)
          .sign(ca_key, hashes.SHA256()))
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=False,
                                         crl_sign=False, **usage), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    paths[2].chmod(0o600)
    return paths


class Receiver(http.server.BaseHTTPRequestHandler):
    events: list[str] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        try:
            self.events.append(str(json.loads(body).get("event", "")))
        except ValueError:
            self.events.append("?")
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a: object) -> None:
        pass


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a: object) -> None:
        pass


@contextlib.contextmanager
def https_on_loopback(handler: Callable[..., Any], cert: Path, key: Path) -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


# --- the device --------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def exec_start(chroot: Path) -> list[str]:
    (line,) = [ln.split("=", 1)[1] for ln in (chroot / UNIT.lstrip("/")).read_text().splitlines()
               if ln.startswith("ExecStart=")]
    return shlex.split(line)


class Client:
    """HTTPS to the device on loopback, verified against its own certificate; keeps the
    session cookie like a browser."""

    def __init__(self, port: int, cafile: Path) -> None:
        self.base = f"https://localhost:{port}"
        ctx = ssl.create_default_context(cafile=str(cafile))
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPSHandler(context=ctx),
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def call(self, path: str, body: dict | None = None, headers: dict[str, str] | None = None,
             timeout: float = 60) -> tuple[int, bytes]:
        req = urllib.request.Request(  # noqa: S310 (https to loopback only)
            self.base + path, data=json.dumps(body).encode() if body is not None else None,
            headers={"Content-Type": "application/json", **(headers or {})})
        try:
            with self.opener.open(req, timeout=timeout) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()


def listening(pids: set[str]) -> list[str]:
    """Local addresses the service's processes listen on (TCP and UDP)."""
    out = run(["ss", "-Htulnp"], timeout=30).stdout
    return [ln.split()[4] for ln in out.splitlines()
            if any(f"pid={pid}," in ln for pid in pids)]


def process_tree(root_pid: int) -> set[str]:
    pids, frontier = {str(root_pid)}, [str(root_pid)]
    while frontier:
        children = Path(f"/proc/{frontier.pop()}/task")
        for task in children.glob("*/children") if children.exists() else []:
            for child in task.read_text().split():
                if child not in pids:
                    pids.add(child)
                    frontier.append(child)
    return pids


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("debian", choices=sorted(CODENAME))
    p.add_argument("arch", choices=["amd64", "arm64"])
    p.add_argument("--deb", help="the package (default: the newest matching one in dist/)")
    p.add_argument("--repo", default=str(ROOT / "dist" / "repo"),
                   help="the TUF repository the package's trust matches (default dist/repo)")
    p.add_argument("--root", help="the chroot folder (default build/chroots/<codename>-<arch>)")
    p.add_argument("--keep-running", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if os.geteuid() != 0:
        raise SystemExit("run as root (debootstrap, chroot, mount)")
    host = run(["dpkg", "--print-architecture"], timeout=30).stdout.strip()
    foreign = args.arch != host
    scale = 15 if foreign else 1  # qemu-user: interpreted machine code, give it time
    suffix = "" if args.debian == "12" else f"+deb{args.debian}"
    built = [d for d in (ROOT / "dist").glob(f"vigilcam_*{suffix}_{args.arch}.deb")
             if suffix or "+deb" not in d.name]
    deb = Path(args.deb) if args.deb else max(built, key=lambda d: d.stat().st_mtime,
                                               default=None)
    if deb is None or not deb.exists():
        raise SystemExit(f"no package for Debian {args.debian} {args.arch}: make release "
                         f"DEBIAN={args.debian} ARCH={args.arch}")
    chroot = Path(args.root) if args.root else \
        ROOT / "build" / "chroots" / f"{CODENAME[args.debian]}-{args.arch}"
    timer = Timer()
    result: dict[str, object] = {"debian": args.debian, "arch": args.arch, "host": host,
                                 "emulated": foreign, "package": deb.name,
                                 "date": f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
                                 "load_average_at_start": os.getloadavg()[1]}
    if foreign:
        binfmt_ready(args.arch)
    bootstrap(chroot, args.debian, args.arch, foreign, timer)
    with mounted(chroot):
        result["root"] = run(in_root(chroot, "sh", "-c", "cat /etc/debian_version; uname -m"),
                             timeout=60 * scale).stdout.split()
        if run(in_root(chroot, "dpkg", "-s", "vigilcam"), timeout=60 * scale,
               check=False).returncode == 0:
            log("purging the previous run's vigilcam")
            run(in_root(chroot, "apt-get", "purge", "-y", "vigilcam"), timeout=600 * scale,
                env=APT_ENV)
            run(in_root(chroot, "apt-get", "autoremove", "--purge", "-y"),  # its dependencies
                timeout=600 * scale, env=APT_ENV)
        shutil.copy(deb, chroot / "root" / deb.name)
        with timer("apt-get update"):
            run(in_root(chroot, "apt-get", "update", "-qq"), timeout=600 * scale, env=APT_ENV)
        with timer("apt-get install ./package (with its Debian dependencies)"):
            installed = run(in_root(chroot, "apt-get", "install", "-y",
                                    "--no-install-recommends", f"/root/{deb.name}"),
                            timeout=1200 * scale, env=APT_ENV)
        # what postinst printed; apt copies it to term.log too (its pty may not reach stdout)
        term = (chroot / "var/log/apt/term.log").read_text(errors="replace")
        said = installed.stdout + term[term.rfind("Log started"):]
        result["install_says"] = sorted({ln.strip() for ln in said.splitlines()
                                         if "vigilcam is installed" in ln or "SHA-256" in ln
                                         or "setup secret:" in ln})
        result["installed_version"] = run(in_root(chroot, "dpkg-query", "-W", "-f",
                                                  "${Version}", "vigilcam"),
                                          timeout=60 * scale).stdout
        result["target_python"] = run(in_root(chroot, "/usr/lib/vigilcam/venv/bin/python3",
                                              "-c", "import sys; print(sys.version.split()[0])"),
                                      timeout=120 * scale).stdout.strip()
        with timer("vigilcam --version"):
            result["vigilcam_version"] = run(in_root(chroot, "/usr/bin/vigilcam", "--version"),
                                             timeout=300 * scale).stdout.strip()
        trial(chroot, Path(args.repo), scale, timer, result)
    result["seconds"] = timer.figures
    result["load_average_at_end"] = os.getloadavg()[1]  # 5 min; shared cores: figures vary
    print(json.dumps(result, indent=1))
    return 0 if result.get("audit_exit") == 0 else 1


def trial(chroot: Path, repo: Path, scale: int, timer: Timer, result: dict[str, object]) -> None:
    """Start as the unit does, first answer, login, channels, update check, audit."""
    port = free_port()
    cafile = chroot / DATA.lstrip("/") / "tls" / "cert.pem"
    work = chroot / "etc" / "vigilcam-trial"  # readable by the vigilcam user inside
    if work.exists():
        shutil.rmtree(work)
    ca, cert, key = throwaway_pki(work)
    ca.parent.chmod(0o755)
    ca.chmod(0o644)
    cmd = in_root(chroot, "setpriv", "--reuid=vigilcam", "--regid=vigilcam", "--init-groups",
                  "--inh-caps=-all", "--", *exec_start(chroot), "--https-port", str(port))
    service_log = (chroot / "tmp" / "vigilcam-service.log").open("wb")
    started = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=service_log, stderr=subprocess.STDOUT, env=SERVICE_ENV,
                            cwd="/", start_new_session=True,
                            preexec_fn=lambda: os.umask(0o077))
    client = Client(port, cafile)
    try:
        first = None
        deadline = started + 120 * scale
        while time.monotonic() < deadline and first is None:
            if proc.poll() is not None:
                raise SystemExit(f"service exited {proc.returncode}: "
                                 + (chroot / "tmp/vigilcam-service.log").read_text()[-3000:])
            try:
                status, page = client.call("/", timeout=30)
                if status == 200:
                    first = time.monotonic() - started
                    result["first_page_names_version"] = b"0.1.0" in page
            except (OSError, ssl.SSLError):
                time.sleep(0.5)
        if first is None:
            raise SystemExit("no HTTPS answer in time")
        timer.figures["service start to first HTTPS answer"] = round(first, 1)
        log(f"first HTTPS answer after {first:.1f} s on 127.0.0.1:{port}")
        addresses = listening(process_tree(proc.pid))
        result["listening"] = addresses
        if any(not a.startswith(("127.", "[::1]", "localhost")) for a in addresses):
            raise SystemExit(f"the service listens off loopback: {addresses}")
        secret = (chroot / DATA.lstrip("/") / "setup-secret").read_text().strip()
        status, body = client.call("/api/v1/session", {"username": "admin", "password": secret},
                                   timeout=60 * scale)
        result["login_with_setup_secret"] = status
        if status != 200:
            raise SystemExit(f"login refused: {status} {body[:300]!r}")
        password = "trial " + secrets.token_urlsafe(18)
        status, body = client.call("/api/v1/session/password",
                                   {"current_password": secret, "new_password": password},
                                   {"X-CSRF-Token": json.loads(body)["csrf_token"],
                                    "X-Request-Nonce": secrets.token_hex(16)},
                                   timeout=60 * scale)
        result["password_changed"] = status
        if status != 200:
            raise SystemExit(f"password change refused: {status} {body[:300]!r}")
        vc = partial(device_cli, chroot, scale)
        with https_on_loopback(partial(Quiet, directory=str(repo)), cert, key) as repo_port, \
                https_on_loopback(Receiver, cert, key) as hook_port:
            inside_ca = "/" + str(ca.relative_to(chroot))
            vc("alerts", "add", "webhook", f"https://localhost:{hook_port}/hook", "--cafile",
               inside_ca, "--allow-local-target")
            vc("alerts", "test")
            vc("update", "configure", "--url", f"https://localhost:{repo_port}/", "--ca",
               inside_ca)
            with timer("vigilcam update check"):
                result["update_check"] = vc("update", "check").stdout.strip()
            with timer("vigilcam audit"):
                audit = vc("audit", "--format", "json", "--quiet", timeout=600, check=False)
            result["audit_exit"] = audit.returncode
            try:
                clauses = json.loads(audit.stdout)["clauses"]
            except (ValueError, KeyError):
                raise SystemExit(f"audit said no JSON: {audit.stdout[-1000:]}\n"
                                 f"{audit.stderr[-2000:]}") from None
            counts: dict[str, int] = {}
            for c in clauses:
                counts[c["verdict"]] = counts.get(c["verdict"], 0) + 1
            result["audit_verdicts"] = counts
            result["audit_not_pass"] = {f"{c['standard']} {c['id']}": c["verdict"]
                                        for c in clauses
                                        if c["verdict"] not in ("PASS", "NOT APPLICABLE")}
            result["alerts_received"] = list(Receiver.events)
            with timer("vigilcam sbom"):
                sbom = vc("sbom", check=False)
            result["sbom_components"] = (len(json.loads(sbom.stdout).get("components", []))
                                         if sbom.returncode == 0 else sbom.stderr[-300:])
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=60 * scale)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=60)
        result["service_exit_on_sigterm"] = proc.returncode
        service_log.close()


def device_cli(chroot: Path, scale: int, *args: str, timeout: float = 300,
               check: bool = True) -> subprocess.CompletedProcess[str]:
    """``/usr/bin/vigilcam`` inside the root as its admin runs it (root; it drops itself)."""
    return run(in_root(chroot, "/usr/bin/vigilcam", *args), timeout=timeout * scale,
               check=check, env=APT_ENV)


if __name__ == "__main__":
    sys.exit(main())
