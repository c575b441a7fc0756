"""``vigilcam update ...``: status, check, install, rollback, configure, verify-code, sign-manifest.

Owns the command-line side of updates: IoT-1005-1 5.3.1.1 (install / rollback), 5.3.1.2
(configure pins the TUF root and the update server's CA), 5.3.1.3 (status, check) and TAICS
5.1.4.1 (verify-code on the device; sign-manifest is release tooling: the private key comes
from a file named on the command line, never from the repository or the data dir).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from vigilcam.platform.events import Event


def _service(args: argparse.Namespace) -> tuple[Any, Any]:
    from vigilcam.platform.cli_kit import host_of
    from vigilcam.update.config import DISTRIBUTION_KEY_SECRET
    from vigilcam.update.service import UpdateService

    device = host_of(args).open_device(args)
    service = UpdateService(device.paths.root, device.record,
                            distribution_key=device.vault.find(DISTRIBUTION_KEY_SECRET))
    return device, service


def cmd_status(args: argparse.Namespace) -> int:
    from vigilcam.platform.cli_kit import EXIT_OK

    device, service = _service(args)
    try:
        status = service.status()
    finally:
        device.close()
    if args.json:
        print(json.dumps(status, indent=1))
        return EXIT_OK
    last = status.get("last_install") or {}
    print(f"installed version:  {status['current_version']} (slot {status['current_slot'] or '-'})")
    print(f"security updates:   until {status['supported_until']}")
    print(f"repository:         {status['repository_url'] or 'not configured'}")
    print(f"last check:         {status['last_check'] or 'never'} "
          f"({status['last_check_result'] or '-'})")
    print(f"available update:   {status['available_version'] or 'none'}")
    print(f"last install:       {last.get('version', '-')} {last.get('result', '')} "
          f"{last.get('at', '')} {last.get('detail', '')}".rstrip())
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    from vigilcam.platform.cli_kit import EXIT_OK, CliError
    from vigilcam.update.errors import UpdateError

    device, service = _service(args)
    try:
        release = service.check()
    except UpdateError as exc:
        raise CliError(f"update check refused: {exc}") from None
    finally:
        device.close()
    print(f"update available: {release.version}" if release else
          f"up to date ({service.installed_version})")
    return EXIT_OK


def cmd_install(args: argparse.Namespace) -> int:
    from vigilcam.platform.cli_kit import EXIT_FAIL, EXIT_OK, CliError, confirm
    from vigilcam.update.errors import UpdateError

    confirm(args, "This installs the newest signed release into the inactive slot and switches "
                  "to it (rolled back automatically if it fails its health check).")
    device, service = _service(args)
    try:
        outcome = service.install()
    except UpdateError as exc:
        raise CliError(f"update refused: {exc}") from None
    finally:
        device.close()
    if outcome is None:
        print(f"up to date ({service.installed_version})")
        return EXIT_OK
    print(f"{outcome.result}: {outcome.version} (slot {outcome.slot or '-'}): {outcome.detail}")
    if outcome.ok:
        # The packaged updater unit restarts the service when this marker exists.
        from vigilcam.platform.fsutil import atomic_write

        atomic_write(service.paths.restart_marker, outcome.version.encode(), mode=0o600)
        print("restart the service to run it: systemctl restart vigilcam")
        return EXIT_OK
    return EXIT_FAIL


def cmd_rollback(args: argparse.Namespace) -> int:
    from vigilcam.platform.cli_kit import EXIT_OK, CliError, confirm
    from vigilcam.update.errors import UpdateError

    confirm(args, "This switches back to the previously installed version.")
    device, service = _service(args)
    try:
        slot = service.slots.rollback(device.record, reason="by hand (cli)")
    except UpdateError as exc:
        raise CliError(str(exc)) from None
    finally:
        device.close()
    print(f"switched back to {slot}; restart the service: systemctl restart vigilcam")
    return EXIT_OK


def cmd_configure(args: argparse.Namespace) -> int:
    from vigilcam.platform.cli_kit import EXIT_OK, EXIT_USAGE, CliError, host_of
    from vigilcam.platform.fsutil import atomic_write, ensure_private_dir
    from vigilcam.update.config import (
        DISTRIBUTION_KEY_SECRET,
        UpdateConfig,
        UpdateConfigError,
        UpdatePaths,
    )
    from vigilcam.update.manifest import ManifestError, load_public_key, public_pem

    device = host_of(args).open_device(args)
    try:
        paths = UpdatePaths(device.paths.root)
        old = UpdateConfig.load(paths.config_file)
        try:
            config = UpdateConfig(
                repository_url=args.url or old.repository_url,
                install_root=args.install_root or old.install_root,
                interval_hours=args.interval_hours or old.interval_hours,
                jitter=old.jitter).validate()
        except UpdateConfigError as exc:
            raise CliError(str(exc), EXIT_USAGE) from None
        ensure_private_dir(paths.root)
        ensure_private_dir(paths.trust_dir)
        pinned = []
        if args.tuf_root:
            data = Path(args.tuf_root).read_bytes()
            try:
                json.loads(data)["signed"]["roles"]["root"]
            except (ValueError, KeyError, TypeError):
                raise CliError(f"{args.tuf_root} is not TUF root metadata", EXIT_USAGE) from None
            atomic_write(paths.trusted_root, data, mode=0o600)
            pinned.append("TUF root")
        if args.code_key:
            try:
                key = load_public_key(Path(args.code_key))
            except ManifestError as exc:
                raise CliError(str(exc), EXIT_USAGE) from None
            atomic_write(paths.code_key, public_pem(key), mode=0o600)
            pinned.append("code-signing key")
        if args.ca:
            atomic_write(paths.ca_file, Path(args.ca).read_bytes(), mode=0o600)
            pinned.append("update server CA")
        if args.distribution_key_file:
            raw = Path(args.distribution_key_file).read_bytes().strip()
            key_bytes = bytes.fromhex(raw.decode()) if len(raw) == 64 else raw
            if len(key_bytes) != 32:
                raise CliError("the distribution key must be 32 bytes (or 64 hex digits)",
                               EXIT_USAGE)
            device.vault.put(DISTRIBUTION_KEY_SECRET, key_bytes)
            pinned.append("distribution key (in the vault)")
        config.save(paths.config_file)
        device.record(Event.UPDATE_CONFIGURED, repository=config.repository_url,
                      install_root=config.install_root, pinned=pinned,
                      interval_hours=config.interval_hours)
    finally:
        device.close()
    print(f"update repository: {config.repository_url or 'not set'}; install root: "
          f"{config.install_root}; pinned: {', '.join(pinned) or 'nothing new'}")
    return EXIT_OK


def cmd_seed(args: argparse.Namespace) -> int:
    """Packaging: copy the release a system package ships into an A/B slot (postinst)."""
    from vigilcam.platform.cli_kit import EXIT_FAIL, EXIT_OK, CliError
    from vigilcam.platform.paths import default_data_dir
    from vigilcam.update.config import DEFAULT_INSTALL_ROOT, code_key_path
    from vigilcam.update.errors import UpdateError
    from vigilcam.update.manifest import ManifestError
    from vigilcam.update.seed import seed

    key = Path(args.key) if args.key else code_key_path(
        Path(args.data_dir) if args.data_dir else default_data_dir())
    try:
        outcome = seed(Path(args.release_dir), Path(args.install_root or DEFAULT_INSTALL_ROOT),
                       key)
    except (UpdateError, ManifestError, OSError) as exc:
        raise CliError(f"seed refused: {exc}", EXIT_FAIL) from None
    print(f"{outcome.result}: {outcome.detail}")
    return EXIT_OK


def _package_dir(args: argparse.Namespace) -> Path:
    if args.package_dir:
        return Path(args.package_dir).resolve()
    import vigilcam

    return Path(vigilcam.__file__).resolve().parent


def cmd_verify_code(args: argparse.Namespace) -> int:
    from vigilcam.platform.cli_kit import EXIT_FAIL, EXIT_OK
    from vigilcam.platform.paths import default_data_dir
    from vigilcam.update.config import code_key_path
    from vigilcam.update.manifest import verify_start

    package_dir = _package_dir(args)
    key = Path(args.key) if args.key else code_key_path(
        Path(args.data_dir) if args.data_dir else default_data_dir())
    verdict = verify_start(package_dir, key)
    if args.json:
        check = verdict.check
        print(json.dumps({"state": verdict.state, "detail": verdict.detail,
                          "mismatches": check.mismatches if check else []}, indent=1))
    else:
        print(f"{verdict.state}: {verdict.detail}")
    return EXIT_OK if verdict.state == "verified" else EXIT_FAIL


def cmd_sign_manifest(args: argparse.Namespace) -> int:
    import getpass

    from vigilcam.platform.cli_kit import EXIT_OK, EXIT_USAGE, CliError
    from vigilcam.update.manifest import (
        ManifestError,
        load_private_key,
        verify_installed,
        write_signed_manifest,
    )

    package_dir = _package_dir(args)
    if not (package_dir / "__init__.py").exists():
        raise CliError(f"{package_dir} is not a Python package", EXIT_USAGE)
    password = None
    if args.key_password_stdin:
        password = sys.stdin.readline().rstrip("\n").encode()
    elif args.ask_password:
        password = getpass.getpass("signing key password: ").encode()
    try:
        key = load_private_key(Path(args.key), password)
        version = args.version or _package_version(package_dir)
        path = write_signed_manifest(package_dir, version, key)
    except ManifestError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    check = verify_installed(path, key.public_key())
    print(f"signed {check.files} files of {package_dir.name} {version}: {path}")
    return EXIT_OK


def _package_version(package_dir: Path) -> str:
    import ast

    tree = ast.parse((package_dir / "__init__.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if (isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__version__"
                                                 for t in node.targets)
                and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)):
            return node.value.value
    from vigilcam.update.manifest import ManifestError

    raise ManifestError(f"no __version__ in {package_dir / '__init__.py'}; pass --version")


def _signers(key_dir: Path, *, create: bool = False) -> dict[str, Any]:
    """Release tooling: one PEM Ed25519 private key per TUF role in ``key_dir`` (offline)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from vigilcam.platform.fsutil import atomic_write, ensure_private_dir
    from vigilcam.update.manifest import load_private_key
    from vigilcam.update.repository import ROLES, signer_from_key

    signers = {}
    for role in ROLES:
        path = key_dir / f"{role}.pem"
        if not create and role == "root" and not path.exists():
            continue  # the root key stays offline: publishing does not need it
        if create and not path.exists():
            ensure_private_dir(key_dir)
            key = Ed25519PrivateKey.generate()
            atomic_write(path, key.private_bytes(serialization.Encoding.PEM,
                                                 serialization.PrivateFormat.PKCS8,
                                                 serialization.NoEncryption()), mode=0o600)
        signers[role] = signer_from_key(load_private_key(path))
    return signers


