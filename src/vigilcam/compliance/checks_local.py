"""Local audit checks of the device's own state: identity, keys, accounts, storage, log.

Owns the local checks of the clauses served by the platform and auth services; each function
takes a ``LocalContext`` and returns a ``Result`` with the evidence and, for a FAIL, what to
do. Clause numbers are in each docstring (IoT-1005-1 unless marked TAICS). The network-facing
checks are in ``checks_network``, the host's in ``checks_host``, the documents' in
``checks_docs``; feature packages (update/) bring their own.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib.util
import os
import re
import sqlite3
import stat
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from vigilcam import product
from vigilcam.compliance.model import Result, merge
from vigilcam.platform.db import read_only_query

if TYPE_CHECKING:
    from vigilcam.compliance import procnet
    from vigilcam.compliance.state import LocalContext

WELL_KNOWN_DEFAULTS = ("admin", "12345", "123456", "password", "root", "")
_SERIAL = re.compile(r"^VC1-[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}$")


def feature(module: str) -> bool:
    """Is the feature module installed (a trimmed package may leave some out)?"""
    try:
        spec = importlib.util.find_spec(module)
    except ModuleNotFoundError:
        return False
    # An empty folder is a namespace package with no origin: not a feature yet.
    return spec is not None and spec.origin is not None


def _identity(ctx: LocalContext) -> object:
    from vigilcam.platform.identity import DeviceIdentity

    try:
        return DeviceIdentity.load(ctx.paths.identity_file)
    except (OSError, ValueError, KeyError) as exc:
        return exc


def _vault_problem(ctx: LocalContext) -> Result | None:
    vault = ctx.vault()
    if isinstance(vault, Exception):
        if "owned by uid" in str(vault):
            return Result.failed("Run the audit as the service's user, e.g. `sudo -u vigilcam "
                                 "vigilcam audit --data-dir ...`.", f"vault: {vault}")
        return Result.failed("Restore the data dir from a backup or re-provision with "
                             "`vigilcam init` on an empty dir.", f"vault: {vault}")
    return None


def unique_identifier(ctx: LocalContext) -> Result:
    """5.1.1.1: a device ID (UUID) and serial made on first start, in the cert and the log."""
    from cryptography import x509

    ident = _identity(ctx)
    if isinstance(ident, Exception):
        return Result.failed("Provision the device: `vigilcam init --data-dir DIR`.",
                             f"identity file unreadable: {ident}")
    device_id, serial = ident.device_id, ident.serial  # type: ignore[attr-defined]
    problems = []
    if uuid.UUID(device_id).version != 4:
        problems.append(f"device ID {device_id} is not a random UUID")
    if not _SERIAL.match(serial):
        problems.append(f"serial {serial!r} is not in the VC1-XXXX-XXXX-XXXX form")
    try:
        cert = x509.load_pem_x509_certificate(ctx.paths.cert_file.read_bytes())
        subject = cert.subject.rfc4514_string()
        if device_id not in subject or serial not in subject:
            problems.append(f"certificate subject lacks the device ID or serial: {subject}")
    except (OSError, ValueError) as exc:
        problems.append(f"certificate unreadable: {exc}")
    if problems:
        return Result.failed("Re-provision the device so identity and certificate agree.",
                             *problems)
    return Result.passed(f"device ID {device_id} (UUID v4), serial {serial}",
                         "both in the TLS certificate subject; the log verifier checks the "
                         "device ID of every record (TAICS 5.2.8.1 check)")


def unique_keys(ctx: LocalContext) -> Result:
    """5.1.1.2: keys made on this device; nothing key-like ships in the package."""
    bad = _vault_problem(ctx)
    if bad:
        return bad
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization

    parts = []
    pem = ctx.paths.key_file.read_bytes() if ctx.paths.key_file.exists() else b""
    if b"ENCRYPTED PRIVATE KEY" not in pem:
        parts.append(Result.failed("Re-provision: the TLS key must be stored encrypted.",
                                   f"{ctx.paths.key_file} is missing or not encrypted"))
    else:
        cert = x509.load_pem_x509_certificate(ctx.paths.cert_file.read_bytes())
        spki = cert.public_key().public_bytes(serialization.Encoding.DER,
                                              serialization.PublicFormat.SubjectPublicKeyInfo)
        digest = hashes.Hash(hashes.SHA256())
        digest.update(spki)
        parts.append(Result.passed(
            f"per-device TLS key (public key SHA-256 {digest.finalize().hex()[:16]}...), "
            "stored encrypted; key-encryption key and vault keys made from the OS CSPRNG at "
            "provisioning"))
    scan = ctx.package_scan()
    if scan.secrets:
        parts.append(Result.failed("Remove the embedded key material from the package.",
                                   *scan.secrets))
    else:
        parts.append(Result.passed(f"installed package: {scan.files} files, no private key "
                                   "or secret-looking literal"))
    return merge(*parts)


def replay_resistance(ctx: LocalContext) -> Result:
    """5.1.1.3: sessions over TLS, CSRF token and single-use nonce per state change."""
    from vigilcam.auth import sessions
    from vigilcam.web import guard

    parts = []
    if hasattr(sessions.SessionStore, "consume_nonce") and "consume_nonce" in Path(
            guard.__file__).read_text():
        parts.append(Result.passed("web API: 256-bit session over TLS, CSRF token and a "
                                   "single-use request nonce on every state change"))
    else:
        parts.append(Result.failed("Restore the request nonce guard in web/guard.py.",
                                   "web guard does not consume request nonces"))
    settings = ctx.settings()
    if settings.rtsps_port:
        if feature("vigilcam.rtsp"):
            parts.append(Result.passed("RTSPS enabled: served by vigilcam.rtsp (Digest with "
                                       "nonce and nc)"))
        else:
            parts.append(Result.failed("Install the RTSPS feature or remove rtsps_port.",
                                       "RTSPS configured but vigilcam.rtsp is not installed"))
    else:
        parts.append(Result.passed("RTSPS and ONVIF are off: no other credential exchange"))
    return merge(*parts)


def roles_enforced(ctx: LocalContext) -> Result:
    """5.1.2.1: roles admin/operator/viewer; one matrix; public routes only the allowed few."""
    from vigilcam.auth.permissions import MATRIX, Role
    from vigilcam.compliance.roles_doc import render
    from vigilcam.web.catalogue import all_route_specs, all_socket_specs
    from vigilcam.web.guard import PUBLIC

    roles = {r.value for r in Role}
    problems = []
    if not {"admin", "operator", "viewer"} <= roles:
        problems.append(f"roles are {sorted(roles)}; admin, operator and viewer are needed")
    if set(MATRIX) != set(Role):
        problems.append("the permission matrix does not cover every role")
    specs = all_route_specs()
    for spec in specs:
        if spec.requirement is PUBLIC:
            allowed = (spec.method == "GET" and not spec.path.startswith("/api/")) or (
                (spec.method, spec.path) in {("POST", "/api/v1/session"),
                                             ("GET", "/api/v1/openapi.json")})
            if not allowed:
                problems.append(f"{spec.method} {spec.path} needs no authentication")
    evidence = [f"roles {', '.join(sorted(roles))}; {len(specs)} routes each guarded by the "
                "matrix in auth/permissions.py (walked by tests/web/test_permissions.py)"]
    if ctx.docs_root is not None:
        doc = ctx.docs_root / "docs" / "roles.md"
        if doc.exists():
            if doc.read_text() == render(specs, all_socket_specs()):
                evidence.append("docs/roles.md equals the document generated from the code")
            else:
                problems.append("docs/roles.md differs from the code; regenerate it with "
                                "`python -m vigilcam.compliance.roles_doc > docs/roles.md`")
    if problems:
        return Result.failed("Guard every API route with a permission of the matrix and "
                             "regenerate docs/roles.md.", *problems, *evidence)
    return Result.passed(*evidence)


def login_throttling(ctx: LocalContext) -> Result:
    """5.1.2.2: growing delays, lockouts, at most 100 failures per account (NIST 800-63B)."""
    from vigilcam.auth.throttle import LoginThrottle, Reservation

    s = ctx.settings().throttle
    clock = [0.0]
    throttle = LoginThrottle(s, clock=lambda: clock[0])
    checked = 0
    for _ in range(1000):
        verdict = throttle.check("admin", "203.0.113.7")
        if not verdict.allowed:
            if verdict.reason in ("source_locked", "account_capped"):
                break
            clock[0] += verdict.retry_after
            continue
        checked += 1
        throttle.failure("admin", "203.0.113.7")
    # Attackers are parallel: 1,000 attempts in flight at once, from one source and from
    # 1,000 sources, each reserved before any password check finishes.
    burst = LoginThrottle(s, clock=lambda: 0.0)
    one_source = sum(isinstance(burst.reserve("admin", "203.0.113.8"), Reservation)
                     for _ in range(1000))
    botnet = sum(isinstance(burst.reserve("root", f"10.{i // 250}.{i % 250}.9"), Reservation)
                 for i in range(1000))
    evidence = [f"settings: free_attempts={s.free_attempts}, delays {s.base_delay_s}s.."
                f"{s.max_delay_s}s, source lockout after {s.source_lockout_after}, account "
                f"cap {s.account_hard_cap}",
                f"simulated attack from one source: locked out after {checked} password checks "
                f"({clock[0]:.0f} s of forced waiting)",
                f"1,000 concurrent attempts: {one_source} checked from one source, {botnet} "
                "from 1,000 sources on one account"]
    if s.account_hard_cap > 100 or checked > 100 or botnet > 100:
        return Result.failed("Set throttle.account_hard_cap to 100 or less.", *evidence)
    if one_source > s.source_lockout_after:
        return Result.failed("Count login attempts before the password check.", *evidence)
    return Result.passed(*evidence)


def no_default_password(ctx: LocalContext) -> Result:
    """5.1.3.1: unique setup secret, forced change, NIST 800-63B policy, no default works."""
    from argon2 import PasswordHasher
    from argon2.exceptions import Argon2Error

    from vigilcam.auth import passwords

    problems, evidence = [], []
    if passwords.MIN_LENGTH < 8:
        problems.append(f"minimum password length is {passwords.MIN_LENGTH} (< 8)")
    refused = [p for p in ("password1234567890", "123456789012345", "qwertyuiopasdfgh")
               if passwords.policy_problems(p)]
    if len(refused) < 3:
        problems.append("the blocklist accepts common passwords")
    evidence.append(f"password policy: at least {passwords.MIN_LENGTH} characters, blocklist "
                    "of common/breached passwords, no composition rules")
    try:
        users = ctx.users()
    except sqlite3.Error as exc:
        return Result.failed("Check the accounts database.", f"accounts unreadable: {exc}")
    hasher = PasswordHasher()
    for user in users[:10]:  # bounded: each guess costs one Argon2id hash
        if user["disabled"]:
            continue
        for guess in WELL_KNOWN_DEFAULTS:
            try:
                if hasher.verify(user["password_hash"], guess):
                    problems.append(f"user {user['username']} has a well-known password")
            except (Argon2Error, ValueError):
                pass
    admin = next((u for u in users if u["username"] == "admin"), None)
    secret_file = ctx.paths.setup_secret_file
    if secret_file.exists():
        if admin is not None and not admin["must_change"]:
            problems.append(f"{secret_file} still exists although the admin password changed")
        else:
            evidence.append("setup secret still unused: admin must choose a new password at "
                            "first login")
    else:
        evidence.append("setup secret retired (the owner chose a password)")
    evidence.append(f"{len(users)} account(s); none accepts a well-known default password")
    if problems:
        return Result.failed("Change the affected passwords (`vigilcam user reset-password "
                             "NAME`) and delete a stale setup-secret file.", *problems)
    return Result.passed(*evidence)


def model_shown(ctx: LocalContext) -> Result:
    """5.2.3.4: model name and version in the certificate, API, UI and login page."""
    from cryptography import x509

    from vigilcam.web import ui

    problems = []
    try:
        cert = x509.load_pem_x509_certificate(ctx.paths.cert_file.read_bytes())
        if product.MODEL not in cert.subject.rfc4514_string():
            problems.append("the certificate subject does not name the model")
    except (OSError, ValueError) as exc:
        problems.append(f"certificate unreadable: {exc}")
    if ctx.running:
        from vigilcam.compliance.checks_network import https_get

        try:
            body = https_get(ctx, "/").text
            where = "the login page served by the running service"
        except Exception as exc:  # noqa: BLE001 - any failure to fetch is evidence
            body, where = "", f"the login page could not be fetched ({exc})"
    else:
        page = Path(ui.STATIC_DIR) / "index.html"
        body = page.read_text(encoding="utf-8") if page.exists() else ""
        body = body.replace("{{model}}", product.MODEL).replace("{{version}}", product.VERSION)
        where = "the login page template"
    if product.MODEL not in body or product.VERSION not in body:
        problems.append(f"{where} does not show model and version")
    if problems:
        return Result.failed("Re-provision so the certificate names the model.", *problems)
    return Result.passed(f"model '{product.MODEL}' version {product.VERSION} in the TLS "
                         "certificate, GET /api/v1/device and the login page")


def support_period(ctx: LocalContext) -> Result:
    """5.3.1.4: the support end date is stated and not past."""
    from vigilcam.compliance.checks_docs import doc_mentions

    evidence = [f"support until {product.SUPPORT_UNTIL.isoformat()} (product.py; shown by "
                "GET /api/v1/device and the UI)"]
    if product.support_expired():
        return Result.failed("The support period is over: move to a supported release.",
                             *evidence)
    doc = doc_mentions(ctx, "SECURITY.md", product.SUPPORT_UNTIL.isoformat())
    return merge(Result.passed(*evidence), doc)


_PRIVATE = (("root", True), ("keys_dir", True), ("kek_file", False), ("vault_file", False),
            ("tls_dir", True), ("key_file", False), ("setup_secret_file", False),
            ("accounts_db", False), ("seclog_dir", True))


def storage_protected(ctx: LocalContext) -> Result:
    """5.4.1.2: secrets AES-256-GCM in the vault, private files, passwords only as Argon2id."""
    problems, evidence = [], []
    for attr, is_dir in _PRIVATE:
        path: Path = getattr(ctx.paths, attr)
        if not path.exists():
            continue
        mode = stat.S_IMODE(path.stat().st_mode)
        limit = 0o700 if is_dir else 0o600
        if mode & ~limit:
            problems.append(f"{path} has mode {mode:o}; run: chmod {limit:o} {path}")
    evidence.append("data dir, keys and tls folders 0700; kek, vault, TLS key, accounts and "
                    "setup secret 0600" if not problems else "")
    vault = ctx.vault()
    if isinstance(vault, Exception):
        problems.append(f"vault: {vault}")
    else:
        evidence.append(f"vault opens and authenticates (AES-256-GCM, {len(vault.names())} "
                        f"secrets, key-encryption key backend: {vault.backend})")
    try:
        hashes = [u["password_hash"] for u in ctx.users()]
        weak = [h for h in hashes if not h.startswith("$argon2id$")]
        if weak:
            problems.append(f"{len(weak)} password(s) not stored as Argon2id")
        else:
            evidence.append(f"{len(hashes)} password(s) stored only as Argon2id hashes")
    except sqlite3.Error as exc:
        problems.append(f"accounts database unreadable: {exc}")
    evidence = [e for e in evidence if e]
    if problems:
        return Result.failed("Fix the permissions as shown (chmod) and restore the vault.",
                             *problems, *evidence)
    return Result.passed(*evidence)


def input_validated(ctx: LocalContext) -> Result:
    """5.5.2.1: every API body has a schema that refuses unknown fields; bodies are capped."""
    from vigilcam.web.catalogue import all_route_specs

    problems = []
    bodies = 0
    for spec in all_route_specs():
        if spec.body is not None:
            bodies += 1
            if spec.body.model_config.get("extra") != "forbid":
                problems.append(f"{spec.method} {spec.path}: schema accepts unknown fields")
    cap = ctx.settings().max_body_bytes
    evidence = [f"{bodies} request bodies validated by strict schemas (unknown fields refused)",
                f"request bodies capped at {cap} bytes before parsing; XML parsed with "
                "defusedxml; config validated with bounds at start"]
    if problems:
        return Result.failed("Give every state-changing route a strict body schema.",
                             *problems)
    return Result.passed(*evidence)


def resilience(ctx: LocalContext) -> Result:
    """5.6.1.1: state survives power loss: databases intact, config valid, log intact."""
    problems, evidence = [], []
    for db in (ctx.paths.accounts_db,):
        rows = read_only_query(db, "PRAGMA quick_check")
        ok = rows[0][0] if rows else "missing or unreadable"
        if ok != "ok":
            problems.append(f"{db.name}: {ok}")
        else:
            evidence.append(f"{db.name}: integrity check ok (SQLite WAL)")
    if not ctx.running and ctx.paths.run_marker.exists():
        evidence.append("the last run did not stop cleanly (power loss or kill); the next "
                        "start logs device.unclean_shutdown and carries on")
    evidence.append("writes are atomic (temp file, fsync, rename); a torn log tail is "
                    "repaired at start; the video source reconnects with backoff")
    svc = ctx.service()
    if svc is not None and svc.environ.get("WATCHDOG_USEC", "").isdigit():
        usec = int(svc.environ["WATCHDOG_USEC"])
        evidence.append(f"running under systemd with a {usec / 1e6:g} s watchdog "
                        "(sd_notify READY/WATCHDOG; Restart=always)")
    elif svc is not None and svc.environ.get("INVOCATION_ID"):
        evidence.append("running under systemd, but without the watchdog: install "
                        "packaging/vigilcam.service (WatchdogSec=30)")
    else:
        evidence.append("supervisor: packaging/vigilcam.service (Type=notify, WatchdogSec=30, "
                        "Restart=always) restarts it after a crash or a hang")
    evidence.append(_listener_budgets(ctx, svc))
    if problems:
        return Result.failed("Restore the damaged database from a backup.", *problems)
    return Result.passed(*evidence)


def _listener_budgets(ctx: LocalContext, svc: procnet.ServiceProcess | None) -> str:
    """The slow-client deadlines and per-source budgets in force (docs/listeners.md)."""
    lim = ctx.settings().listeners
    ceilings = (lim.https_max + lim.https_per_source + 4 * lim.https_per_source
                + lim.rtsps_max + lim.rtsps_per_source)
    files = ""
    if svc is not None:
        with contextlib.suppress(OSError, ValueError, IndexError):
            for line in (ctx.proc / str(svc.pid) / "limits").read_text().splitlines():
                if line.startswith("Max open files"):
                    files = f"; the service may open {int(line.split()[3])} files"
    return (f"listeners: TLS handshake within {lim.handshake_timeout_s:g} s, request head "
            f"within {lim.head_timeout_s:g} s, RTSPS authentication within "
            f"{lim.auth_timeout_s:g} s; per address at most {lim.https_per_source} of "
            f"{lim.https_max} HTTPS and {lim.rtsps_per_source} of {lim.rtsps_max} RTSPS "
            f"connections, at most {ceilings} in all{files}")


def data_deletion(ctx: LocalContext) -> Result:
    """5.7.1.1: one action deletes recordings, snapshots, personal data and accounts."""
    if feature("vigilcam.privacy") and _mentions("vigilcam.privacy", "factory"):
        return Result.passed("factory reset with crypto-erase provided by vigilcam.privacy",
                             "recordings can be erased (recording/erase.py)")
    return Result.failed("The one-step factory reset (vigilcam.privacy) is not installed yet; "
                         "until then delete the data dir to remove all personal data.",
                         "recording erase exists (recording/erase.py)",
                         "no one-step deletion of all personal data and accounts")


def no_telemetry(ctx: LocalContext) -> Result:
    """5.7.1.2: telemetry off (none exists); no undeclared endpoint to report to."""
    scan = ctx.package_scan()
    if scan.endpoints:
        return Result.failed("Explain or remove each undeclared endpoint (telemetry needs "
                             "opt-in consent).", *scan.endpoints)
    return Result.passed("no telemetry code: vigilcam sends no usage data; outbound "
                         "connections only to channels the owner configures",
                         f"package scan: no undeclared endpoint in {scan.files} files")


def _alerts_ready(ctx: LocalContext, what: str) -> Result:
    if not feature("vigilcam.alerts"):
        return Result.failed(f"Install the alert channels (vigilcam.alerts) and configure one "
                             f"so {what} reaches the owner.",
                             f"{what}: logged in the security log with the device ID",
                             "no active alert: the alert channels are not installed yet")
    channels = _alert_channels(ctx)
    if not channels:
        return Result.failed("Configure an alert channel (email, webhook, MQTT, ntfy or apprise) "
                             "with `vigilcam alerts add ...` and send a test alert.",
                             f"{what}: logged with the device ID, but no alert channel is "
                             "configured")
    return Result.passed(f"{what}: raised as alerts carrying the device ID to {channels} "
                         "configured channel(s), queued and retried (alerts outbox)")


def _alert_channels(ctx: LocalContext) -> int:
    db = ctx.paths.alerts_db
    rows = read_only_query(db, "SELECT count(*) FROM channels")
    return int(rows[0][0]) if rows else 0


def _mentions(package: str, word: str) -> bool:
    """Does the feature package's code name ``word`` (e.g. a factory reset)?"""
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        return False
    folder = Path(spec.origin).parent
    return any(word in p.read_text(errors="replace").lower() for p in folder.glob("*.py"))


