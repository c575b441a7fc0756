"""What the local audit looks at: the data dir, the running service, the host; read-only.

Owns gathering the real state for the local checks, once, lazily: the effective settings (of
the running ``vigilcam run`` process when there is one: its command line and environment),
the vault opened read-only, the listening sockets of the process and a TLS scan of each of its
TLS ports. Serves every local check of the registry (IoT-1005-1, TAICS TS 5100-2-1).

The audit never writes to the data dir: the running service owns the security log chain, so
a second writer would break it. Reading is safe: the log is verified from its files.
"""

from __future__ import annotations

import os
import sqlite3
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

from vigilcam.compliance import procnet
from vigilcam.compliance.host_facts import HostFindings, HostRoot, inspect_host
from vigilcam.compliance.model import Result
from vigilcam.compliance.tls_scan import TlsScanReport
from vigilcam.platform.config import Settings, load_settings
from vigilcam.platform.db import read_only_query
from vigilcam.platform.paths import DataPaths, default_data_dir
from vigilcam.update.pkgscan import ScanReport
from vigilcam.update.pkgscan import scan as scan_package

TlsScanner = Callable[[str, int], TlsScanReport]
T = TypeVar("T")


def _default_scanner(host: str, port: int) -> TlsScanReport:
    from vigilcam.compliance.remote import quick_then_sslyze

    return quick_then_sslyze(host, port)


def package_dir() -> Path:
    import vigilcam

    return Path(vigilcam.__file__).resolve().parent


PACKAGED_DOCS = Path("/usr/share/doc/vigilcam")  # the Debian package's copy (docs/install.md)


def find_docs_dir() -> Path | None:
    """The documentation pack: ``docs/`` beside SECURITY.md in the source tree, or the copy the
    Debian package installs."""
    for parent in package_dir().parents:
        if (parent / "SECURITY.md").exists() and (parent / "docs").is_dir():
            return parent
        if (parent / "pyproject.toml").exists():
            break
    if (PACKAGED_DOCS / "SECURITY.md").exists() and (PACKAGED_DOCS / "docs").is_dir():
        return PACKAGED_DOCS
    return None


@dataclass(frozen=True)
class Listening:
    """A socket the service listens on, and what the documented set says it is."""

    socket: procnet.Listener
    name: str  # "HTTPS" ... or "" when undocumented
    tls: bool


def documented_listeners(settings: Settings) -> dict[int, tuple[str, bool]]:
    """Port -> (what, TLS?): only HTTPS by default, the rest only when configured (5.2.2.1)."""
    out: dict[int, tuple[str, bool]] = {settings.https_port: ("HTTPS (web UI, API, WSS)", True)}
    if settings.http_redirect_port:
        out[settings.http_redirect_port] = ("plain-HTTP redirect to HTTPS (opt-in)", False)
    if settings.rtsps_port:
        out[settings.rtsps_port] = ("RTSPS (opt-in)", True)
    for name, value in settings.model_dump().items():
        if name.endswith("_port") and isinstance(value, int) and value not in out:
            out[value] = (f"{name} (opt-in)", True)
    return out


@dataclass
class LocalContext:
    paths: DataPaths
    host: HostRoot = HostRoot()
    proc: Path = Path("/proc")
    tls_scanner: TlsScanner = _default_scanner
    progress: Callable[[str], None] = lambda line: None
    docs_root: Path | None = field(default_factory=find_docs_dir)
    _cache: dict[str, Any] = field(default_factory=dict)

    def _once(self, name: str, make: Callable[[], T]) -> T:
        if name not in self._cache:
            self._cache[name] = make()
        return cast(T, self._cache[name])

    # -- the service -------------------------------------------------------------------------
    def service(self) -> procnet.ServiceProcess | None:
        return self._once("service", lambda: procnet.find_service(
            self.paths.root, default_data_dir(), self.proc))

    @property
    def running(self) -> bool:
        return self.service() is not None

    def running_note(self) -> str:
        svc = self.service()
        if svc is None:
            return "service not running: judged from the data dir and configuration"
        return f"service running (pid {svc.pid}): judged from the live process"

    def settings(self) -> Settings:
        def make() -> Settings:
            svc = self.service()
            if svc is None:
                return load_settings(self.paths.config_file, {}, environ=dict(os.environ))
            return load_settings(self.paths.config_file, svc.cli, environ=svc.environ)

        return self._once("settings", make)

    def listening(self) -> list[Listening]:
        def make() -> list[Listening]:
            svc = self.service()
            if svc is None:
                return []
            documented = documented_listeners(self.settings())
            out = []
            for sock in procnet.listeners_of(svc.pid, self.proc):
                name, tls = documented.get(sock.port, ("", False))
                out.append(Listening(sock, name if sock.transport == "tcp" else "", tls))
            return out

        return self._once("listening", make)

    def sockets_unreadable(self) -> Result | None:
        """A NOT TESTED result when this user cannot see the service's sockets."""
        svc = self.service()
        if svc is None or os.access(self.proc / str(svc.pid) / "fd", os.R_OK):
            return None
        return Result.not_tested(
            f"service running (pid {svc.pid}) but its sockets are not readable by this user",
            todo="Run the audit as the service's user or as root.")

    def connect_host(self, address: str | None = None) -> str:
        bind = address or self.settings().bind
        if bind in ("0.0.0.0", ""):
            return "127.0.0.1"
        if bind == "::":
            return "::1"
        return bind

    def tls_scan(self, port: int) -> TlsScanReport:
        def make() -> TlsScanReport:
            self.progress(f"scanning TLS on port {port} (sslyze)")
            return self.tls_scanner(self.connect_host(), port)

        return self._once(f"tls:{port}", make)

    def client_ssl(self) -> ssl.SSLContext:
        """A client pinned to the device's own certificate."""
        from vigilcam.platform import tls

        return tls.client_context(cafile=self.paths.cert_file)

    # -- stored state ------------------------------------------------------------------------
    def vault(self) -> Any:
        """The opened Vault, or the VaultError explaining why it cannot be opened."""

        def make() -> Any:
            from vigilcam.platform.tpm import kek_store_for
            from vigilcam.platform.vault import Vault, VaultError

            try:
                svc = self.service()  # the service's TPM settings (VIGILCAM_TPM_TCTI ...)
                env = {**os.environ, **(svc.environ if svc else {})}
                store = kek_store_for(self.paths.keys_dir, self.paths.kek_file, env)
                vault = Vault(self.paths.vault_file, store, self.paths.anchor_file)
                vault.open()
            except (VaultError, OSError, ValueError) as exc:
                return VaultError(str(exc))
            return vault

        return self._once("vault", make)

    def users(self) -> list[dict[str, Any]]:
        """Rows of the accounts database, opened read-only."""

        def make() -> list[dict[str, Any]]:
            rows = read_only_query(self.paths.accounts_db, "SELECT username, role, "
                                   "password_hash, must_change, disabled FROM users")
            if rows is None:
                raise sqlite3.OperationalError(f"{self.paths.accounts_db} is missing or "
                                               "unreadable")
            return [dict(r) for r in rows]

        return self._once("users", make)

    def host_findings(self) -> HostFindings:
        return self._once("host", lambda: inspect_host(self.host))

    def package_scan(self) -> ScanReport:
        def make() -> ScanReport:
            self.progress("scanning the installed package for secrets and endpoints")
            return scan_package(package_dir())

        return self._once("pkgscan", make)
