"""Generates ``docs/events.md``: every security event and which of them raise which alert.

Owns the human-readable view of the event table (``platform/events.py``) and of the alert rules
(``alerts/rules.py``), so the document cannot drift from the code: a test regenerates it and
compares. Serves TAICS TS 5100-2-1 5.2.8.1 (the owner can read what each logged action means)
and IoT-1005-1 5.8.1.1 / TAICS 5.5.1.1 / 5.1.2.1 / 5.2.8.2 (which events alert, documented from
the rules that decide it). Run ``python -m vigilcam.alerts.events_doc > docs/events.md``.
"""

from __future__ import annotations

from vigilcam.alerts.rules import (
    NOT_ALERTED,
    OPTIONAL_CATEGORIES,
    REQUIRED_CATEGORIES,
    RULES,
    Rule,
    RulePolicy,
)
from vigilcam.platform.events import CATALOGUE, Event


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _names(events: tuple[Event, ...]) -> str:
    return ", ".join(f"`{e.value}`" for e in events)


def _folding(rule: Rule, policy: RulePolicy) -> str:
    window = f"{getattr(policy, rule.window):g} s"
    first = (f"first alert at {policy.burst_threshold} in {window}" if rule.burst
             else f"one alert, then a count per {window}")
    key = f"; per {', '.join(rule.key_fields)}" if rule.key_fields else ""
    return first + key


def _alert_of(event: Event) -> str:
    parts = [f"{r.title} ({r.severity}" + (f", when {r.when.text}" if r.when.text else "") + ")"
             for r in RULES if event in r.events]
    return "; ".join(parts) or "-"


def render() -> str:
    policy = RulePolicy()
    out = [
        "# Security events and the alerts they raise",
        "",
        "Generated from `src/vigilcam/platform/events.py` (the event names) and",
        "`src/vigilcam/alerts/rules.py` (the alert rules) by",
        "`python -m vigilcam.alerts.events_doc`; a test fails when this file and the code differ.",
        "Every record of the security log (TAICS 5.2.8.1) carries one of these names as its",
        "`action`; the log refuses any other name.",
        "",
        "## What raises an alert",
        "",
        "The first matching row decides. Categories "
        + ", ".join(f"`{c}`" for c in sorted(REQUIRED_CATEGORIES)) + " reach every channel;",
        ", ".join(f"`{c}`" for c in sorted(OPTIONAL_CATEGORIES))
        + " only channels that ask for them. Floods fold into one alert with a count",
        "(docs/alerts.md); the windows below are the defaults.",
        "",
        "| Alert | Events | When | Category | Severity | Folding | Clauses |",
        "|---|---|---|---|---|---|---|",
    ]
    for rule in RULES:
        out.append(
            f"| {_cell(rule.title)} | {_names(rule.events)} | {_cell(rule.when.text) or '-'} | "
            f"{rule.category} | {rule.severity} | {_folding(rule, policy)} | "
            f"{', '.join(rule.clauses) or 'optional'} |")
    out += [
        "",
        f"{len(NOT_ALERTED)} events raise no alert; they are logged (see below).",
        "",
        "## Every event",
        "",
        "Where: `log` a chained record; `subscribers` handed to the alert subscribers only",
        "(it could not be stored); `alert` an alert's event only; `syslog` a notice of the",
        "syslog forwarder.",
        "",
        "| Event | Meaning | Clauses | Alert | Where |",
        "|---|---|---|---|---|",
    ]
    for event in Event:
        about = CATALOGUE[event]
        out.append(f"| `{event.value}` | {_cell(about.description)} | "
                   f"{', '.join(about.clauses) or '-'} | {_cell(_alert_of(event))} | "
                   f"{about.where} |")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(render(), end="")