def login_alerts(ctx: LocalContext) -> Result:
    """5.8.1.1: failed bursts, lockouts, new sources raise alerts carrying the device ID."""
    return _alerts_ready(ctx, "abnormal logins (bursts, lockouts, new sources)")


def tamper_alerts(ctx: LocalContext) -> Result:
    """TAICS 5.1.2.1: lens covered/defocused/moved, signal loss and power loss alerts."""
    parts = []
    if feature("vigilcam.analytics.tamper"):
        parts.append(Result.passed("tamper detection present (analytics/tamper.py)"))
    else:
        parts.append(Result.failed("Install tamper detection.", "no tamper detection"))
    parts.append(Result.passed("power loss detected at start (device.unclean_shutdown)"))
    parts.append(_alerts_ready(ctx, "tamper, signal loss and power loss"))
    return merge(*parts)


def reset_never_restores_default(ctx: LocalContext) -> Result:
    """TAICS 5.1.3.2: no reset brings back a known password; each gives a new secret."""
    from vigilcam.auth.passwords import generate_secret

    secrets = {generate_secret() for _ in range(64)}
    if len(secrets) != 64 or min(len(s) for s in secrets) < 20:
        return Result.failed("Restore a CSPRNG-based generate_secret().",
                             "setup secrets repeat or are short")
    evidence = ["no default password exists anywhere; provisioning and password resets make "
                "a new random one-time secret (5 x 5 characters from 32 symbols, 125 bits; "
                "64 draws all distinct)"]
    if feature("vigilcam.privacy") and _mentions("vigilcam.privacy", "factory"):
        evidence.append("factory reset (vigilcam.privacy) re-provisions with a new secret")
    else:
        evidence.append("factory reset command not installed yet: no path restores any "
                        "password")
    return Result.passed(*evidence)


