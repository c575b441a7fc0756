"""Conceptual checks: the documentation pack the standards ask the vendor for.

Owns the checks that judge documents rather than the device (ETSI TS 103 701 "conceptual"
test units): SECURITY.md (IoT-1005-1 5.2.3.1, 5.3.1.4), docs/secure-development.md (5.2.3.2),
docs/setup-guide.md (5.2.3.3) and its physical protection section (TAICS 5.1.3.1, hardware:
the setup guide tells the integrator). Each check names the sections it looked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vigilcam.compliance.model import Kind, Result

if TYPE_CHECKING:
    from vigilcam.compliance.state import LocalContext

_NOT_FOUND = ("The documentation pack (SECURITY.md, docs/) is not beside this installation; "
              "read it at the project repository or install from the source tree.")


def _read(ctx: LocalContext, relpath: str) -> str | Result:
    if ctx.docs_root is None:
        return Result.failed(_NOT_FOUND, f"{relpath}: documentation folder not found",
                             kind=Kind.CONCEPTUAL)
    path = ctx.docs_root / relpath
    if not path.exists():
        return Result.failed(f"Write {relpath}.", f"{path} is missing", kind=Kind.CONCEPTUAL)
    return path.read_text(encoding="utf-8")


def doc_sections(ctx: LocalContext, relpath: str, needles: tuple[str, ...]) -> Result:
    """PASS when ``relpath`` exists and mentions every needle (case-insensitive)."""
    text = _read(ctx, relpath)
    if isinstance(text, Result):
        return text
    lowered = text.lower()
    missing = [n for n in needles if n.lower() not in lowered]
    if missing:
        return Result.failed(f"Complete {relpath}: cover {', '.join(missing)}.",
                             f"{relpath} lacks: {', '.join(missing)}", kind=Kind.CONCEPTUAL)
    return Result.passed(f"{relpath} covers: {', '.join(needles)}", kind=Kind.CONCEPTUAL)


def doc_mentions(ctx: LocalContext, relpath: str, text: str) -> Result:
    return doc_sections(ctx, relpath, (text,))


def secure_development_doc(ctx: LocalContext) -> Result:
    """IoT-1005-1 5.2.3.2: threat model, dependency policy, review and test practice."""
    return doc_sections(ctx, "docs/secure-development.md",
                        ("threat model", "dependenc", "review", "test", "fuzz"))


def setup_guide_doc(ctx: LocalContext) -> Result:
    """IoT-1005-1 5.2.3.3: step-by-step secure setup and host hardening."""
    return doc_sections(ctx, "docs/setup-guide.md",
                        ("systemd", "serial", "PasswordAuthentication no", "firewall",
                         "setup secret", "vigilcam audit"))


def physical_protection(ctx: LocalContext) -> Result:
    """TAICS 5.1.3.1: anti-disassembly is hardware; the setup guide covers it."""
    result = doc_sections(ctx, "docs/setup-guide.md", ("physical protection", "tamper-evident"))
    if result.verdict.value == "FAIL":
        return result
    return Result.not_applicable(
        "hardware clause: vigilcam is software; docs/setup-guide.md 'Physical protection' "
        "tells the integrator how to protect the enclosure and ports", *result.evidence)
