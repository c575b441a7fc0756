"""``vigilcam alerts add|list|test|remove``: alert channels from the command line.

Owns the alerts CLI. Serves IoT-1005-1 5.8.1.1 (the owner sets where alerts go and tests it),
5.4.1.2 (passwords read from stdin with --password-stdin, never from the command line; stored
only in the vault; a webhook's HMAC key printed once) and TAICS 5.2.8.1 (changes are logged).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from vigilcam.alerts.channels import KINDS
from vigilcam.alerts.rules import OPTIONAL_CATEGORIES


def add_commands(subparsers: Any) -> None:
    from vigilcam.platform.cli_kit import add_data_dir

    p = subparsers.add_parser("alerts",
                              help="alert channels (email, webhook, MQTT, ntfy, apprise)")
    sub = p.add_subparsers(dest="alerts_cmd", required=True)
    a = add_data_dir(sub.add_parser(
        "add", help="add a channel",
        description="Examples: webhook https://host/path | email "
        "smtps://user@host:465?to=owner@example.org | email smtp+starttls://user@host:587?to=.. "
        "| mqtt mqtts://user@host:8883/topic | ntfy https://ntfy.sh/topic | apprise "
        "tgram://bottoken/chatid (any apprise URL with TLS; stored only in the vault)"))
    a.add_argument("kind", choices=list(KINDS))
    a.add_argument("url")
    a.add_argument("--password-stdin", action="store_true",
                   help="read the SMTP/MQTT password or ntfy token from standard input")
    a.add_argument("--cafile", help="PEM file of a private CA that signed the peer certificate")
    a.add_argument("--category", action="append", default=[],
                   choices=sorted(OPTIONAL_CATEGORIES),
                   help="also send these optional alerts (repeatable)")
    a.add_argument("--allow-local-target", action="store_true",
                   help="allow a destination on this device itself or link-local (refused "
                   "by default: see docs/alerts.md)")
    lst = add_data_dir(sub.add_parser("list", help="channels with delivery status"))
    lst.add_argument("--json", action="store_true")
    t = add_data_dir(sub.add_parser("test", help="send a test alert now"))
    t.add_argument("channel_id", nargs="?")
    r = add_data_dir(sub.add_parser("remove", help="remove a channel (drops its queue)"))
    r.add_argument("channel_id")
    p.set_defaults(func=cmd_alerts)


def cmd_alerts(args: argparse.Namespace) -> int:
    from vigilcam.alerts.manager import ChannelManager
    from vigilcam.alerts.outbox import Outbox
    from vigilcam.platform.cli_kit import EXIT_FAIL, EXIT_OK, EXIT_USAGE, CliError, host_of

    device = host_of(args).open_device(args)
    outbox = Outbox(device.paths.alerts_db)
    manager = ChannelManager(device, outbox)
    try:
        if args.alerts_cmd == "add":
            password = None
            if args.password_stdin:
                password = sys.stdin.readline().rstrip("\n") or None
            ca_pem = None
            if args.cafile:
                try:
                    ca_pem = Path(args.cafile).read_text()
                except (OSError, UnicodeDecodeError) as exc:
                    raise CliError(f"cannot read {args.cafile}: {exc}", EXIT_USAGE) from None
            try:
                channel_id, shown = manager.add_channel(
                    args.kind, args.url, password=password, ca_pem=ca_pem,
                    categories=args.category, allow_local=args.allow_local_target)
            except ValueError as exc:
                raise CliError(str(exc), EXIT_USAGE) from None
            print(f"added {args.kind} channel {channel_id}")
            if shown:
                print(f"HMAC key (shown once; configure it in the receiver): {shown}")
                print("requests carry X-Vigilcam-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "
                      "'<t>.<body>'>; see docs/alerts.md")
            return EXIT_OK
        if args.alerts_cmd == "list":
            channels = manager.list_channels()
            if args.json:
                print(json.dumps(channels, indent=1))
                return EXIT_OK
            if not channels:
                print("no alert channels; add one with: vigilcam alerts add webhook URL")
            for c in channels:
                state = "FAILING" if c["failing"] else ("error" if c["last_error"] and (
                    not c["last_success"] or c["last_error_at"] > c["last_success"]) else "ok")
                print(f"{c['id']}  {c['kind']:<7} {state:<7} pending={c['pending']:<4} "
                      f"last_success={c['last_success'] or '-'}  {c['target']}")
                if c["last_error"]:
                    print(f"    last error: {c['last_error']}")
            return EXIT_OK
        if args.alerts_cmd == "test":
            try:
                results = asyncio.run(manager.send_test(args.channel_id))
            except KeyError as exc:
                raise CliError(str(exc.args[0])) from None
            if not results:
                raise CliError("no alert channels to test")
            for res in results:
                verdict = "delivered" if res["ok"] else f"FAILED: {res['error']}"
                print(f"{res['channel_id']} ({res['kind']}): {verdict} in {res['ms']} ms")
            return EXIT_OK if all(r["ok"] for r in results) else EXIT_FAIL
        if args.alerts_cmd == "remove":
            if not manager.remove_channel(args.channel_id):
                raise CliError(f"no alert channel {args.channel_id!r}")
            print(f"removed {args.channel_id}")
            return EXIT_OK
        raise CliError(f"unknown alerts command {args.alerts_cmd}", EXIT_USAGE)
    finally:
        outbox.close()
        device.close()