def secure_domain(ctx: LocalContext) -> Result:
    """TAICS 5.2.5.2: key-encryption key sealed in a TPM 2.0 when present, else private file."""
    from vigilcam.platform.tpm import TpmKek, detect

    kek = ctx.paths.kek_file
    sealed = TpmKek(ctx.paths.keys_dir, "")
    svc = ctx.service()
    tpm = detect({**os.environ, **(svc.environ if svc else {})})
    if sealed.exists():
        vault = ctx.vault()
        if isinstance(vault, Exception):
            return Result.failed("Run the audit on the host whose TPM sealed the key, as the "
                                 "service's user (in group tss).",
                                 f"key-encryption key sealed in a TPM 2.0, but: {vault}")
        return Result.passed(f"key-encryption key sealed in a TPM 2.0 ({tpm.tcti}): only "
                             f"{sealed.pub_file.name} and {sealed.priv_file.name} (TPM-encrypted "
                             "blobs) are on disk; unsealed it opens the vault")
    if not kek.exists():
        return Result.failed("Provision the device.", f"{kek} missing")
    st = kek.stat()
    dir_mode = stat.S_IMODE(kek.parent.stat().st_mode)
    evidence = [f"key-encryption key in a file: {kek} owned by uid {st.st_uid}, mode "
                f"{stat.S_IMODE(st.st_mode):o}, folder {dir_mode:o}"]
    if stat.S_IMODE(st.st_mode) & 0o077 or dir_mode & 0o077:
        return Result.failed(f"chmod 600 {kek}; chmod 700 {kek.parent}", *evidence)
    if tpm.tcti is not None:  # a TPM is there (usable or lacking tpm2-tools) but unused
        return Result.failed("A TPM 2.0 is present but the key-encryption key is in a file: "
                             "install tpm2-tools, add the service user to group tss, then run "
                             "`vigilcam factory-reset`, which re-provisions with the key sealed "
                             "in the TPM.", *evidence, f"TPM found: {tpm.reason}")
    return Result.passed(*evidence, f"{tpm.reason}, so the service-only file is the secure "
                         "domain")


