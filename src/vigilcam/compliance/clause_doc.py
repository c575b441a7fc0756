"""Generates ``docs/compliance.md``: the clause table from the registry.

Owns the human-readable view of ``compliance/registry.py`` (every IoT-1005-1 and TAICS TS
5100-2-1 clause with its EN 303 645 provisions, status, code, tests and audit checks), so the
document cannot drift from the code: a test regenerates it and compares. Run
``python -m vigilcam.compliance.clause_doc > docs/compliance.md``.
"""

from __future__ import annotations

from vigilcam.compliance.model import IOT, TAICS, Clause
from vigilcam.compliance.registry import CLAUSES


def _row(c: Clause) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    modules = "<br>".join(f"`{m}`" for m in c.modules) or "-"
    tests = "<br>".join(f"`{t.removeprefix('tests/')}`" for t in c.tests) or "-"
    checks = "<br>".join(f"`{ref.split('.')[-1]}`" for ref in (c.local_check, c.remote_check)
                         if ref)
    status = f"**{c.status.value}**" + (f": {cell(c.note)}" if c.note else "")
    level = f" | {c.level}" if c.standard == TAICS else ""
    return (f"| {c.id}{level} | {', '.join(c.en303645) or '-'} | {cell(c.title)} | {status} | "
            f"{modules} | {tests} | {checks} |")


def render() -> str:
    out = [
        "# Compliance map: clause -> code -> tests -> audit check",
        "",
        "Generated from `src/vigilcam/compliance/registry.py` by",
        "`python -m vigilcam.compliance.clause_doc`; a test fails when this file and the code",
        "differ. Modules are under `src/vigilcam/`, tests under `tests/`. Audit checks are",
        "`module:function` in `vigilcam.compliance` (local first, then remote). Status is",
        "stated honestly: a partial or planned clause fails its audit check with what to do.",
        "",
        "## IoT-1005-1 (ETSI EN 303 645 provisions beside)",
        "",
        "| Clause | EN 303 645 | Requirement | Status | Code | Tests | Audit checks |",
        "|---|---|---|---|---|---|---|",
    ]
    out += [_row(c) for c in CLAUSES if c.standard == IOT]
    out += [
        "",
        "## TAICS TS 5100-2-1 (levels 1-3; each level includes the lower ones)",
        "",
        "| Clause | Level | EN 303 645 | Requirement | Status | Code | Tests | Audit checks |",
        "|---|---|---|---|---|---|---|---|",
    ]
    out += [_row(c) for c in CLAUSES if c.standard == TAICS]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(render(), end="")
