"""The vocabulary of the conformance audit: clauses, verdicts and check results.

Owns the data shapes every check, the registry and the report writers share (TAICS TS 5101-2-1
test specification: each requirement has a purpose, a procedure and a verdict; ETSI TS 103 701
calls a check of the device "functional" and a check of the vendor's documents "conceptual").
Pure data, no IO.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Verdict(StrEnum):
    PASS = "PASS"
    FAIL = "FAIL"
    NOT_APPLICABLE = "NOT APPLICABLE"
    NOT_TESTED = "NOT TESTED"  # the audit could not observe it (remote view, missing flag)


class Status(StrEnum):
    """How far the product implements a clause today (stated honestly in the report)."""

    IMPLEMENTED = "implemented"
    PARTIAL = "partial"
    PLANNED = "planned"


class Kind(StrEnum):
    FUNCTIONAL = "functional"  # judges the device or host itself
    CONCEPTUAL = "conceptual"  # judges the vendor's documentation


IOT = "IoT-1005-1"
TAICS = "TAICS TS 5100-2-1"


@dataclass(frozen=True)
class Clause:
    """One clause of a standard and everything that serves and proves it."""

    standard: str  # IOT or TAICS
    id: str  # "5.1.2.2"
    title: str
    en303645: tuple[str, ...]  # ETSI EN 303 645 provision ids beside it
    modules: tuple[str, ...]  # paths under src/vigilcam
    tests: tuple[str, ...]  # paths under tests/
    status: Status
    note: str = ""
    local_check: str | None = None  # "module:function" taking a LocalContext
    remote_check: str | None = None  # "module:function" taking RemoteFacts
    level: int | None = None  # TAICS level 1..3
    group: str = ""  # for the summary chart

    @property
    def key(self) -> str:
        short = "TAICS" if self.standard == TAICS else self.standard
        return f"{short} {self.id}"


@dataclass
class Result:
    """What one check found: the verdict, the evidence, and for a FAIL what to do."""

    verdict: Verdict
    evidence: list[str] = field(default_factory=list)
    todo: str = ""
    kind: Kind = Kind.FUNCTIONAL

    @staticmethod
    def passed(*evidence: str, kind: Kind = Kind.FUNCTIONAL) -> Result:
        return Result(Verdict.PASS, list(evidence), kind=kind)

    @staticmethod
    def failed(todo: str, *evidence: str, kind: Kind = Kind.FUNCTIONAL) -> Result:
        return Result(Verdict.FAIL, list(evidence), todo, kind=kind)

    @staticmethod
    def not_applicable(*evidence: str, kind: Kind = Kind.CONCEPTUAL) -> Result:
        return Result(Verdict.NOT_APPLICABLE, list(evidence), kind=kind)

    @staticmethod
    def not_tested(*evidence: str, todo: str = "") -> Result:
        return Result(Verdict.NOT_TESTED, list(evidence), todo)


def merge(*parts: Result) -> Result:
    """Combine sub-checks of one clause: any FAIL fails it, evidence and advice add up."""
    evidence = [e for p in parts for e in p.evidence]
    todos = [p.todo for p in parts if p.verdict == Verdict.FAIL and p.todo]
    kind = Kind.FUNCTIONAL if any(p.kind == Kind.FUNCTIONAL for p in parts) else Kind.CONCEPTUAL
    verdicts = {p.verdict for p in parts}
    for verdict in (Verdict.FAIL, Verdict.PASS, Verdict.NOT_TESTED):
        if verdict in verdicts:
            return Result(verdict, evidence, " ".join(dict.fromkeys(todos)), kind)
    return Result(Verdict.NOT_APPLICABLE, evidence, "", kind)
