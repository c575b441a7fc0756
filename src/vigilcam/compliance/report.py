"""Audit report writers: JSON (stable, versioned schema), plain text and Markdown.

Owns the report formats of ``vigilcam audit`` (TAICS TS 5101-2-1 / IoT-1005 test method: each
clause with PASS / FAIL / NOT APPLICABLE, the evidence and, for a FAIL, what to do). The JSON
schema is documented in docs/audit-report.md; ``SCHEMA_VERSION`` changes when a field changes
meaning or disappears (adding a field does not change it). HTML is in ``report_html``.
"""

from __future__ import annotations

import json
from typing import Any

from vigilcam import product
from vigilcam.compliance.audit import SCHEMA_VERSION, AuditReport, Outcome
from vigilcam.compliance.model import IOT, TAICS, Verdict

DOC_BASE = "https://github.com/vigilcam/vigilcam/blob/main/"
DOC_LINKS = {
    "Vulnerability disclosure policy (SECURITY.md)": DOC_BASE + "SECURITY.md",
    "Secure development (docs/secure-development.md)": DOC_BASE + "docs/secure-development.md",
    "Secure setup guide (docs/setup-guide.md)": DOC_BASE + "docs/setup-guide.md",
    "This report's format (docs/audit-report.md)": DOC_BASE + "docs/audit-report.md",
}


def outcome_dict(o: Outcome, mode: str = "local") -> dict[str, Any]:
    c, r = o.clause, o.result
    return {
        "key": c.key, "standard": c.standard, "id": c.id, "level": c.level, "title": c.title,
        "group": c.group, "en303645": list(c.en303645), "status": c.status.value,
        "status_note": c.note, "modules": [f"src/vigilcam/{m}" for m in c.modules],
        "tests": list(c.tests),
        "check": c.remote_check if mode == "remote" else c.local_check,
        "kind": r.kind.value, "verdict": r.verdict.value,
        "evidence": list(r.evidence), "todo": r.todo if r.verdict == Verdict.FAIL else "",
        "seconds": round(o.seconds, 3),
    }


def to_dict(report: AuditReport) -> dict[str, Any]:
    clauses = [outcome_dict(o, report.mode) for o in report.outcomes]
    return {
        "schema": "vigilcam-audit",
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "vigilcam", "model": product.MODEL, "version": product.VERSION},
        "mode": report.mode,
        "started": report.started,
        "duration_s": round(report.seconds, 3),
        "subject": report.subject,
        "summary": {**report.counts(), "exit_code": report.exit_code,
                    "taics_level_reached": report.taics_level()},
        "notes": list(report.notes),
        "clauses": clauses,
    }


def to_json(report: AuditReport) -> str:
    return json.dumps(to_dict(report), indent=2, ensure_ascii=False) + "\n"


def _headline(report: AuditReport) -> list[str]:
    counts = report.counts()
    level = report.taics_level()
    subject = report.subject.get("target") or report.subject.get("data_dir")
    lines = [f"vigilcam audit ({report.mode}) of {subject}",
             f"{counts['PASS']} pass, {counts['FAIL']} fail, {counts['NOT APPLICABLE']} not "
             f"applicable, {counts['NOT TESTED']} not tested, in {report.seconds:.1f} s"]
    if report.mode == "local":
        lines.append(f"TAICS TS 5100-2-1 level reached: {level if level else 'none'}")
    return lines + report.notes


def to_text(report: AuditReport) -> str:
    out = _headline(report) + [""]
    for o in report.outcomes:
        c, r = o.clause, o.result
        level = f" [L{c.level}]" if c.level else ""
        out.append(f"{r.verdict.value:<14} {c.key}{level}  {c.title}")
        for line in r.evidence:
            out.append(f"{'':15}- {line}")
        if r.verdict == Verdict.FAIL and r.todo:
            out.append(f"{'':15}what to do: {r.todo}")
    return "\n".join(out) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_table(outcomes: list[Outcome]) -> list[str]:
    rows = ["| Clause | EN 303 645 | Title | Verdict | Evidence / what to do |",
            "|---|---|---|---|---|"]
    for o in outcomes:
        c, r = o.clause, o.result
        cell = "<br>".join(_md(e) for e in r.evidence)
        if r.verdict == Verdict.FAIL and r.todo:
            cell += f"<br>**What to do:** {_md(r.todo)}"
        rows.append(f"| {c.id} | {', '.join(c.en303645) or '-'} | {_md(c.title)} | "
                    f"**{r.verdict.value}** | {cell} |")
    return rows


def to_markdown(report: AuditReport) -> str:
    out = ["# vigilcam conformance audit", ""] + [f"- {line}" for line in _headline(report)]
    iot = [o for o in report.outcomes if o.clause.standard == IOT]
    if iot:
        out += ["", "## IoT-1005-1 (ETSI EN 303 645 provisions beside)", ""] + _md_table(iot)
    for level in (1, 2, 3):
        rows = [o for o in report.outcomes if o.clause.standard == TAICS
                and o.clause.level == level]
        if rows:
            out += ["", f"## TAICS TS 5100-2-1 level {level}", ""] + _md_table(rows)
    out += ["", "## Documents", ""] + [f"- [{k}]({v})" for k, v in DOC_LINKS.items()]
    return "\n".join(out) + "\n"
