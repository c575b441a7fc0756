"""IoT-1005-1 5.2.1.1: CycloneDX SBOM of the environment and an honest vulnerability audit."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from vigilcam.sbom.cyclonedx import (
    Package,
    build_sbom,
    installed_packages,
    required_names,
    runtime_closure,
    sbom_json,
)
from vigilcam.sbom.vulns import (
    FAIL,
    NOT_TESTED,
    PASS,
    VulnReport,
    cached_vulnerability_audit,
    interpret,
    pip_audit_available,
    run_vulnerability_audit,
)


def _validate(doc: str) -> None:
    """Against the official CycloneDX 1.5 JSON schema (test extra cyclonedx-python-lib)."""
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    error = JsonStrictValidator(SchemaVersion.V1_5).validate_str(doc)
    assert error is None, str(error).splitlines()[0]


PKGS = [
    Package("vigilcam", "0.1.0", requires=("Starlette>=0.40", "pytest; extra == 'test'")),
    Package("starlette", "1.10.0", "ASGI", "BSD-3-Clause", requires=("anyio<5,>=3.6.2",)),
    Package("anyio", "4.16.0", license_text="MIT License", requires=("idna>=2.8",)),
    Package("idna", "3.10"),
    Package("pytest", "9.0.0", requires=("pluggy",)),
    Package("Pluggy", "1.6.0"),
]


def test_requirement_names() -> None:
    assert required_names(["Foo.Bar>=1", "baz ; python_version < '3.12'", "qux; extra == 'x'",
                           "zap[socks]==1"]) == ["foo-bar", "baz", "zap"]


def test_runtime_set_is_the_closure_or_the_whole_bundle() -> None:
    names = [p.name for p in runtime_closure(PKGS)]
    assert names == ["vigilcam", "starlette", "anyio", "idna"]  # no test tools
    # a packaged device runs vigilcam from its slot, without package metadata, beside a
    # bundle of exactly its dependencies: the bundle is the run-time set
    bundle = [p for p in PKGS if p.name not in ("vigilcam", "pytest", "Pluggy")]
    assert runtime_closure(bundle) == bundle


def test_sbom_document_is_valid_cyclonedx_15() -> None:
    serial = uuid.uuid4()
    doc = build_sbom(runtime_closure(PKGS), serial=serial)
    assert doc["specVersion"] == "1.5" and doc["serialNumber"] == serial.urn
    assert doc["metadata"]["component"]["purl"] == "pkg:pypi/vigilcam@0.1.0"
    comps = {c["name"]: c for c in doc["components"]}
    assert sorted(comps) == ["anyio", "idna", "starlette"]  # pytest (a test extra) is not the device
    assert comps["starlette"]["licenses"] == [{"expression": "BSD-3-Clause"}]
    assert comps["anyio"]["licenses"] == [{"license": {"name": "MIT License"}}]
    assert "licenses" not in comps["idna"]  # nothing declared, nothing guessed
    deps = {d["ref"]: d.get("dependsOn", []) for d in doc["dependencies"]}
    assert deps["pkg:pypi/vigilcam@0.1.0"] == ["pkg:pypi/starlette@1.10.0"]
    assert deps["pkg:pypi/anyio@4.16.0"] == ["pkg:pypi/idna@3.10"]
    assert deps["pkg:pypi/idna@3.10"] == []
    _validate(json.dumps(doc))


def test_sbom_of_this_environment() -> None:
    installed = {p.name.lower() for p in installed_packages()}
    assert {"cryptography", "starlette", "vigilcam"} <= installed
    text = sbom_json()
    _validate(text)
    doc = json.loads(text)
    names = {c["name"].lower() for c in doc["components"]}
    assert {"cryptography", "starlette", "pydantic"} <= names
    assert "pytest" not in names and "vigilcam" not in names  # the product is the root
    full = json.loads(sbom_json(runtime_only=False))
    assert "pytest" in {c["name"].lower() for c in full["components"]}


# pip-audit 2.x JSON, as it prints it (captured from real runs).
VULNERABLE = json.dumps({"dependencies": [
    {"name": "jinja2", "version": "2.4.1", "vulns": [
        {"id": "PYSEC-2014-8", "fix_versions": ["2.7.2"], "aliases": ["CVE-2014-1402"],
         "description": "..."}]},
    {"name": "idna", "version": "3.10", "vulns": []},
    {"name": "vigilcam", "skip_reason": "distribution marked as editable"}], "fixes": []})
CLEAN = json.dumps({"dependencies": [{"name": "idna", "version": "3.10", "vulns": []},
                                     {"name": "vigilcam", "skip_reason":
                                      "distribution marked as editable"}], "fixes": []})
UNKNOWN = json.dumps({"dependencies": [
    {"name": "idna", "version": "3.10", "vulns": []},
    {"name": "anyio", "skip_reason": "Dependency not found on PyPI and could not be audited: "
                                     "anyio (4.16.0)"}], "fixes": []})


def test_verdicts() -> None:
    bad = interpret(VULNERABLE, 1)
    assert bad.status == FAIL and bad.audited == 2
    assert bad.findings[0].describe() == "jinja2 2.4.1: PYSEC-2014-8 (CVE-2014-1402), fixed in 2.7.2"
    assert interpret(CLEAN, 0).status == PASS
    partial = interpret(UNKNOWN, 0)
    assert partial.status == NOT_TESTED and "1 of 2 packages" in partial.detail
    for broken in (None, "", "{", '{"dependencies": 3}', "[]"):
        report = interpret(broken, 1, "requests.exceptions.ConnectionError: no route\n")
        assert report.status == NOT_TESTED and "ConnectionError" in report.detail


@pytest.mark.peer
def test_network_failure_is_not_tested_never_pass(tmp_path: Path) -> None:
    assert pip_audit_available(), "pip-audit missing: add it to the test extra"
    dead = "http://127.0.0.1:1"
    report = run_vulnerability_audit(60, env={"HTTPS_PROXY": dead, "https_proxy": dead,
                                              "NO_PROXY": "", "no_proxy": ""})
    assert report.status == NOT_TESTED and report.findings == []
    assert "pip-audit could not run" in report.detail


def _fake_python(tmp_path: Path, body: str) -> str:
    script = tmp_path / "python"
    script.write_text("#!/bin/sh\n" + body + "\n")
    script.chmod(0o755)
    return str(script)


def test_missing_tool_hang_or_no_python_is_not_tested(tmp_path: Path) -> None:
    report = run_vulnerability_audit(10, python=str(tmp_path / "no-python"))
    assert report.status == NOT_TESTED and "could not start" in report.detail
    missing = _fake_python(tmp_path, "echo '/x/python: No module named pip_audit' >&2; exit 1")
    report = run_vulnerability_audit(10, python=missing)
    assert report.status == NOT_TESTED and "No module named pip_audit" in report.detail
    hang = _fake_python(tmp_path, "exec sleep 5")
    report = run_vulnerability_audit(0.5, python=hang)
    assert report.status == NOT_TESTED and "did not finish within 0.5 s" in report.detail


def test_sbom_command_writes_the_file(tmp_path: Path) -> None:
    import argparse

    from vigilcam.sbom.cli import add_commands

    parser = argparse.ArgumentParser()
    add_commands(parser.add_subparsers())
    out = tmp_path / "sbom.cdx.json"
    args = parser.parse_args(["sbom", "--output", str(out)])
    assert args.func(args) == 0
    _validate(out.read_text())
    assert json.loads(out.read_text())["metadata"]["component"]["name"] == "vigilcam"


def test_cache_reuses_a_recent_answer_for_the_same_packages(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runs: list[float] = []
    answers = iter([interpret(VULNERABLE, 1), interpret(None, 1, "ConnectionError"),
                    interpret(CLEAN, 0), interpret(CLEAN, 0)])

    def audit(timeout: float = 120.0) -> VulnReport:
        runs.append(timeout)
        return next(answers)

    monkeypatch.setattr("vigilcam.sbom.vulns.run_vulnerability_audit", audit)
    first = cached_vulnerability_audit(cache_dir=tmp_path, now=1000)
    again = cached_vulnerability_audit(cache_dir=tmp_path, now=1000 + 3600)
    assert first.status == again.status == FAIL and len(runs) == 1
    assert again.findings == first.findings and "checked 60 min ago" in again.detail
    assert cached_vulnerability_audit(cache_dir=tmp_path, now=1000 + 86400).status == NOT_TESTED
    # "not tested" is only kept an hour, so an outage is retried soon
    assert cached_vulnerability_audit(cache_dir=tmp_path, now=1000 + 86400 + 10).status == \
        NOT_TESTED
    assert cached_vulnerability_audit(cache_dir=tmp_path, now=1000 + 86400 + 3601).status == PASS
    assert len(runs) == 3
    for entry in tmp_path.iterdir():
        entry.write_text("{damaged")
    assert cached_vulnerability_audit(cache_dir=tmp_path, now=0).status == PASS
    assert len(runs) == 4
