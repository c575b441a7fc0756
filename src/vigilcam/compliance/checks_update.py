"""Audit checks of the update feature, for the clause registry (read-only, like every check).

Owns the local verdicts of IoT-1005-1 5.3.1.1 (A/B installer with rollback), 5.3.1.2 (TLS
update channel, TUF root pinned), 5.3.1.3 (scheduled checks, status), 5.4.1.1 (encrypted,
signed packages and a clean package scan: the one verdict of that scan) and TAICS 5.1.4.1
(verified start). Each takes the audit's ``LocalContext`` and returns a ``Result``;
``compliance/registry.py`` names them. Nothing here writes to the data dir.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING

from vigilcam.compliance.model import Result, merge
from vigilcam.update.config import UpdateConfig, UpdateConfigError, UpdatePaths, code_key_path
from vigilcam.update.manifest import verify_start
from vigilcam.update.package import CIPHER
from vigilcam.update.state import StateStore

if TYPE_CHECKING:
    from vigilcam.compliance.state import LocalContext

_CONFIGURE = ("Install the Debian package (it pins the project's update channel: "
              "docs/install.md), or pin a repository and its trust anchors: "
              "`vigilcam update configure --url "
              "https://<server>/<path> --tuf-root root.json --code-key code-signing.pub` "
              "(docs/updates.md).")


def _config(ctx: LocalContext) -> tuple[UpdatePaths, UpdateConfig | None, str | None]:
    paths = UpdatePaths(ctx.paths.root)
    try:
        config = UpdateConfig.load(paths.config_file)
    except UpdateConfigError as exc:
        return paths, None, str(exc)
    return paths, config, None


def _configured(ctx: LocalContext) -> Result:
    paths, config, problem = _config(ctx)
    if problem or config is None:
        return Result.failed("Fix or remove the update config file.", f"update config: {problem}")
    missing = []
    if not config.repository_url:
        missing.append("no update repository URL")
    if not paths.trusted_root.exists():
        missing.append(f"no pinned TUF root ({paths.trusted_root})")
    if not paths.code_key.exists():
        missing.append(f"no pinned code-signing key ({paths.code_key})")
    if missing:
        return Result.failed(_CONFIGURE, *missing)
    return Result.passed(f"update repository {config.repository_url}; TUF root and "
                         "code-signing key pinned in the data dir")


def update_mechanism(ctx: LocalContext) -> Result:
    """5.3.1.1: A/B slots, health check after switching, automatic rollback."""
    from vigilcam.update.slots import SlotManager

    paths, config, _ = _config(ctx)
    evidence = ["A/B installer (update/slots.py): unpack into the inactive slot, verify the "
                "signed code manifest, switch atomically, boot-check over HTTPS, roll back "
                "automatically (tests/update/test_install.py)"]
    if config is not None:
        slots = SlotManager(Path(config.install_root))
        evidence.append(f"install root {config.install_root}: current slot "
                        f"{slots.current_slot() or 'none yet'}")
    last = StateStore(paths.state_file).load("").last_install
    if last:
        evidence.append(f"last install: {last.get('version')} {last.get('result')} "
                        f"{last.get('at')}")
    return merge(Result.passed(*evidence), _configured(ctx))


def signed_updates(ctx: LocalContext) -> Result:
    """5.3.1.2: updates over TLS >= 1.2 with ECDHE; TUF-signed and encrypted packages."""
    from vigilcam.platform import tls

    policy = tls.describe()
    suites = [str(s) for s in policy["tls12_ciphers"]]  # type: ignore[attr-defined]
    evidence = [f"update fetcher uses platform/tls.py client context: minimum "
                f"{policy['minimum_version']}, TLS 1.2 suites {', '.join(suites)}; http:// and "
                "redirects refused",
                f"packages {CIPHER}, TUF metadata (rollback, freeze, mix-and-match, wrong key, "
                "tampered package refused: tests/update/test_client.py)"]
    problems = [s for s in suites if not s.startswith("ECDHE-")]
    if problems:
        return Result.failed("Only ECDHE suites are allowed (platform/tls.py).",
                             f"non-ECDHE suites: {', '.join(problems)}")
    paths = UpdatePaths(ctx.paths.root)
    if paths.trusted_root.exists():
        try:
            root = json.loads(paths.trusted_root.read_bytes())["signed"]
            roles = ", ".join(f"{r} {v['threshold']}-of-{len(v['keyids'])}"
                              for r, v in sorted(root["roles"].items()))
            evidence.append(f"pinned TUF root v{root['version']} (expires {root['expires']}): "
                            f"{roles}")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            return Result.failed(_CONFIGURE, f"pinned TUF root unreadable: {exc}")
    return merge(Result.passed(*evidence), _configured(ctx))


def update_checks(ctx: LocalContext) -> Result:
    """5.3.1.3: periodic checks (jittered schedule); status shown in UI/API/CLI."""
    paths, config, _ = _config(ctx)
    status = StateStore(paths.state_file).load("")
    interval = config.interval_hours if config else UpdateConfig().interval_hours
    evidence = [f"scheduled check every {interval:g} h +/- jitter (update/scheduler.py); status "
                "at GET /api/v1/update and `vigilcam update status`",
                f"last check: {status.last_check or 'never'} ({status.last_check_result or '-'})"
                f"; available: {status.available_version or 'none'}"]
    configured = _configured(ctx)
    if status.last_check is None:
        return merge(Result.failed("Start the service with updates configured, or run "
                                   "`vigilcam update check`.", *evidence), configured)
    when = dt.datetime.fromisoformat(status.last_check.replace("Z", "+00:00"))
    age_h = (dt.datetime.now(dt.UTC) - when).total_seconds() / 3600
    if age_h > 2 * interval + 1:
        return merge(Result.failed(f"The last check is {age_h:.0f} h old: is the service "
                                   "running and the repository reachable?", *evidence),
                     configured)
    return merge(Result.passed(*evidence), configured)


def release_packages(ctx: LocalContext) -> Result:
    """5.4.1.1: release packages AES-256-GCM and TUF-signed; installed package scanned clean."""
    scan = ctx.package_scan()
    if not scan.clean:
        return Result.failed("Remove the secret or declare the endpoint (with its purpose) in "
                             "update/pkgscan.py DECLARED_HOSTS/IPS.",
                             *scan.secrets, *scan.endpoints)
    return Result.passed(
        f"release packages encrypted with {CIPHER} and signed with TUF metadata "
        "(update/package.py, update/repository.py)",
        f"{scan.files} files scanned: no embedded secret; endpoints named are all declared "
        f"({', '.join(sorted(scan.declared_seen)) or 'none'})")


def verified_start(ctx: LocalContext) -> Result:
    """TAICS 5.1.4.1: the installed code matches its signed manifest (checked at every start)."""
    from vigilcam.compliance.state import package_dir

    verdict = verify_start(package_dir(), code_key_path(ctx.paths.root))
    if verdict.state == "verified":
        return Result.passed(verdict.detail, "`vigilcam run` refuses to start on a mismatch")
    if verdict.state == "development":
        return Result.failed("Install a signed release (its code-manifest.json is verified at "
                             "every start).", verdict.detail)
    return Result.failed("Reinstall the release (`vigilcam update install` or the release "
                         "package) and check how the code was modified.", verdict.detail)
