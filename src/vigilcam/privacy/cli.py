"""``vigilcam erase --all`` and ``vigilcam factory-reset``.

Owns the command-line side of the owner's control over their data (IoT-1005-1 5.7.1.1; TAICS
5.1.3.2: a reset prints a NEW unique setup secret, never a default). Both ask for confirmation
unless ``--yes``.
"""

from __future__ import annotations

import argparse
import asyncio
import json


def cmd_erase(args: argparse.Namespace) -> int:
    from vigilcam.platform.cli_kit import EXIT_OK, EXIT_USAGE, CliError, confirm, host_of
    from vigilcam.privacy.erase import erase_all_personal_data

    if not args.all:
        raise CliError("say what to erase: vigilcam erase --all", EXIT_USAGE)
    from pathlib import Path

    from vigilcam.platform.paths import DataPaths, default_data_dir

    paths = DataPaths(Path(args.data_dir) if args.data_dir else default_data_dir())
    if paths.run_marker.exists() and not args.force:
        raise CliError("the service seems to be running: erase from the web UI (Your data) or "
                       "stop the service first; if it crashed, add --force")
    confirm(args, "This deletes every recording, every account (a fresh admin with a new "
                  "setup secret remains), sessions, tokens and pending alerts.")
    device = host_of(args).open_device(args)
    try:
        report = asyncio.run(erase_all_personal_data(device, by="cli", source="cli"))
    finally:
        device.close()
    if args.json:
        print(json.dumps(report.to_json(with_secret=True), indent=1))
        return EXIT_OK
    print("Erased:")
    for kind, count in report.deleted.items():
        print(f"  {kind:<20} {count}")
    print("Kept:")
    for kind, why in report.kept.items():
        print(f"  {kind:<20} {why}")
    print(f"New setup secret for '{report.admin}' (must be changed at first login): "
          f"{report.setup_secret}")
    return EXIT_OK


def cmd_factory_reset(args: argparse.Namespace) -> int:
    from pathlib import Path

    from vigilcam.platform.cli_kit import EXIT_OK, CliError, confirm, host_of
    from vigilcam.platform.paths import default_data_dir
    from vigilcam.privacy.factory_reset import FactoryResetError, factory_reset

    data_dir = Path(args.data_dir) if args.data_dir else default_data_dir()
    confirm(args, f"Factory reset destroys the keys and ALL data in {data_dir} (recordings, "
                  "accounts, logs, alert settings); only the device ID is kept.")
    try:
        report = factory_reset(data_dir, host_of(args).provision_state, force=args.force)
    except FactoryResetError as exc:
        raise CliError(str(exc)) from None
    if args.json:
        print(json.dumps({**report.to_json(), "setup_secret": report.setup_secret}, indent=1))
        return EXIT_OK
    print(f"Factory reset done. Keys destroyed first: {', '.join(report.destroyed_keys)}")
    print(f"device ID (kept): {report.device_id}")
    print(f"new setup secret for 'admin' (must be changed at first login): "
          f"{report.setup_secret}")
    return EXIT_OK


def add_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from vigilcam.platform.cli_kit import add_data_dir

    p = add_data_dir(sub.add_parser("erase", help="erase all personal data (keeps the device)"))
    p.add_argument("--all", action="store_true", help="recordings, accounts, sessions, ...")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument("--force", action="store_true",
                   help="run although the service's running marker exists (after a crash)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_erase)

    p = add_data_dir(sub.add_parser(
        "factory-reset", help="crypto-erase keys and data; keep the device ID; new setup secret"))
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument("--force", action="store_true",
                   help="run although the service's running marker exists (after a crash)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_factory_reset)
