"""The key-encryption key sealed in a TPM 2.0 (the vault's secure-domain backend).

Owns sealing and unsealing the vault's 256-bit key-encryption key (KEK) with a TPM 2.0, and
telling whether a TPM is there. Serves TAICS TS 5100-2-1 5.2.5.2 (sensitive data in a secure
domain) and IoT-1005-1 5.4.1.2 (key storage can use a TPM 2.0 when present).

How (tpm2-tools 5.x, run as argument lists, never through a shell):
- the parent is the owner hierarchy's storage primary key, re-derived on every use from the
  TPM's owner seed with one fixed template (ECC P-256, AES-128-CFB), so nothing about it is
  stored: ``tpm2_createprimary -C o -g sha256 -G ecc256:aes128cfb``;
- the KEK is 32 random bytes from the OS CSPRNG sealed under that parent as a keyed-hash data
  object (``tpm2_create -i -``, fixedTPM | fixedParent); only its public and TPM-encrypted
  private blobs are kept, in the keys folder, 0600 (``kek.tpm.pub`` / ``kek.tpm.priv``);
- loading is ``tpm2_load`` then ``tpm2_unseal``;
- the vault's rollback counter is a TPM NV counter (``nt=counter``, owner read/write, index
  ``ROLLBACK_NV_INDEX``), defined once per TPM and never undefined: ``tpm2_nvdefine``,
  ``tpm2_nvincrement``, ``tpm2_nvread``.

Invariants:
- The data dir alone cannot reveal the KEK: the private blob is encrypted and integrity
  protected under a key that never leaves the TPM; on another TPM (or after the TPM is cleared)
  ``tpm2_load`` fails the integrity check and the vault refuses to open.
- The KEK crosses only a pipe to and from tpm2-tools; the transient context files (TPM-encrypted
  saved contexts, no secret in clear) live in a private 0700 temporary folder outside the data
  dir and are removed after each operation, so loading never writes to the data dir.
- Transient objects are flushed after each step, so a TPM without a resource manager (a raw
  ``/dev/tpm0`` or a software TPM) does not run out of object slots.
- A new KEK is unsealed once before ``create`` returns, so a TPM that seals but cannot unseal
  is found at provisioning, not at the next start.
- The NV counter only counts up, and survives anything done to the data dir: the vault records
  the value it was written with, the counter is raised AFTER the vault file is durable, so
  ``counter <= vault`` always holds; a vault BEHIND the counter is an older copy, even when the
  whole data dir (vault, anchor file, log) was put back (``platform/anchor.py`` alone cannot
  see that). A TPM counter cannot be reset: undefining and defining it again starts above every
  value it ever had, so that is seen too.
- Every failure is a ``VaultError`` that names the step and the TPM's own message.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from vigilcam.platform.fsutil import (
    PermissionProblem,
    atomic_write,
    check_private,
    ensure_private_dir,
)
from vigilcam.platform.vault import FileKek, VaultError

PRIMARY_TEMPLATE = ("-C", "o", "-g", "sha256", "-G", "ecc256:aes128cfb")
TOOLS = ("tpm2_createprimary", "tpm2_create", "tpm2_load", "tpm2_unseal", "tpm2_flushcontext",
         "tpm2_nvdefine", "tpm2_nvincrement", "tpm2_nvread")
# An owner-defined NV index (TCG handle range 0x01000000-0x01BFFFFF, owner part); 8-byte counter.
ROLLBACK_NV_INDEX = "0x1500016"
_NV_COUNTER_ATTRS = "nt=counter|ownerread|ownerwrite|no_da"
# Where the operator (or the test suite) names a TPM explicitly, e.g. "swtpm:host=...,port=...".
TCTI_ENV = "VIGILCAM_TPM_TCTI"
DEVICES = ("/dev/tpmrm0", "/dev/tpm0")  # the kernel resource manager first
KEK_SIZE = 32


@dataclass(frozen=True)
class TpmPresence:
    """Is a usable TPM 2.0 here, through which TCTI, and if not, why not."""

    present: bool
    tcti: str | None
    reason: str


def missing_tools() -> list[str]:
    return [tool for tool in TOOLS if shutil.which(tool) is None]


def detect(environ: Mapping[str, str] | None = None, dev: Path = Path("/dev")) -> TpmPresence:
    """Find a TPM: a configured TCTI (``VIGILCAM_TPM_TCTI``), else /dev/tpmrm0, else /dev/tpm0.

    The device is only a TPM we can use when tpm2-tools is installed; otherwise the reason says
    so, and the caller keeps the file KEK (and the audit reports the TPM left unused).
    """
    env = os.environ if environ is None else environ
    tcti = env.get(TCTI_ENV, "").strip() or None
    source = f"{TCTI_ENV}={tcti}" if tcti else ""
    if tcti is None:
        for device in DEVICES:
            path = dev / Path(device).name
            if path.exists():
                tcti, source = f"device:{path}", f"{path} present"
                break
    if tcti is None:
        return TpmPresence(False, None, "no TPM 2.0 (/dev/tpmrm0 and /dev/tpm0 absent, "
                                        f"{TCTI_ENV} not set)")
    missing = missing_tools()
    if missing:
        return TpmPresence(False, tcti, f"{source} but tpm2-tools is not installed "
                                        f"(missing {', '.join(missing)}): apt-get install "
                                        "tpm2-tools")
    return TpmPresence(True, tcti, source)


class TpmKek:
    """A 256-bit KEK sealed in a TPM 2.0; same interface as ``vault.FileKek``."""

    kind = "tpm2"

    def __init__(self, keys_dir: Path, tcti: str, *, timeout: float = 30.0) -> None:
        self.keys_dir = keys_dir
        self.tcti = tcti
        self.timeout = timeout
        self.pub_file = keys_dir / "kek.tpm.pub"
        self.priv_file = keys_dir / "kek.tpm.priv"

    def describe(self) -> str:
        return f"sealed in a TPM 2.0 ({self.tcti}); blobs {self.pub_file.name}, " \
               f"{self.priv_file.name}"

    # -- the KeyEncryptionKeyStore protocol ------------------------------------------------
    def exists(self) -> bool:
        return self.pub_file.exists() and self.priv_file.exists()

    def create(self) -> None:
        ensure_private_dir(self.keys_dir)
        kek = secrets.token_bytes(KEK_SIZE)
        with self._workdir() as work:
            primary = self._primary(work)
            pub, priv = work / "new.pub", work / "new.priv"
            self._run("sealing the key-encryption key", "tpm2_create", "-Q", "-C", str(primary),
                      "-i", "-", "-u", str(pub), "-r", str(priv), stdin=kek)
            blobs = pub.read_bytes(), priv.read_bytes()
        atomic_write(self.pub_file, blobs[0], mode=0o600)
        atomic_write(self.priv_file, blobs[1], mode=0o600)
        if self.load() != kek:
            self.destroy()
            raise VaultError("TPM 2.0 returned a different key-encryption key than it sealed")

    def load(self) -> bytes:
        try:
            check_private(self.keys_dir, is_dir=True)
            check_private(self.pub_file)
            check_private(self.priv_file)
        except PermissionProblem as exc:
            raise VaultError(f"TPM-sealed key-encryption key refused: {exc}") from None
        except FileNotFoundError as exc:
            raise VaultError(f"TPM-sealed key-encryption key missing: {exc.filename}") from None
        with self._workdir() as work:
            primary = self._primary(work)
            sealed = work / "kek.ctx"
            self._run("loading the sealed key-encryption key (was it sealed by another TPM, "
                      "or was the TPM cleared?)", "tpm2_load", "-Q", "-C", str(primary),
                      "-u", str(self.pub_file), "-r", str(self.priv_file), "-c", str(sealed))
            kek = self._run("unsealing the key-encryption key", "tpm2_unseal", "-c", str(sealed))
        if len(kek) != KEK_SIZE:
            raise VaultError(f"TPM 2.0 unsealed {len(kek)} bytes, not a {KEK_SIZE}-byte key")
        return kek

    def destroy(self) -> None:
        """Crypto-erase: without both blobs the TPM can never unseal the KEK again."""
        for path in (self.priv_file, self.pub_file):
            if path.exists():
                size = path.stat().st_size
                with open(path, "r+b") as fh:
                    fh.write(secrets.token_bytes(size))
                    fh.flush()
                    os.fsync(fh.fileno())
                path.unlink()

    # -- the vault's rollback counter (NV) ---------------------------------------------------
    def counter_read(self) -> int | None:
        """The NV counter's value; None when it was never defined on this TPM."""
        done = self._attempt("tpm2_nvread", "-C", "o", "-s", "8", ROLLBACK_NV_INDEX)
        if done.returncode == 0 and len(done.stdout) == 8:
            return int.from_bytes(done.stdout, "big")
        message = done.stderr.decode("utf-8", "replace")
        if "0x18B" in message or "0x18b" in message or "handle is not correct" in message:
            return None  # not defined
        if "0x14A" in message or "0x14a" in message or "before being initialized" in message:
            return 0  # defined, never incremented
        raise VaultError(f"TPM 2.0 failed while reading the rollback counter ({self.tcti}): "
                         f"{_tpm_message(done.stderr)}")

    def counter_ensure(self) -> int:
        """The counter's value, defining and initialising it on first use."""
        value = self.counter_read()
        if value is None:
            self._run("defining the rollback counter (NV index)", "tpm2_nvdefine", "-C", "o",
                      "-s", "8", "-a", _NV_COUNTER_ATTRS, ROLLBACK_NV_INDEX)
            value = 0
        if value == 0:
            value = self.counter_increment()  # a TPM counter starts above any value it had
        return value

    def counter_increment(self) -> int:
        self._run("raising the rollback counter", "tpm2_nvincrement", "-C", "o",
                  ROLLBACK_NV_INDEX)
        value = self.counter_read()
        if not value:
            raise VaultError("TPM 2.0 rollback counter did not count")
        return value

    # -- tpm2-tools --------------------------------------------------------------------------
    def _attempt(self, tool: str, *args: str) -> subprocess.CompletedProcess[bytes]:
        env = {**os.environ, "TPM2TOOLS_TCTI": self.tcti}
        try:
            return subprocess.run((tool, *args), input=b"", capture_output=True, env=env,
                                  timeout=self.timeout, check=False)
        except FileNotFoundError:
            raise VaultError(f"TPM 2.0: {tool} not found: apt-get install tpm2-tools") from None
        except subprocess.TimeoutExpired:
            raise VaultError(f"TPM 2.0 did not answer within {self.timeout:g} s while reading "
                             f"the rollback counter ({self.tcti})") from None

    @contextmanager
    def _workdir(self) -> Iterator[Path]:
        # Outside the data dir (the read-only audit loads the KEK too); mkdtemp makes it 0700.
        with tempfile.TemporaryDirectory(prefix="vigilcam-tpm-") as name:
            yield Path(name)

    def _primary(self, work: Path) -> Path:
        ctx = work / "primary.ctx"
        self._run("deriving the storage primary key (owner hierarchy; is an owner password "
                  "set?)", "tpm2_createprimary", "-Q", *PRIMARY_TEMPLATE, "-c", str(ctx))
        return ctx

    def _run(self, step: str, tool: str, *args: str, stdin: bytes | None = None) -> bytes:
        argv: Sequence[str] = (tool, *args)
        env = {**os.environ, "TPM2TOOLS_TCTI": self.tcti}
        try:
            try:
                done = subprocess.run(argv, input=stdin if stdin is not None else b"",
                                      capture_output=True, env=env, timeout=self.timeout,
                                      check=False)
            finally:
                self._flush(env)
        except FileNotFoundError:
            raise VaultError(f"TPM 2.0: {tool} not found: apt-get install tpm2-tools") from None
        except subprocess.TimeoutExpired:
            raise VaultError(f"TPM 2.0 did not answer within {self.timeout:g} s while "
                             f"{step} ({self.tcti})") from None
        if done.returncode != 0:
            raise VaultError(f"TPM 2.0 failed while {step} ({self.tcti}): "
                             f"{_tpm_message(done.stderr)}")
        return done.stdout

    def _flush(self, env: Mapping[str, str]) -> None:
        # Only this connection's objects under a resource manager; all of them on a raw TPM,
        # which has no other safe owner than this service anyway.
        try:
            subprocess.run(("tpm2_flushcontext", "-t"), capture_output=True, env=dict(env),
                           timeout=self.timeout, check=False)
        except (OSError, subprocess.TimeoutExpired):
            pass


