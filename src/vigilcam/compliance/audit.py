"""The audit runner: every clause of the registry through its check, into one report.

Owns running the checks (local: against the data dir, the running service and the host;
remote: against the facts gathered from a target) and the report model: a verdict per clause
with evidence, the TAICS level reached and the exit code (TAICS TS 5101-2-1 / IoT-1005 test
method: each requirement ends in PASS / FAIL / NOT APPLICABLE with its evidence). A check that
raises becomes a FAIL naming the error: the audit itself never crashes.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from vigilcam import product
from vigilcam.compliance import registry
from vigilcam.compliance.model import IOT, TAICS, Clause, Result, Verdict

SCHEMA_VERSION = 1
Progress = Callable[[str], None]


@dataclass
class Outcome:
    clause: Clause
    result: Result
    seconds: float = 0.0


@dataclass
class AuditReport:
    mode: str  # "local" | "remote"
    subject: dict[str, Any]
    started: str
    seconds: float = 0.0
    outcomes: list[Outcome] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        out = {v.value: 0 for v in Verdict}
        for o in self.outcomes:
            out[o.result.verdict.value] += 1
        return out

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.result.verdict == Verdict.FAIL]

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    def of(self, key: str) -> Outcome:
        for o in self.outcomes:
            if o.clause.key == key:
                return o
        raise KeyError(key)

    def taics_level(self) -> int | None:
        """Highest level whose clauses (and all lower ones) pass; None if some are untested."""
        taics = [o for o in self.outcomes if o.clause.standard == TAICS]
        if not taics or any(o.result.verdict == Verdict.NOT_TESTED for o in taics):
            return None
        reached = 0
        for level in (1, 2, 3):
            if any(o.result.verdict == Verdict.FAIL for o in taics if o.clause.level == level):
                break
            reached = level
        return reached

    def groups(self) -> list[tuple[str, dict[str, int]]]:
        """Verdict counts per clause group, in registry order (for the summary chart)."""
        out: dict[str, dict[str, int]] = {}
        for o in self.outcomes:
            counts = out.setdefault(o.clause.group, {v.value: 0 for v in Verdict})
            counts[o.result.verdict.value] += 1
        return list(out.items())


def _run(clause: Clause, ref: str, arg: object) -> Outcome:
    started = time.monotonic()
    try:
        check = registry.resolve(ref)
        result = check(arg)  # type: ignore[operator]
        if not isinstance(result, Result):
            raise TypeError(f"{ref} returned {type(result).__name__}, not Result")
    except Exception as exc:  # noqa: BLE001 - one broken check must not end the audit
        result = Result.failed(f"The audit check {ref} is broken; report it (SECURITY.md).",
                               f"check raised {type(exc).__name__}: {exc}")
    return Outcome(clause, result, time.monotonic() - started)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def run_local(ctx: Any, clauses: Iterable[Clause] | None = None,
              progress: Progress = lambda line: None) -> AuditReport:
    """Every clause through its local check (``ctx`` is a ``state.LocalContext``)."""
    started = time.monotonic()
    ctx.progress = progress
    subject: dict[str, Any] = {"data_dir": str(ctx.paths.root), "model": product.MODEL,
                               "version": product.VERSION}
    try:
        import json

        ident = json.loads(ctx.paths.identity_file.read_text())
        subject.update(device_id=ident.get("device_id"), serial=ident.get("serial"))
    except (OSError, ValueError):
        subject["device_id"] = None
    report = AuditReport("local", subject, _now())
    progress(ctx.running_note())
    report.notes.append(ctx.running_note())
    subject["service_running"] = ctx.running
    for clause in clauses if clauses is not None else registry.CLAUSES:
        progress(f"{clause.key}: {clause.title}")
        if clause.local_check is None:
            report.outcomes.append(Outcome(clause, Result.not_tested("no local check")))
            continue
        report.outcomes.append(_run(clause, clause.local_check, ctx))
    report.seconds = time.monotonic() - started
    return report


def run_remote(facts: Any, progress: Progress = lambda line: None) -> AuditReport:
    """The remote-observable clauses judged from ``facts`` (``remote.RemoteFacts``)."""
    started = time.monotonic()
    subject = {"target": facts.target.url, "owner_checks": facts.owner,
               "certificate": facts.cert.get("subject", ""), "probe_seconds":
               round(facts.seconds, 2)}
    report = AuditReport("remote", subject, _now())
    report.notes += facts.errors
    report.notes.append("Remote view: only clauses visible from the network are judged; "
                        "run `vigilcam audit` on the device for the rest.")
    if not facts.owner:
        report.notes.append("Default-credential and throttling probes need "
                            "--i-own-this-device.")
    for clause in registry.CLAUSES:
        if clause.remote_check is None:
            continue
        progress(f"{clause.key}: {clause.title}")
        report.outcomes.append(_run(clause, clause.remote_check, facts))
    report.seconds = time.monotonic() - started + facts.seconds
    return report


__all__ = ["IOT", "SCHEMA_VERSION", "TAICS", "AuditReport", "Outcome", "run_local",
           "run_remote"]
