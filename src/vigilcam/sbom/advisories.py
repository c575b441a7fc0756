"""The signed vulnerability advisories of the update channel, and the verdict they give.

Owns the advisories document and judging an installed package set against it. Serves
IoT-1005-1 5.2.1.1 on a packaged device, which has no pip-audit and may have no route to a
public vulnerability service: the project audits each release's hash-pinned lock with pip-audit
when it publishes (``packaging/release.py``, docs/install.md section 6) and puts the report in
its TUF repository as the target ``advisories.json``, signed like the release itself. The
device fetches it with every update check (TUF: no rollback, no freeze, no mix-and-match) and
the audit judges the packages that are really installed against it.

The document (``FORMAT``)::

    {"format": "vigilcam-advisories/1", "generated": "2026-12-06T00:00:00Z",
     "source": "pip-audit 2.10.1, PyPI advisory database", "report": <pip-audit JSON>}

The verdict (``judge`` is pure):
- ``fail``: an installed package at its installed version has a finding in the report;
- ``pass``: every installed package at its installed version was audited, none has a finding,
  and the report is at most ``MAX_AGE`` old;
- ``not tested``: the document is missing, damaged, too old, or does not cover some installed
  package at its installed version (a package changed on the host after the release).
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata as md
import json
import re
from collections.abc import Mapping
from typing import Any

from vigilcam.sbom.vulns import NOT_TESTED, VulnReport, interpret

FORMAT = "vigilcam-advisories/1"
# The channel republishes the advisories with its timestamp; a week without news is stale.
MAX_AGE = dt.timedelta(days=8)
PROJECT = "vigilcam"


def normalise(name: str) -> str:
    """A distribution name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def document(report: Mapping[str, Any], *, generated: dt.datetime, source: str) -> bytes:
    """The advisories document for a pip-audit JSON report (for the release build)."""
    if not isinstance(report.get("dependencies"), list):
        raise ValueError("not a pip-audit JSON report (no 'dependencies' list)")
    body = {"format": FORMAT,
            "generated": generated.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "source": source, "report": dict(report)}
    return json.dumps(body, indent=1, sort_keys=True).encode() + b"\n"


def installed_packages() -> dict[str, str]:
    """The distributions of the running environment: normalised name -> version."""
    found: dict[str, str] = {}
    for dist in md.distributions():
        name = dist.metadata["Name"]
        if name and normalise(name) != PROJECT:
            found[normalise(name)] = dist.version
    return found


def judge(data: bytes | None, installed: Mapping[str, str], now: dt.datetime) -> VulnReport:
    """The advisories document and the installed packages -> a verdict (see the module doc)."""
    if data is None:
        return VulnReport(NOT_TESTED, detail="no signed advisories from the update channel yet "
                                             "(`vigilcam update check` fetches them)")
    try:
        doc = json.loads(data)
        if doc.get("format") != FORMAT:
            raise ValueError(f"unknown format {doc.get('format')!r}")
        generated = dt.datetime.strptime(doc["generated"], "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=dt.UTC)
        deps = doc["report"]["dependencies"]
        if not isinstance(deps, list):
            raise ValueError("the report has no dependency list")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        return VulnReport(NOT_TESTED, detail=f"the advisories document is damaged: {exc}")
    origin = f"signed advisories of {doc['generated']} ({doc.get('source', 'unnamed source')})"
    if now - generated > MAX_AGE:
        return VulnReport(NOT_TESTED, detail=f"{origin} are older than {MAX_AGE.days} days: "
                                             "the update channel has not been reached")
    audited = {(normalise(str(d.get("name", ""))), str(d.get("version", ""))): d
               for d in deps if isinstance(d, dict) and not d.get("skip_reason")}
    relevant = []
    uncovered = []
    for name, version in sorted(installed.items()):
        entry = audited.get((name, version))
        if entry is None:
            uncovered.append(f"{name} {version}")
        else:
            relevant.append(entry)
    report = interpret(json.dumps({"dependencies": relevant}), 0)
    report.detail = f"{origin}: {report.detail}"
    if report.findings:  # a known vulnerability fails, whatever else is uncovered
        if uncovered:
            report.detail += f"; {len(uncovered)} installed packages not covered"
        return report
    if uncovered:
        return VulnReport(NOT_TESTED, [], f"{origin} do not cover {len(uncovered)} of "
                          f"{len(installed)} installed packages (first: "
                          f"{', '.join(uncovered[:3])})", report.audited,
                          [f"{u}: not in the advisories" for u in uncovered])
    return report
