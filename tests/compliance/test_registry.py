"""The clause registry is complete and true: every clause once, every path real, every check
callable, and docs/compliance.md generated from it (IoT-1005-1 all items, TAICS TS 5100-2-1)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support import REPO
from vigilcam.compliance import registry
from vigilcam.compliance.clause_doc import render
from vigilcam.compliance.model import IOT, TAICS, Status

REQUIREMENTS = Path(__file__).resolve().parents[3] / "shared" / "REQUIREMENTS.md"  # beside the repo
# The clause list of REQUIREMENTS.md, kept here so the test also runs where that file is absent.
IOT_IDS = [
    "5.1.1.1", "5.1.1.2", "5.1.1.3", "5.1.2.1", "5.1.2.2", "5.1.3.1", "5.2.1.1", "5.2.2.1",
    "5.2.3.1", "5.2.3.2", "5.2.3.3", "5.2.3.4", "5.3.1.1", "5.3.1.2", "5.3.1.3", "5.3.1.4",
    "5.4.1.1", "5.4.1.2", "5.4.2.1", "5.4.2.2", "5.5.1.1", "5.5.2.1", "5.6.1.1", "5.7.1.1",
    "5.7.1.2", "5.8.1.1",
]
TAICS_LEVELS = {
    "5.1.1.1": 1, "5.1.1.2": 2, "5.1.2.1": 2, "5.1.3.1": 2, "5.1.3.2": 3, "5.1.4.1": 3,
    "5.2.5.2": 3, "5.2.6.1": 1, "5.2.7.1": 1, "5.2.8.1": 1, "5.2.8.2": 2, "5.3.1.2": 3,
    "5.5.1.1": 1, "5.5.2.3": 3,
}


def parse_requirements(text: str) -> tuple[list[str], dict[str, int]]:
    """Clause ids of section A and (id -> level) of section B of REQUIREMENTS.md."""
    section_a, _, rest = text.partition("## B.")
    section_b = rest.partition("## C.")[0]
    iot = [m.group(1) for m in re.finditer(r"^\| (5\.\d\.\d\.\d) \|", section_a, re.M)]
    taics: dict[str, int] = {}
    for m in re.finditer(r"^\| ([\d. /]+?) \| (\d) \|", section_b, re.M):
        for clause in m.group(1).split("/"):
            taics[clause.strip()] = int(m.group(2))
    return iot, taics


def test_expected_list_matches_requirements_file():
    if not REQUIREMENTS.exists():
        pytest.skip("REQUIREMENTS.md lives outside the repository here")
    iot, taics = parse_requirements(REQUIREMENTS.read_text())
    assert iot == IOT_IDS
    assert taics == TAICS_LEVELS


def test_every_clause_exactly_once():
    keys = [c.key for c in registry.CLAUSES]
    assert len(keys) == len(set(keys)), "a clause appears twice"
    assert [c.id for c in registry.CLAUSES if c.standard == IOT] == IOT_IDS
    assert len(IOT_IDS) == 26
    assert {c.id: c.level for c in registry.CLAUSES if c.standard == TAICS} == TAICS_LEVELS


@pytest.mark.parametrize("clause", registry.CLAUSES, ids=lambda c: c.key)
def test_paths_exist_and_checks_resolve(clause):
    for module in clause.modules:
        assert (REPO / "src" / "vigilcam" / module).is_file(), module
    for test in clause.tests:
        assert (REPO / test).is_file(), test
    assert clause.local_check, "every clause has a local audit check"
    for ref in (clause.local_check, clause.remote_check):
        if ref:
            assert callable(registry.resolve(ref)), ref
    assert clause.en303645 or clause.id.startswith("5.2.8"), "EN 303 645 provision beside"
    assert all(re.fullmatch(r"(5\.\d+|6)-\d+", p) for p in clause.en303645), clause.en303645
    if clause.status != Status.IMPLEMENTED:
        assert clause.note, "a partial or planned clause says what is missing"
    assert clause.tests, "every clause names the tests that prove it"


def test_en303645_mapping_of_key_clauses():
    by_key = registry.by_key()
    assert by_key["IoT-1005-1 5.1.3.1"].en303645[:2] == ("5.1-1", "5.1-2")
    assert by_key["IoT-1005-1 5.1.2.2"].en303645 == ("5.1-5",)
    assert "5.5-1" in by_key["IoT-1005-1 5.4.2.1"].en303645
    assert "5.2-1" in by_key["IoT-1005-1 5.2.3.1"].en303645
    assert by_key["IoT-1005-1 5.4.1.2"].en303645 == ("5.4-1",)
    assert by_key["IoT-1005-1 5.3.1.4"].en303645 == ("5.3-13",)
    assert all(p.startswith("5.9-") for p in by_key["IoT-1005-1 5.6.1.1"].en303645)
    assert by_key["TAICS 5.1.4.1"].en303645 == ("5.7-1",)


def test_compliance_doc_is_generated_from_the_registry():
    doc = REPO / "docs" / "compliance.md"
    assert doc.read_text() == render(), (
        "docs/compliance.md is stale: python -m vigilcam.compliance.clause_doc > "
        "docs/compliance.md")
