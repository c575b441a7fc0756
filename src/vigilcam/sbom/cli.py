"""``vigilcam sbom`` and ``vigilcam vuln-audit``: the SBOM and the dependency audit.

Owns the command-line side of IoT-1005-1 5.2.1.1: write the CycloneDX SBOM for a release, run
the vulnerability audit in CI. Exit codes: 0 pass, 1 known vulnerabilities found; "not tested"
(pip-audit missing or its service unreachable) exits 0 with a NOT TESTED line, or 3 with
``--strict``, so a network outage cannot turn CI red or, worse, green for the wrong reason.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

EXIT_NOT_TESTED_STRICT = 3


def add_commands(subparsers: Any) -> None:
    p = subparsers.add_parser("sbom", help="write a CycloneDX 1.5 SBOM of the installed software")
    p.add_argument("--output", "-o", help="file to write (default stdout)")
    p.add_argument("--all", action="store_true",
                   help="every installed package, not only what vigilcam needs at run time")
    p.set_defaults(func=cmd_sbom)
    v = subparsers.add_parser("vuln-audit",
                              help="check installed packages for known vulnerabilities (pip-audit)")
    v.add_argument("--timeout", type=float, default=120.0, help="seconds (default 120)")
    v.add_argument("--json", action="store_true", help="machine-readable result")
    v.add_argument("--strict", action="store_true",
                   help=f"exit {EXIT_NOT_TESTED_STRICT} when the audit could not be done")
    v.set_defaults(func=cmd_vuln_audit)


def cmd_sbom(args: argparse.Namespace) -> int:
    from vigilcam.platform.cli_kit import EXIT_OK
    from vigilcam.sbom.cyclonedx import sbom_json

    text = sbom_json(runtime_only=not args.all) + "\n"
    if args.output:
        Path(args.output).write_text(text)
        print(f"SBOM written to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return EXIT_OK


def cmd_vuln_audit(args: argparse.Namespace) -> int:
    from vigilcam.platform.cli_kit import EXIT_FAIL, EXIT_OK
    from vigilcam.sbom.vulns import FAIL, NOT_TESTED, run_vulnerability_audit

    report = run_vulnerability_audit(args.timeout)
    if args.json:
        print(json.dumps({"status": report.status, "detail": report.detail,
                          "audited": report.audited, "skipped": report.skipped,
                          "findings": [f.__dict__ for f in report.findings]}, indent=1))
    else:
        print(f"{report.status.upper()}: {report.detail}")
        for finding in report.findings:
            print(f"  {finding.describe()}")
    if report.status == FAIL:
        return EXIT_FAIL
    if report.status == NOT_TESTED and args.strict:
        return EXIT_NOT_TESTED_STRICT
    return EXIT_OK
