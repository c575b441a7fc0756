"""The security event names: one typed table, the log refuses any other name (TAICS 5.2.8.1),
and no module spells an event name as a bare string."""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

import pytest

from vigilcam.platform.events import CATALOGUE, TAMPER_EVENTS, Event, UnknownEvent
from vigilcam.platform.seclog import SecurityLog

SRC = Path(__file__).resolve().parents[2] / "src" / "vigilcam"
HOME = SRC / "platform" / "events.py"
# The calls that take a security event name as their first argument.
EMITTERS = {"record", "_record", "_safe_record", "_emit", "_on_event", "_event", "on_event"}


def make_log(tmp_path) -> SecurityLog:
    log = SecurityLog(tmp_path / "seclog", "dev-1", b"k" * 32, b"a" * 32)
    log.open()
    return log


def test_every_event_is_described_with_its_clauses_and_named_as_logged():
    assert set(CATALOGUE) == set(Event)
    for event in Event:
        assert re.fullmatch(r"[a-z_]+\.[a-z_]+", event.value), event
        assert event.name == event.value.upper().replace(".", "_")
        about = event.about
        assert about.description.endswith(".") and about.clauses, event
        assert about.where in {"log", "subscribers", "alert", "syslog"}
    assert set(TAMPER_EVENTS) == {"covered", "defocused", "moved"}


def test_the_log_refuses_a_name_that_is_not_an_event(tmp_path):
    log = make_log(tmp_path)
    log.record(Event.AUTH_LOGIN, user="a")
    before = log.current_file.read_bytes()
    with pytest.raises(UnknownEvent, match="auth.logn"):
        log.record("auth.logn", user="a")  # type: ignore[arg-type]
    assert log.current_file.read_bytes() == before  # nothing written, the chain unchanged
    written = log.record("auth.login", user="b")  # type: ignore[arg-type]  # the exact value
    assert written.seq == 2 and written.action == "auth.login"
    assert type(written.action) is str and log.verify().ok


def _modules():
    for path in sorted(SRC.rglob("*.py")):
        if path != HOME:
            yield path, path.read_text()


def test_no_module_spells_an_event_name_as_a_string():
    values = {event.value for event in Event}
    found = []
    for path, text in _modules():
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.STRING and tok.string[1:-1] in values \
                    and tok.string[0] == tok.string[-1] and tok.string[0] in "'\"":
                found.append(f"{path.relative_to(SRC)}:{tok.start[0]} {tok.string}")
    assert not found, "use vigilcam.platform.events.Event: " + "; ".join(found)


def test_no_emitter_is_called_with_a_bare_string():
    found = []
    for path, text in _modules():
        for node in ast.walk(ast.parse(text)):
            if not (isinstance(node, ast.Call) and node.args):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[0]
            if name in EMITTERS and (isinstance(first, ast.JoinedStr) or (
                    isinstance(first, ast.Constant) and isinstance(first.value, str))):
                found.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert not found, "security events take an Event member: " + "; ".join(found)
