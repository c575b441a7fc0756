"""The ``vigilcam`` command line.

Owns the CLI contract other work and outside checks rely on: ``init``, ``run``, ``user ...``,
``log verify|export``. Exit codes: 0 done, 1 refused or failed check, 2 usage error, 3 the
device cannot start (vault, keys, config). Errors are one clear line on stderr, never a trace.
Every change made here is a security event like its web counterpart (TAICS 5.2.8.1).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import importlib
import importlib.util
import json
import sys
from pathlib import Path

from vigilcam import product
from vigilcam.app import Device, StartupError, create_device_state, open_device, provision
from vigilcam.auth import one_time
from vigilcam.auth.accounts import AccountError
from vigilcam.auth.permissions import Role
from vigilcam.platform.cli_kit import (
    CLI_SOURCE,
    EXIT_FAIL,
    EXIT_OK,
    EXIT_START,
    EXIT_USAGE,
    CliError,
    CliHost,
    add_data_dir,
    data_paths,
    settings_for,
)
from vigilcam.platform.config import ConfigError
from vigilcam.platform.events import Event

_paths = data_paths
_settings = settings_for


def device_from_args(args: argparse.Namespace) -> Device:
    """Open the device named by ``--data-dir`` (for feature commands)."""
    paths = _paths(args)
    return open_device(paths, _settings(args, paths))


_device = device_from_args
HOST = CliHost(open_device=device_from_args, provision_state=create_device_state)


# Feature packages add their commands here: each module has add_commands(subparsers).
FEATURE_CLI = [
    "vigilcam.rtsp.cli",
    "vigilcam.recording.cli",
    "vigilcam.alerts.cli",
    "vigilcam.compliance.cli",
    "vigilcam.privacy.cli",
    "vigilcam.sbom.cli",
    "vigilcam.update.cli",
    "vigilcam.onvif.cli",
]


def cmd_init(args: argparse.Namespace) -> int:
    paths = _paths(args)
    result = provision(paths, _settings(args, paths))
    print(f"device ID: {result.identity.device_id}")
    print(f"serial:    {result.identity.serial}")
    if result.created:
        print(f"setup secret (shown once, also in {paths.setup_secret_file}): "
              f"{result.setup_secret}")
    else:
        print("already provisioned")
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    import logging

    import vigilcam
    from vigilcam.runtime import Runtime
    from vigilcam.update.config import code_key_path
    from vigilcam.update.manifest import verify_start

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )

    paths = _paths(args)
    # TAICS 5.1.4.1: verified start; the installed code must match its signed manifest.
    verdict = verify_start(Path(vigilcam.__file__).resolve().parent, code_key_path(paths.root))
    settings = _settings(args, paths)
    if not verdict.may_run:
        from vigilcam.start_gate import report_refused_start

        report_refused_start(paths, settings, verdict)
        raise CliError(f"verified start refused: {verdict.detail}", EXIT_START)
    result = provision(paths, settings)
    device = open_device(paths, settings)
    host = settings.bind if settings.bind not in ("0.0.0.0", "::") else "localhost"
    host = f"[{host}]" if ":" in host else host

    def ready() -> None:
        print(f"{product.MODEL} {product.VERSION} is running", flush=True)
        print(f"  URL:          https://{host}:{settings.https_port}/", flush=True)
        if settings.rtsps_port:
            print(f"  RTSPS:        rtsps://{host}:{settings.rtsps_port}/main (and /sub); "
                  "credential: vigilcam user stream-credential NAME", flush=True)
        if device.services.onvif_switch.current().enabled:
            print(f"  ONVIF:        https://{host}:{settings.https_port}/onvif/device_service; "
                  "credential: vigilcam user onvif-credential NAME", flush=True)
        print(f"  device ID:    {device.identity.device_id}", flush=True)
        print(f"  certificate:  SHA-256 {device.tls.fingerprint()}", flush=True)
        if result.setup_secret:
            print(f"  setup secret: {result.setup_secret}  (log in as 'admin'; "
                  "you will choose a new password)", flush=True)
        elif paths.setup_secret_file.exists():
            print(f"  setup secret: in {paths.setup_secret_file} (not yet replaced)", flush=True)

    asyncio.run(Runtime(device).run(on_ready=ready))
    return EXIT_OK


def _read_password(args: argparse.Namespace) -> str:
    if getattr(args, "password_stdin", False):
        return sys.stdin.readline().rstrip("\n")
    if not sys.stdin.isatty():
        raise CliError("no terminal to ask for a password; use --password-stdin", EXIT_USAGE)
    first = getpass.getpass("new password: ")
    if getpass.getpass("again: ") != first:
        raise CliError("the passwords differ")
    return first


def cmd_user(args: argparse.Namespace) -> int:
    device = _device(args)
    try:
        accounts = device.accounts
        if args.user_cmd == "list":
            users = [u.public() for u in accounts.list()]
            if args.json:
                print(json.dumps(users, indent=1))
            else:
                for u in users:
                    state = "disabled" if u["disabled"] else (
                        "must change password" if u["must_change_password"] else "active")
                    print(f"{u['username']:<24} {u['role']:<9} {state}")
            return EXIT_OK
        if args.user_cmd == "add":
            role = Role(args.role)
            if args.password_stdin:
                password = _read_password(args)
                user = accounts.add(args.name, role, password, must_change=False)
                device.record(Event.USER_ADDED, user="cli", source=CLI_SOURCE, target=user.username,
                              role=role.value)
                print(f"added {user.username} ({role.value})")
            else:
                user, secret = one_time.add_user(accounts, device.record, args.name, role,
                                                 by="cli", source=CLI_SOURCE)
                print(f"added {user.username} ({role.value}); one-time password: {secret}")
            return EXIT_OK
        if args.user_cmd == "set-role":
            accounts.set_role(args.name, Role(args.role))
            device.sessions.end_all(args.name)
            device.record(Event.USER_ROLE_CHANGED, user="cli", source=CLI_SOURCE, target=args.name,
                          new=args.role)
            print(f"{args.name} is now {args.role}")
            return EXIT_OK
        if args.user_cmd in ("disable", "enable"):
            accounts.set_disabled(args.name, args.user_cmd == "disable")
            device.sessions.end_all(args.name)
            device.record(Event.USER_DISABLED if args.user_cmd == "disable"
                          else Event.USER_ENABLED, user="cli", source=CLI_SOURCE,
                          target=args.name)
            print(f"{args.name} {args.user_cmd}d")
            return EXIT_OK
        if args.user_cmd == "stream-credential":
            from vigilcam.auth.stream_credentials import (
                StreamCredentialError,
                stream_credential_command,
            )

            try:
                print(stream_credential_command(device.services.stream_credentials, args.name,
                                                args.rotate))
            except StreamCredentialError as exc:
                raise CliError(str(exc)) from None
            return EXIT_OK
        if args.user_cmd == "onvif-credential":
            from vigilcam.auth.onvif_credentials import onvif_credential_command
            from vigilcam.auth.stream_credentials import StreamCredentialError

            try:
                print(onvif_credential_command(device.services.onvif_credentials, args.name,
                                               args.rotate, args.revoke))
            except StreamCredentialError as exc:
                raise CliError(str(exc)) from None
            return EXIT_OK
        if args.user_cmd == "reset-password":
            if accounts.get(args.name) is None:
                raise CliError(f"no user named {args.name!r}")
            secret = one_time.reset_password(accounts, device.sessions, device.throttle,
                                             device.record, args.name, by="cli",
                                             source=CLI_SOURCE)
            print(f"one-time password for {args.name}: {secret}")
            return EXIT_OK
        raise CliError(f"unknown user command {args.user_cmd}", EXIT_USAGE)
    finally:
        device.close()


def cmd_log(args: argparse.Namespace) -> int:
    device = _device(args)
    try:
        if args.log_cmd == "verify":
            report = device.seclog.verify()
            if report.ok:
                print(f"security log OK: {report.records} records, chain intact")
                return EXIT_OK
            for problem in report.problems:
                print(f"TAMPERED: {problem}")
            return EXIT_FAIL
        if args.log_cmd == "export":
            events = device.seclog.query(limit=10**9)
            events.reverse()
            text = device.seclog.export(args.format, events)
            device.record(Event.SECLOG_EXPORTED, user="cli", source=CLI_SOURCE, format=args.format,
                          records=len(events))
            if args.output:
                Path(args.output).write_text(text, encoding="utf-8")
            else:
                sys.stdout.write(text)
            return EXIT_OK
        raise CliError(f"unknown log command {args.log_cmd}", EXIT_USAGE)
    finally:
        device.close()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vigilcam", description=f"{product.MODEL} "
                                     f"{product.VERSION}: a secure-by-default network camera")
    parser.add_argument("--version", action="version", version=f"vigilcam {product.VERSION}")
    sub = parser.add_subparsers(dest="command", required=True)

    with_data_dir = add_data_dir

    p_init = with_data_dir(sub.add_parser("init", help="provision identity, keys, setup secret"))
    p_init.set_defaults(func=cmd_init)

    p_run = with_data_dir(sub.add_parser("run", help="initialise if needed, then serve"))
    p_run.add_argument("--bind", help="address to listen on (default 127.0.0.1)")
    p_run.add_argument("--https-port", type=int, help="HTTPS port (default 8443)")
    p_run.add_argument("--http-redirect-port", type=int,
                       help="enable a plain-HTTP listener that only redirects to HTTPS")
    p_run.add_argument("--source", help="testsrc | file:PATH | v4l2:/dev/videoN | rtsp(s)://...")
    p_run.add_argument("--rtsps-port", type=int, help="enable the RTSPS server on this port")
    p_run.add_argument("--record", choices=["continuous", "events", "off"])
    p_run.set_defaults(func=cmd_run)

    p_user = sub.add_parser("user", help="manage users")
    usub = p_user.add_subparsers(dest="user_cmd", required=True)
    u = with_data_dir(usub.add_parser("list"))
    u.add_argument("--json", action="store_true")
    u = with_data_dir(usub.add_parser("add"))
    u.add_argument("name")
    u.add_argument("--role", choices=[r.value for r in Role], default="viewer")
    u.add_argument("--password-stdin", action="store_true",
                   help="read the password from standard input instead of generating one")
    u = with_data_dir(usub.add_parser("set-role"))
    u.add_argument("name")
    u.add_argument("role", choices=[r.value for r in Role])
    for name in ("disable", "enable", "reset-password"):
        u = with_data_dir(usub.add_parser(name))
        u.add_argument("name")
    u = with_data_dir(usub.add_parser(
        "stream-credential", help="print the user's RTSPS stream credential (made on first use)"))
    u.add_argument("name")
    u.add_argument("--rotate", action="store_true", help="replace it; the old one stops working")
    u = with_data_dir(usub.add_parser(
        "onvif-credential", help="print the user's ONVIF credential (made on first use); "
        "ONVIF clients use it for SOAP, the stream URI and the snapshot URI"))
    u.add_argument("name")
    once = u.add_mutually_exclusive_group()
    once.add_argument("--rotate", action="store_true", help="replace it; the old one stops working")
    once.add_argument("--revoke", action="store_true", help="delete it")
    p_user.set_defaults(func=cmd_user)

    p_log = sub.add_parser("log", help="the security log")
    lsub = p_log.add_subparsers(dest="log_cmd", required=True)
    with_data_dir(lsub.add_parser("verify", help="check the hash chain; exit 1 if tampered"))
    e = with_data_dir(lsub.add_parser("export", help="write the log as CSV or JSON"))
    e.add_argument("--format", choices=["csv", "json"], default="json")
    e.add_argument("--output", "-o")
    p_log.set_defaults(func=cmd_log)
    for module_name in FEATURE_CLI:
        if importlib.util.find_spec(module_name) is not None:
            importlib.import_module(module_name).add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = HOST.attach(parser.parse_args(argv))
    try:
        return int(args.func(args))
    except CliError as exc:
        print(f"vigilcam: {exc}", file=sys.stderr)
        return exc.code
    except (ConfigError, StartupError) as exc:
        print(f"vigilcam: {exc}", file=sys.stderr)
        return EXIT_START
    except AccountError as exc:
        print(f"vigilcam: {exc}", file=sys.stderr)
        return EXIT_FAIL
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - the CLI promises one line, never a trace
        print(f"vigilcam: unexpected error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAIL
    except OSError as exc:
        print(f"vigilcam: {exc.strerror or exc}: {getattr(exc, 'filename', '') or ''}",
              file=sys.stderr)
        return EXIT_FAIL


if __name__ == "__main__":
    # Run the imported module's main so feature commands and this module share one set of
    # exception classes (``python -m`` would otherwise load this file twice).
    from vigilcam.cli import main as _main

    raise SystemExit(_main())
