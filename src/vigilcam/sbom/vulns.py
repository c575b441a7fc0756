"""The dependency vulnerability audit: pip-audit on the installed environment, judged honestly.

Owns running pip-audit and turning its answer into pass / fail / not tested. Serves
IoT-1005-1 5.2.1.1 (no known vulnerabilities in the software; a dependency audit in CI and in
the device's own audit) and ETSI EN 303 645 5.3-8.

The verdict (``interpret`` is pure, ``run_vulnerability_audit`` only runs the tool):
- ``fail``: pip-audit names at least one known vulnerability (PYSEC / GHSA / CVE id) in an
  installed package. pip-audit gives no CVSS score, so every finding fails, which is stricter
  than the clause's "high/critical";
- ``pass``: every installed, non-editable package was looked up and none has a finding;
- ``not tested``: pip-audit is not installed, timed out, could not reach its database, or could
  not look up some packages (e.g. versions the vulnerability service does not know). A network
  failure is never a pass and never a crash: CI stays green-or-red for real reasons only.
"""

from __future__ import annotations

import hashlib
import importlib.metadata as md
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

PASS, FAIL, NOT_TESTED = "pass", "fail", "not tested"
_EDITABLE = "editable"


@dataclass(frozen=True)
class Finding:
    package: str
    version: str
    id: str
    aliases: tuple[str, ...] = ()
    fix_versions: tuple[str, ...] = ()

    def describe(self) -> str:
        also = f" ({', '.join(self.aliases)})" if self.aliases else ""
        fix = f", fixed in {', '.join(self.fix_versions)}" if self.fix_versions else ", no fix yet"
        return f"{self.package} {self.version}: {self.id}{also}{fix}"


@dataclass
class VulnReport:
    status: str  # PASS | FAIL | NOT_TESTED
    findings: list[Finding] = field(default_factory=list)
    detail: str = ""
    audited: int = 0
    skipped: list[str] = field(default_factory=list)  # "name: why"


def interpret(output: str | None, returncode: int | None, stderr: str = "") -> VulnReport:
    """pip-audit's JSON output (``--format json``) and exit status -> a verdict."""
    try:
        data: Any = json.loads(output) if output else None
    except ValueError:
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("dependencies"), list):
        why = _last_line(stderr) or f"pip-audit exited with status {returncode} and no report"
        return VulnReport(NOT_TESTED, detail=f"pip-audit could not run: {why}")
    findings: list[Finding] = []
    skipped: list[str] = []
    audited = 0
    for dep in data["dependencies"]:
        if not isinstance(dep, dict):
            continue
        name = str(dep.get("name", "?"))
        reason = dep.get("skip_reason")
        if reason:
            if _EDITABLE not in str(reason):  # our own source checkout: not a dependency
                skipped.append(f"{name}: {reason}")
            continue
        audited += 1
        for vuln in dep.get("vulns") or []:
            findings.append(Finding(
                name, str(dep.get("version", "?")), str(vuln.get("id", "?")),
                tuple(str(a) for a in vuln.get("aliases") or ()),
                tuple(str(v) for v in vuln.get("fix_versions") or ()),
            ))
    if findings:
        return VulnReport(FAIL, findings, f"{len(findings)} known vulnerabilities in "
                          f"{len({f.package for f in findings})} packages", audited, skipped)
    if skipped or audited == 0:
        first = skipped[0] if skipped else "no packages"
        return VulnReport(NOT_TESTED, [], f"{len(skipped)} of {len(skipped) + audited} packages "
                          f"could not be looked up (first: {first})", audited, skipped)
    return VulnReport(PASS, [], f"{audited} packages checked, no known vulnerabilities",
                      audited, [])


def pip_audit_available() -> bool:
    return importlib.util.find_spec("pip_audit") is not None