def cmd_release(args: argparse.Namespace) -> int:
    """Release tooling: init-repo, publish (scan + manifest check + encrypt + sign), timestamp."""
    from vigilcam.platform.cli_kit import EXIT_FAIL, EXIT_OK, EXIT_USAGE, CliError
    from vigilcam.update.manifest import MANIFEST_NAME, ManifestError, load_manifest
    from vigilcam.update.package import build_tar
    from vigilcam.update.pkgscan import scan
    from vigilcam.update.repository import ReleaseRepository

    repo_dir, key_dir = Path(args.repo), Path(args.keys)
    try:
        if args.update_cmd == "init-repo":
            if (repo_dir / "metadata" / "1.root.json").exists():
                raise CliError(f"{repo_dir} already holds a repository", EXIT_USAGE)
            repo = ReleaseRepository(repo_dir, _signers(key_dir, create=True))
            repo.initialise()
            print(f"repository initialised; pin {repo_dir / 'metadata' / '1.root.json'} on "
                  "devices (vigilcam update configure --tuf-root)")
            return EXIT_OK
        repo = ReleaseRepository.load(repo_dir, _signers(key_dir))
        if args.update_cmd == "refresh-timestamp":
            repo.refresh_timestamp()
            print(f"timestamp v{repo.timestamp.signed.version} written")
            return EXIT_OK
        source = Path(args.source)
        pkg = source / "vigilcam"
        report = scan(pkg)
        if not report.clean:  # IoT-1005-1 5.4.1.1: the CI gate on the built package
            for line in [*report.secrets, *report.endpoints]:
                print(f"  {line}", file=sys.stderr)
            raise CliError(f"package scan found {len(report.secrets)} secret(s) and "
                           f"{len(report.endpoints)} undeclared endpoint(s); not published",
                           EXIT_FAIL)
        if not (pkg / MANIFEST_NAME).exists():
            raise CliError(f"{pkg} has no signed {MANIFEST_NAME}: run `vigilcam update "
                           "sign-manifest` first", EXIT_USAGE)
        if args.code_key:
            from vigilcam.update.manifest import load_public_key

            signed = load_manifest(pkg / MANIFEST_NAME, load_public_key(Path(args.code_key)))
            if signed["version"] != args.version:
                raise CliError(f"the manifest says {signed['version']}, not {args.version}",
                               EXIT_USAGE)
        dist = None
        if args.distribution_key_file:
            raw = Path(args.distribution_key_file).read_bytes().strip()
            dist = bytes.fromhex(raw.decode()) if len(raw) == 64 else raw
        blob = repo.publish(args.version, build_tar(source), distribution_key=dist)
    except (ManifestError, ValueError, KeyError) as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    print(f"published {args.version}: {blob} ({report.files} files scanned clean; "
          f"targets v{repo.targets.signed.version}, snapshot v{repo.snapshot.signed.version}, "
          f"timestamp v{repo.timestamp.signed.version})")
    return EXIT_OK


