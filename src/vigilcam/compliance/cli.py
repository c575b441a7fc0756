"""``vigilcam audit``: the conformance audit on the command line.

Owns the audit command: local audit of a data dir (and its running service and host), or a
remote audit of a target the user typed; text, JSON, Markdown or HTML output; progress lines on
stderr; exit code 1 when any applicable clause fails (so it can gate CI or a purchase), 2 on a
usage error. Serves every clause of the registry (IoT-1005-1, TAICS TS 5100-2-1) through the
TAICS TS 5101-2-1 style test report.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

FORMATS = ("text", "json", "markdown", "html")


def add_commands(subparsers: Any) -> None:
    from vigilcam.platform.cli_kit import add_data_dir

    p = add_data_dir(subparsers.add_parser(
        "audit", help="check this device (or --target another camera) clause by clause"))
    p.add_argument("--format", choices=FORMATS, default="text")
    p.add_argument("--output", "-o", help="write the report to this file (default stdout)")
    p.add_argument("--target", help="audit another camera over the network: https://HOST[:PORT]")
    p.add_argument("--i-own-this-device", dest="owner", action="store_true",
                   help="with --target: also try at most 5 well-known default passwords and "
                        "15 wrong ones (throttling probe) plus a burst of 30 at once on the "
                        "login, and hold at most 64 partial request heads (slow-client probe)")
    p.add_argument("--onvif-user", help="with --target and --i-own-this-device: an ONVIF "
                   "account of the target (password in VIGILCAM_AUDIT_ONVIF_PASSWORD) to check "
                   "that a replayed or stale ONVIF request is refused")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress lines on stderr")
    p.set_defaults(func=cmd_audit)


def render(report: Any, fmt: str) -> str:
    from vigilcam.compliance import report as writers
    from vigilcam.compliance.report_html import to_html

    if fmt == "json":
        return writers.to_json(report)
    if fmt == "markdown":
        return writers.to_markdown(report)
    if fmt == "html":
        return to_html(report)
    return writers.to_text(report)


EXIT_USAGE = 2


class _Usage(Exception):
    pass


def cmd_audit(args: argparse.Namespace) -> int:
    # Usage errors are reported here: under ``python -m vigilcam.cli`` the CLI module exists
    # twice, so an exception class imported from it would not be caught by its main().
    try:
        return _audit(args)
    except _Usage as exc:
        print(f"vigilcam: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _audit(args: argparse.Namespace) -> int:
    import warnings

    from vigilcam.compliance.audit import run_local, run_remote

    # sslyze loads its CA bundle with a certificate cryptography warns about; not ours to fix.
    warnings.filterwarnings("ignore", message="Parsed a serial number")

    def progress(line: str) -> None:
        if not args.quiet:
            print(f"audit: {line}", file=sys.stderr, flush=True)

    if args.owner and not args.target:
        raise _Usage("--i-own-this-device only applies with --target")
    if args.target:
        from vigilcam.compliance.remote import collect
        from vigilcam.compliance.remote_wire import TargetError, parse_target

        try:
            target = parse_target(args.target)
            onvif_credential = None
            if args.onvif_user:
                password = os.environ.get("VIGILCAM_AUDIT_ONVIF_PASSWORD")
                if not args.owner or password is None:
                    raise _Usage("--onvif-user needs --i-own-this-device and the password in "
                                 "VIGILCAM_AUDIT_ONVIF_PASSWORD")
                onvif_credential = (args.onvif_user, password)
            facts = collect(target, owner=args.owner, progress=progress,
                            onvif_credential=onvif_credential)
        except TargetError as exc:
            raise _Usage(str(exc)) from None
        report = run_remote(facts, progress)
    else:
        from vigilcam.compliance.state import LocalContext
        from vigilcam.platform.cli_kit import data_paths

        paths = data_paths(args)
        if not paths.identity_file.exists():
            raise _Usage(f"{paths.root} is not a provisioned vigilcam data dir "
                         "(use --data-dir, or --target for another camera)")
        report = run_local(LocalContext(paths), progress=progress)
    text = render(report, args.format)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        progress(f"report written to {args.output}")
    else:
        sys.stdout.write(text)
    counts = report.counts()
    progress(f"done in {report.seconds:.1f} s: {counts['PASS']} pass, {counts['FAIL']} fail, "
             f"{counts['NOT APPLICABLE']} not applicable, {counts['NOT TESTED']} not tested")
    return int(report.exit_code)