BACKEND_ENV = "VIGILCAM_KEK_BACKEND"  # auto (default) | file | tpm2


def kek_store_for(
    keys_dir: Path, kek_file: Path, environ: Mapping[str, str] | None = None
) -> FileKek | TpmKek:
    """The KEK store of this data dir: what it already uses, else a TPM 2.0 when present.

    - sealed blobs on disk -> the TPM (a clear error when no TPM answers: the data dir was
      moved to another host, or tpm2-tools is missing);
    - a KEK file on disk -> that file (devices provisioned before a TPM was there);
    - nothing yet (provisioning) -> the TPM when ``detect()`` finds one, else the file.
    ``VIGILCAM_KEK_BACKEND=file`` forces the file for new devices, ``tpm2`` requires a TPM.
    """
    env = os.environ if environ is None else environ
    wanted = env.get(BACKEND_ENV, "auto").strip().lower() or "auto"
    if wanted not in ("auto", "file", "tpm2"):
        raise VaultError(f"{BACKEND_ENV}={wanted!r}: use auto, file or tpm2")
    probe = TpmKek(keys_dir, "")
    if kek_file.exists():
        return FileKek(kek_file)
    if probe.exists() or wanted == "tpm2" or (wanted == "auto" and detect(env).present):
        found = detect(env)
        if not found.present or found.tcti is None:
            raise VaultError(f"the key-encryption key is (to be) sealed in a TPM 2.0, but "
                             f"{found.reason}")
        return TpmKek(keys_dir, found.tcti)
    return FileKek(kek_file)


def _tpm_message(stderr: bytes) -> str:
    lines = [ln.strip() for ln in stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
    useful = [ln.removeprefix("ERROR: ") for ln in lines if ln.startswith("ERROR: ")
              and "Unable to run" not in ln]
    text = "; ".join(useful[:2]) or (lines[-1] if lines else "no message")
    return text[:300]