def run_vulnerability_audit(
    timeout: float = 120.0,
    *,
    python: str = sys.executable,
    service: str = "pypi",
    env: dict[str, str] | None = None,
) -> VulnReport:
    """Run pip-audit on the environment of ``python``; never raises, never hangs."""
    if python == sys.executable and not pip_audit_available():
        return VulnReport(NOT_TESTED, detail="pip-audit is not installed: pip install pip-audit")
    with tempfile.TemporaryDirectory(prefix="vigilcam-pip-audit-") as tmp:
        out = Path(tmp) / "report.json"
        argv = [python, "-m", "pip_audit", "--local", "--skip-editable", "--format", "json",
                "--progress-spinner", "off", "--vulnerability-service", service,
                "--timeout", str(max(1, int(timeout / 4))), "--cache-dir", str(Path(tmp) / "c"),
                "--output", str(out)]
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                                  env={**os.environ, **(env or {})}, check=False)
        except subprocess.TimeoutExpired:
            return VulnReport(NOT_TESTED, detail=f"pip-audit did not finish within {timeout:g} s "
                                                 "(vulnerability service unreachable?)")
        except OSError as exc:
            return VulnReport(NOT_TESTED, detail=f"pip-audit could not start: {exc}")
        text = out.read_text() if out.exists() else None
        return interpret(text, done.returncode, done.stderr)


def environment_key(python: str = sys.executable) -> str:
    """Identifies the installed package set: any install, upgrade or removal changes it."""
    pins = sorted(f"{d.metadata['Name']}=={d.version}".lower() for d in md.distributions()
                  if d.metadata["Name"])
    return hashlib.sha256("\n".join([python, *pins]).encode()).hexdigest()[:32]


def _to_json(report: VulnReport) -> dict[str, Any]:
    return {"status": report.status, "detail": report.detail, "audited": report.audited,
            "skipped": report.skipped, "findings": [asdict(f) for f in report.findings]}


def _from_json(data: dict[str, Any]) -> VulnReport:
    findings = [Finding(f["package"], f["version"], f["id"], tuple(f["aliases"]),
                        tuple(f["fix_versions"])) for f in data["findings"]]
    return VulnReport(str(data["status"]), findings, str(data["detail"]), int(data["audited"]),
                      [str(x) for x in data["skipped"]])


def cached_vulnerability_audit(
    timeout: float = 120.0,
    *,
    cache_dir: Path | None = None,
    max_age: float = 24 * 3600,
    max_age_not_tested: float = 3600,
    now: float | None = None,
) -> VulnReport:
    """``run_vulnerability_audit``, reusing a recent answer for the same package set.

    A verdict is kept a day (advisories change slowly; any package change invalidates it), a
    "not tested" an hour (so a network outage is retried soon). The cache lives in the user's
    cache folder, never in the data dir; a damaged cache entry is ignored.
    """
    now = time.time() if now is None else now
    folder = cache_dir or Path(platformdirs.user_cache_dir("vigilcam"))
    entry = folder / f"vuln-audit-{environment_key()}.json"
    try:
        data = json.loads(entry.read_text())
        report = _from_json(data["report"])
        limit = max_age_not_tested if report.status == NOT_TESTED else max_age
        if 0 <= now - float(data["at"]) < limit:
            report.detail += f" (checked {int((now - float(data['at'])) // 60)} min ago)"
            return report
    except (OSError, ValueError, KeyError, TypeError):
        pass
    report = run_vulnerability_audit(timeout)
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = entry.with_name(f".{entry.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"at": now, "report": _to_json(report)}))
        os.replace(tmp, entry)
    except OSError:
        pass  # a read-only home: no cache, same answer
    return report


def vulnerability_report(timeout: float = 120.0) -> tuple[str, list[Finding]]:
    """For the conformance audit: (``"pass"`` | ``"fail"`` | ``"not tested"``, findings)."""
    report = cached_vulnerability_audit(timeout)
    return report.status, report.findings


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1][:300] if lines else ""