def security_log(ctx: LocalContext) -> Result:
    """TAICS 5.2.8.1: hash-chained keyed log verifies; retention 3-12 months or more."""
    import time

    from vigilcam.platform.seclog import SecurityLog
    from vigilcam.platform.seclog_keys import SECLOG_ARCHIVE_KEY, SECLOG_MAC_KEY

    bad = _vault_problem(ctx)
    if bad:
        return bad
    ident = _identity(ctx)
    if isinstance(ident, Exception):
        return Result.failed("Provision the device.", f"identity unreadable: {ident}")
    vault = ctx.vault()
    log = SecurityLog(ctx.paths.seclog_dir, ident.device_id,  # type: ignore[attr-defined]
                      vault.get(SECLOG_MAC_KEY), vault.get(SECLOG_ARCHIVE_KEY),
                      anchor=vault.anchor)
    report = log.verify()
    for _ in range(3):  # the running service may be mid-append: read again
        if report.ok or not ctx.running:
            break
        time.sleep(0.2)
        report = log.verify()
    retention = ctx.settings().log_retention_days
    evidence = [f"security log: {report.records} records, hash chain and MACs verified",
                f"retention {retention} days (NIST SP 800-92 high impact: 90-365)",
                "records carry UTC ms timestamp, user, source, action; admins view and export "
                "them (GET /api/v1/log, `vigilcam log export`)"]
    target = ctx.settings().syslog.target
    evidence.append(f"copied as it is written to the syslog collector {target} over TLS "
                    "(RFC 5424/5425)" if target else "remote syslog forwarding off (optional: "
                    "[syslog] target = \"host:6514\")")
    if not report.ok:
        return Result.failed("The log was modified outside vigilcam: keep this copy as "
                             "evidence, investigate, and see `vigilcam log verify`.",
                             *report.problems, f"records read: {report.records}")
    if retention < 90:
        return Result.failed("Set log_retention_days to 90 or more.", *evidence)
    return Result.passed(*evidence)


