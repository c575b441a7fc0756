"""The alert table and the event table are one source: docs/events.md is generated from them,
every event is a decision (alerted by a rule, or listed as not alerted), and the config rule
covers the token events its old string prefix missed (IoT-1005-1 5.8.1.1, TAICS 5.2.8.1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from vigilcam.alerts.events_doc import render
from vigilcam.alerts.rules import CONFIG, NOT_ALERTED, RULES, AlertRules, RulePolicy, classify
from vigilcam.platform.events import Event
from vigilcam.platform.seclog import SecurityEvent

REPO = Path(__file__).resolve().parents[2]


def ev(action: Event, result: str = "ok", **details) -> SecurityEvent:
    return SecurityEvent(seq=1, ts="2026-11-23T10:00:00.000Z", device_id="d", action=action,
                         result=result, user="admin", source="192.0.2.1", details=details)


def test_events_doc_is_generated_from_the_tables():
    doc = REPO / "docs" / "events.md"
    assert doc.read_text() == render(), (
        "docs/events.md is stale: python -m vigilcam.alerts.events_doc > docs/events.md")


def test_every_event_is_alerted_by_a_rule_or_listed_as_not_alerted():
    in_rules = {event for rule in RULES for event in rule.events}
    assert not in_rules & NOT_ALERTED
    assert in_rules | NOT_ALERTED == set(Event), set(Event) - in_rules - NOT_ALERTED
    for rule in RULES:
        assert isinstance(getattr(RulePolicy(), rule.window), float)


@pytest.mark.parametrize("event", [Event.TOKEN_CREATED, Event.TOKEN_REVOKED])
def test_api_token_changes_are_configuration_alerts(event):
    trigger = classify(ev(event, token_id="t1"), RulePolicy())
    assert trigger is not None and trigger.category == CONFIG
    (alert,) = AlertRules("d", "m", "s").feed(ev(event, token_id="t1"), now=0.0)
    assert alert.event == event.value and alert.title == "Configuration change"


def test_no_event_alerts_unless_its_rule_says_so():
    for event in NOT_ALERTED:
        for result in ("ok", "failure", "error"):
            assert classify(ev(event, result), RulePolicy()) is None, event