def add_commands(subparsers: Any) -> None:
    from vigilcam.platform.cli_kit import add_data_dir

    p = subparsers.add_parser("update", help="software updates and code verification")
    sub = p.add_subparsers(dest="update_cmd", required=True)

    s = add_data_dir(sub.add_parser("status", help="installed version, last check, last install"))
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_status)

    s = add_data_dir(sub.add_parser("check", help="ask the repository for a newer release"))
    s.set_defaults(func=cmd_check)

    s = add_data_dir(sub.add_parser("install", help="install the newest release (A/B, rollback)"))
    s.add_argument("--yes", action="store_true", help="do not ask")
    s.set_defaults(func=cmd_install)

    s = add_data_dir(sub.add_parser("rollback", help="switch back to the previous slot"))
    s.add_argument("--yes", action="store_true", help="do not ask")
    s.set_defaults(func=cmd_rollback)

    s = add_data_dir(sub.add_parser("configure", help="repository URL and trust anchors"))
    s.add_argument("--url", help="https:// base URL of the TUF repository")
    s.add_argument("--tuf-root", help="trusted root.json to pin (from the vendor)")
    s.add_argument("--code-key", help="PEM Ed25519 public key the code manifest is signed with")
    s.add_argument("--ca", help="PEM CA bundle for the update server (default: system CAs)")
    s.add_argument("--install-root", help="folder holding slot_a, slot_b and current")
    s.add_argument("--interval-hours", type=float, help="how often to check (default 24)")
    s.add_argument("--distribution-key-file",
                   help="32-byte package distribution key (stored in the vault)")
    s.set_defaults(func=cmd_configure)

    s = add_data_dir(sub.add_parser("verify-code",
                                    help="check the installed code against its signed manifest"))
    s.add_argument("--package-dir", help="package folder (default: the running vigilcam)")
    s.add_argument("--key", help="PEM public key (default: the one pinned in the data dir)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_verify_code)

    s = add_data_dir(sub.add_parser(
        "seed", help="packaging: install the release a system package ships into a slot"))
    s.add_argument("--release-dir", required=True, help="folder holding the signed vigilcam/")
    s.add_argument("--install-root", help="folder holding slot_a, slot_b and current")
    s.add_argument("--key", help="PEM public key (default: the pinned code-signing key)")
    s.set_defaults(func=cmd_seed)

    s = sub.add_parser("sign-manifest", help="release tooling: sign the package's code manifest")
    s.add_argument("--key", required=True, help="PEM Ed25519 private key file (never in the repo)")
    s.add_argument("--package-dir", help="package folder (default: the running vigilcam)")
    s.add_argument("--version", help="release version (default: the package's __version__)")
    s.add_argument("--key-password-stdin", action="store_true")
    s.add_argument("--ask-password", action="store_true")
    s.set_defaults(func=cmd_sign_manifest)

    for name, text in (("init-repo", "release tooling: create a TUF repository (and role keys)"),
                       ("publish", "release tooling: scan, encrypt and sign a release"),
                       ("refresh-timestamp", "release tooling: re-sign the timestamp (daily)")):
        s = sub.add_parser(name, help=text)
        s.add_argument("--repo", required=True, help="repository folder (served over HTTPS)")
        s.add_argument("--keys", required=True,
                       help="folder with root/targets/snapshot/timestamp .pem (offline)")
        if name == "publish":
            s.add_argument("--version", required=True)
            s.add_argument("--source", required=True,
                           help="build folder holding the signed vigilcam/ package")
            s.add_argument("--code-key", help="check the manifest with this public key first")
            s.add_argument("--distribution-key-file",
                           help="wrap the package key under this 32-byte key")
        s.set_defaults(func=cmd_release)