def log_failure_alert(ctx: LocalContext) -> Result:
    """TAICS 5.2.8.2: a log that cannot be written raises an alert on every channel."""
    return merge(Result.passed("the log hands seclog.write_failed to its subscribers and "
                               "keeps the events in memory"),
                 _alerts_ready(ctx, "a security log write failure"))


def access_alerts(ctx: LocalContext) -> Result:
    """TAICS 5.5.1.1: every new access (login, viewer) raises an active alert."""
    viewers = "viewers registry shows who is watching" if feature(
        "vigilcam.viewers.registry") else "no viewer registry"
    return merge(Result.passed(f"new logins and sources logged (auth.new_source); {viewers}"),
                 _alerts_ready(ctx, "new logins and new viewers"))


def known_vulnerabilities(ctx: LocalContext) -> Result:
    """IoT-1005-1 5.2.1.1: no known vulnerabilities in the installed packages; an SBOM.

    pip-audit on the installed packages when it is installed and reaches its service; else the
    update channel's signed advisories (``sbom.advisories``) judge them, as on a packaged
    device."""
    from vigilcam.sbom import advisories
    from vigilcam.sbom.vulns import FAIL, PASS, cached_vulnerability_audit
    from vigilcam.update.config import UpdatePaths

    ctx.progress("checking installed packages for known vulnerabilities (pip-audit)")
    report = cached_vulnerability_audit(timeout=120)  # same package set: reuse for a day
    origin = "pip-audit"
    if report.status not in (PASS, FAIL):
        feed = UpdatePaths(ctx.paths.root).advisories_file
        signed = advisories.judge(feed.read_bytes() if feed.exists() else None,
                                  advisories.installed_packages(), dt.datetime.now(dt.UTC))
        if signed.status in (PASS, FAIL):
            report, origin = signed, "update channel"
        else:
            report.detail += f"; {signed.detail}"
    sbom = ("CycloneDX 1.5 SBOM of the installed software: `vigilcam sbom -o sbom.cdx.json` "
            "(produced for each release in CI)")
    if report.status == PASS:
        return Result.passed(f"{origin}: {report.detail}", sbom)
    if report.status == FAIL:
        return Result.failed("Upgrade the vulnerable packages (see `vigilcam vuln-audit`) "
                             "or install a fixed vigilcam release.",
                             f"{origin}: {report.detail}",
                             *(f.describe() for f in report.findings[:20]), sbom)
    return Result.not_tested(f"pip-audit: {report.detail}", sbom,
                             todo="Let the device reach its update channel (`vigilcam update "
                                  "check` fetches the signed advisories), or install pip-audit "
                                  "and let the host reach its vulnerability service.")


def hotplug_logging(ctx: LocalContext) -> Result:
    """TAICS 5.1.1.2: USB / storage hot-plug events reach the security log."""
    from vigilcam.hostevents.monitor import HotplugUnavailable, open_uevent_socket

    if not ctx.settings().hotplug_logging:
        return Result.failed("Set hotplug_logging = true (the default).",
                             "hot-plug logging turned off in the configuration")
    try:
        open_uevent_socket().close()
    except HotplugUnavailable as exc:
        return Result.failed("Allow netlink sockets for the service (systemd: "
                             "RestrictAddressFamilies must list AF_NETLINK).", str(exc))
    return Result.passed("kernel uevents readable (NETLINK_KOBJECT_UEVENT): USB devices and "
                         "storage media added or removed are recorded as host.device_added / "
                         "host.device_removed with vendor, product, model and device name",
                         "unused ports: disable them in firmware and with udev "
                         "(docs/setup-guide.md)")
