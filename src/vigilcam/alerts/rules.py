"""Which security events become alerts, and how floods fold into one alert with a count.

Pure logic (no IO, no clock of its own: callers pass ``now``). The decision is one table,
:data:`RULES` (event names from ``platform/events.py``, never bare strings); ``docs/events.md``
is generated from it (``python -m vigilcam.alerts.events_doc``). Serves IoT-1005-1 5.8.1.1
(failed-login bursts, lockouts and logins from a new source alert, with the device ID),
TAICS TS 5100-2-1 5.5.1.1 (every new login and every new viewing session alerts), 5.1.2.1
(tamper, signal loss and power loss alert) and 5.2.8.2 (the log cannot be stored: alert).

Invariants:
- Every alert carries device_id, model, serial, time, event type, user and source (when known).
- A trigger fires at most once per window and key; later matching events in that window are
  counted and sent as ONE summary alert when the window closes, so a brute-force run of
  hundreds of failures makes a few alerts whose counts add up to the number of failures.
  Nothing matching a trigger is dropped silently: it is either in an alert or in a count.
- Failed logins are a burst trigger: the first alert goes out when ``burst_threshold``
  failures fall in one window (a single typo is not an alert).
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from vigilcam.platform.events import TAMPER_EVENTS, Event
from vigilcam.platform.seclog import SecurityEvent

# Categories a channel can subscribe to. REQUIRED ones are always on for every channel.
LOGIN, ACCESS, TAMPER, LOG, ALERTS, TEST, CONFIG, MOTION = (
    "login", "access", "tamper", "log", "alerts", "test", "config", "motion",
)
REQUIRED_CATEGORIES = frozenset({LOGIN, ACCESS, TAMPER, LOG, ALERTS, TEST})
OPTIONAL_CATEGORIES = frozenset({CONFIG, MOTION})
ALL_CATEGORIES = REQUIRED_CATEGORIES | OPTIONAL_CATEGORIES

_MAX_DETAIL_CHARS = 4096
_TAMPER_KIND = {event.value: kind for kind, event in TAMPER_EVENTS.items()}
_TOP = 10


@dataclass(frozen=True)
class RulePolicy:
    """Aggregation windows; tests shorten them, the device uses the defaults."""

    burst_threshold: int = 3  # failed logins in one window before the first alert
    burst_window_s: float = 60.0
    lockout_window_s: float = 60.0
    repeat_window_s: float = 10.0  # same trigger, same user and source
    incident_window_s: float = 60.0  # tamper, signal, power, log store


@dataclass(frozen=True)
class Trigger:
    name: str
    category: str
    severity: str  # "critical" | "warning" | "info"
    threshold: int
    window_s: float
    key_fields: tuple[str, ...]
    title: str


@dataclass(frozen=True)
class Condition:
    """A test on the event beyond its name, with the words the docs show for it."""

    text: str
    holds: Callable[[SecurityEvent], bool]


ALWAYS = Condition("", lambda e: True)
FAILED = Condition("result failure", lambda e: e.result == "failure")
CLEARED = Condition("result ok or phase cleared",
                    lambda e: e.result == "ok" or e.details.get("phase") == "cleared")
RAISED = Condition("otherwise (phase raised)", lambda e: not CLEARED.holds(e))
OK_KNOWN_SOURCE = Condition("result ok, from a known source",
                            lambda e: e.result == "ok" and not e.details.get("new_source"))

Window = Literal["burst_window_s", "lockout_window_s", "repeat_window_s", "incident_window_s"]


@dataclass(frozen=True)
class Rule:
    """One row of the alert table: these events, under this condition, raise this alert."""

    events: tuple[Event, ...]
    category: str
    severity: str
    title: str
    window: Window
    key_fields: tuple[str, ...] = ()
    when: Condition = ALWAYS
    name: str | None = None  # the trigger (window) name; None: the event's action
    burst: bool = False  # first alert at ``burst_threshold`` events in a window, not at one
    clauses: tuple[str, ...] = ()

    def trigger(self, event: SecurityEvent, policy: RulePolicy) -> Trigger:
        return Trigger(self.name or event.action, self.category, self.severity,
                       policy.burst_threshold if self.burst else 1,
                       getattr(policy, self.window), self.key_fields, self.title)


_TAMPER = (Event.TAMPER_COVERED, Event.TAMPER_DEFOCUSED, Event.TAMPER_MOVED,
           Event.TAMPER_REBASELINED)
_IOT_LOGIN, _ACCESS, _TAMPER_CLAUSE, _LOG_CLAUSE = (
    "IoT-1005-1 5.8.1.1", "TAICS 5.5.1.1", "TAICS 5.1.2.1", "TAICS 5.2.8.2")

RULES: tuple[Rule, ...] = (
    Rule((Event.AUTH_LOGIN, Event.AUTH_LOGIN_FAILURES), LOGIN, "warning", "Failed logins",
         "burst_window_s", when=FAILED, name="login_failures", burst=True,
         clauses=(_IOT_LOGIN,)),
    Rule((Event.AUTH_LOCKOUT,), LOGIN, "critical", "Login locked out", "lockout_window_s",
         ("kind", "user", "source"), name="lockout", clauses=(_IOT_LOGIN,)),
    # TAICS 5.5.1.1: every new login is an access event (a new source has its own warning).
    Rule((Event.AUTH_LOGIN,), ACCESS, "info", "New login", "repeat_window_s",
         ("user", "source", "interface"), when=OK_KNOWN_SOURCE, name="login_ok",
         clauses=(_ACCESS,)),
    Rule((Event.AUTH_NEW_SOURCE,), LOGIN, "warning", "Login from a new source",
         "repeat_window_s", ("user", "source"), name="new_source",
         clauses=(_IOT_LOGIN, _ACCESS)),
    Rule((Event.VIDEO_VIEW_STARTED,), ACCESS, "info", "New viewing session", "repeat_window_s",
         ("user", "source", "stream"), name="view_started", clauses=(_ACCESS,)),
    Rule(_TAMPER, TAMPER, "info", "Camera tampering cleared", "incident_window_s", ("phase",),
         when=CLEARED, clauses=(_TAMPER_CLAUSE,)),
    Rule(_TAMPER, TAMPER, "critical", "Camera tampering", "incident_window_s", ("phase",),
         when=RAISED, clauses=(_TAMPER_CLAUSE,)),
    Rule((Event.MEDIA_SIGNAL_LOST,), TAMPER, "critical", "Video signal lost",
         "incident_window_s", clauses=(_TAMPER_CLAUSE,)),
    Rule((Event.MEDIA_SIGNAL_RESTORED,), TAMPER, "info", "Video signal restored",
         "incident_window_s", clauses=(_TAMPER_CLAUSE,)),
    Rule((Event.DEVICE_UNCLEAN_SHUTDOWN,), TAMPER, "critical",
         "Power loss or crash (unclean shutdown)", "incident_window_s",
         clauses=(_TAMPER_CLAUSE,)),
    Rule((Event.CODE_VERIFICATION_FAILED,), TAMPER, "critical",
         "Installed code modified: start refused", "incident_window_s",
         clauses=("TAICS 5.1.4.1",)),
    Rule((Event.SECLOG_WRITE_FAILED,), LOG, "critical", "Security log cannot be stored",
         "incident_window_s", clauses=(_LOG_CLAUSE,)),
    Rule((Event.SECLOG_TORN_WRITE_REPAIRED,), LOG, "warning",
         "Security log repaired after a crash", "incident_window_s",
         clauses=("IoT-1005-1 5.6.1.1",)),
    Rule((Event.ALERTS_CHANNEL_FAILING,), ALERTS, "warning", "Alert channel failing",
         "incident_window_s", ("channel_id",), clauses=(_IOT_LOGIN,)),
    Rule((Event.ALERTS_CORRUPT_DROPPED,), ALERTS, "warning", "Damaged queued alert dropped",
         "incident_window_s", ("channel_id",), clauses=(_IOT_LOGIN,)),
    Rule((Event.ALERTS_CHANNEL_RECOVERED,), ALERTS, "info", "Alert channel recovered",
         "incident_window_s", ("channel_id",), clauses=(_IOT_LOGIN,)),
    # motion.ended closes the event for ONVIF; no second alert.
    Rule((Event.MOTION_STARTED,), MOTION, "info", "Motion", "incident_window_s"),
    Rule((Event.USER_ADDED, Event.USER_DISABLED, Event.USER_ENABLED, Event.USER_PASSWORD_RESET,
          Event.USER_ROLE_CHANGED, Event.AUTH_PASSWORD_CHANGED, Event.TOKEN_CREATED,
          Event.TOKEN_REVOKED, Event.CONFIG_MOTION_CHANGED, Event.CONFIG_MOTION_UNREADABLE,
          Event.CONFIG_ONVIF_CHANGED, Event.UPDATE_CHECKED, Event.UPDATE_CONFIGURED,
          Event.UPDATE_INSTALL_REQUESTED,
          Event.UPDATE_INSTALLED, Event.UPDATE_REFUSED, Event.UPDATE_ROLLED_BACK,
          Event.PRIVACY_MASKS_CHANGED, Event.PRIVACY_ERASE_STARTED, Event.PRIVACY_ERASED,
          Event.ALERTS_CHANNEL_ADDED, Event.ALERTS_CHANNEL_REMOVED, Event.VIDEO_PRIVACY_MODE,
          Event.SECLOG_EXPORTED),
         CONFIG, "info", "Configuration change", "repeat_window_s", ("user",)),
)
"""Tried in order; the first rule whose events and condition match decides."""

NOT_ALERTED: frozenset[Event] = frozenset({
    Event.AUTH_LOGOUT, Event.AUTH_LOGOUT_ALL,
    # Credentials for stream and ONVIF clients: logged, revoked viewers cut; no alert.
    Event.STREAM_CREDENTIAL_CREATED, Event.STREAM_CREDENTIAL_ROTATED,
    Event.STREAM_CREDENTIAL_REVOKED, Event.ONVIF_CREDENTIAL_CREATED,
    Event.ONVIF_CREDENTIAL_ROTATED, Event.ONVIF_CREDENTIAL_REVOKED,
    Event.VIDEO_VIEW_ENDED, Event.VIDEO_VIEW_TERMINATED, Event.VIDEO_VIEW_REVOKED,
    Event.MOTION_ENDED,
    Event.DEVICE_PROVISIONED, Event.DEVICE_STARTED, Event.DEVICE_STOPPED,
    Event.DEVICE_RESTART_REQUESTED, Event.DEVICE_FACTORY_RESET,
    Event.DEVICE_SETUP_SECRET_CREATED, Event.DEVICE_SETUP_SECRET_RETIRED,
    Event.VAULT_ROLLBACK_DETECTED,
    Event.HOST_DEVICE_ADDED, Event.HOST_DEVICE_REMOVED, Event.HOST_DEVICE_EVENTS_SUPPRESSED,
    Event.HOST_HOTPLUG_UNAVAILABLE,
    Event.SECLOG_ROTATED, Event.SECLOG_TAMPERING_DETECTED, Event.SECLOG_VERIFIED,
    # Never fed to the rules: they are alerts themselves, or a syslog notice.
    Event.SYSLOG_FORWARD_DROPPED, Event.ALERTS_TEST, Event.ALERTS_OVERFLOW,
    Event.ALERTS_TEST_SENT,
    Event.RECORDING_EXPORTED, Event.RECORDING_DELETED, Event.RECORDING_MODE_CHANGED,
    Event.RECORDING_VERIFIED, Event.RECORDING_SEGMENT_REFUSED, Event.RECORDING_RECOVERED,
    Event.RECORDING_UNAVAILABLE, Event.RECORDING_STOPPED, Event.RECORDING_WRITE_FAILED,
    Event.RECORDING_RESUMED, Event.RECORDING_SEGMENT_DROPPED,
    Event.RECORDING_RETENTION_DELETED, Event.RECORDING_RETENTION_FAILED,
    Event.ONVIF_DISCOVERY_STARTED, Event.ONVIF_SUBSCRIBED,
})
"""Events that are logged but raise no alert: every event is in a rule or here (a test
checks), so a new event name is a decision, not a silent gap."""

_RULES_OF: dict[str, tuple[Rule, ...]] = {
    event: tuple(rule for rule in RULES if event in rule.events) for event in Event
}


def classify(event: SecurityEvent, policy: RulePolicy) -> Trigger | None:
    """The trigger an event matches, or None (most events are not alerts)."""
    for rule in _RULES_OF.get(event.action, ()):
        if rule.when.holds(event):
            return rule.trigger(event, policy)
    return None


@dataclass
class Alert:
    """One message to the owner; ``to_dict`` is the webhook/MQTT body."""

    alert_id: str
    device_id: str
    model: str
    serial: str
    time: str  # ISO UTC of the newest event covered
    event: str  # the security event action, e.g. "auth.login"
    category: str
    severity: str
    title: str
    summary: str
    user: str | None = None
    source: str | None = None
    result: str = "ok"
    count: int = 1
    first_time: str = ""
    last_time: str = ""
    seq: int = 0  # security log seq of the newest event (0: not persisted)
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Alert:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


def bounded_details(details: dict[str, Any]) -> dict[str, Any]:
    """Keep alert bodies small: long values are replaced by a note of their size."""
    out: dict[str, Any] = {}
    for key, value in list(details.items())[:40]:
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        if len(text) > _MAX_DETAIL_CHARS:
            out[key] = f"[omitted {len(text)} characters]"
        else:
            out[key] = value
    return out


def _field(event: SecurityEvent, name: str) -> str:
    if name == "user":
        return event.user or ""
    if name == "source":
        return event.source or ""
    return str(event.details.get(name, ""))


@dataclass
class _Window:
    trigger: Trigger
    end: float
    fired: bool = False
    count: int = 0
    first: SecurityEvent | None = None
    last: SecurityEvent | None = None
    users: Counter[str] = field(default_factory=Counter)
    sources: Counter[str] = field(default_factory=Counter)

    def add(self, event: SecurityEvent) -> None:
        # A counted record (``auth.login_failures``) stands for that many failures.
        weight = event.details.get("count", 1)
        self.count += weight if isinstance(weight, int) and weight > 0 else 1
        self.first = self.first or event
        self.last = event
        if event.user:
            self.users[event.user] += 1
        if event.source:
            self.sources[event.source] += 1

    def reset(self) -> None:
        self.count, self.first, self.last = 0, None, None
        self.users, self.sources = Counter(), Counter()


class AlertRules:
    """Feed security events in; get the alerts to send out (and more on ``flush``)."""

    def __init__(self, device_id: str, model: str, serial: str,
                 policy: RulePolicy | None = None) -> None:
        self.device_id, self.model, self.serial = device_id, model, serial
        self.policy = policy or RulePolicy()
        self._windows: dict[tuple[str, ...], _Window] = {}

    def feed(self, event: SecurityEvent, now: float) -> list[Alert]:
        trigger = classify(event, self.policy)
        if trigger is None:
            return []
        out = self.flush(now)
        key = (trigger.name, *(_field(event, f) for f in trigger.key_fields))
        window = self._windows.get(key)
        if window is None:
            window = self._windows[key] = _Window(trigger, now + trigger.window_s)
        window.add(event)
        if not window.fired and window.count >= trigger.threshold:
            out.append(self._alert(window, continued=False))
            window.fired = True
            window.reset()
        return out

    def flush(self, now: float) -> list[Alert]:
        """Close expired windows: one summary alert for what they counted since firing."""
        out: list[Alert] = []
        for key, window in list(self._windows.items()):
            if now < window.end:
                continue
            if window.fired and window.count:
                out.append(self._alert(window, continued=True))
                window.reset()
                window.end = now + window.trigger.window_s  # a flood goes on: one per window
            else:
                del self._windows[key]
        return out

    def next_deadline(self) -> float | None:
        ends = [w.end for w in self._windows.values() if w.fired and w.count]
        return min(ends) if ends else None

    def pending_counts(self) -> int:
        return sum(w.count for w in self._windows.values() if w.fired)

    def oldest_pending_seq(self) -> int | None:
        """Log seq of the oldest event counted but not yet in an alert (for the watermark)."""
        seqs = [w.first.seq for w in self._windows.values()
                if w.count and w.first is not None and w.first.seq > 0]
        return min(seqs) if seqs else None

    def _alert(self, window: _Window, *, continued: bool) -> Alert:
        first, last = window.first, window.last
        assert first is not None and last is not None
        trigger = window.trigger
        user = window.users.most_common(1)[0][0] if window.users else None
        source = window.sources.most_common(1)[0][0] if window.sources else None
        details = bounded_details(last.details)
        kind = _TAMPER_KIND.get(last.action)
        if kind is not None and last.result != "ok":
            details["evidence_before"] = f"/api/v1/tamper/{kind}/before.jpg"
            details["evidence_after"] = f"/api/v1/tamper/{kind}/after.jpg"
        if window.count > 1:
            details["users"] = dict(window.users.most_common(_TOP))
            details["sources"] = dict(window.sources.most_common(_TOP))
            details["distinct_users"] = len(window.users)
            details["distinct_sources"] = len(window.sources)
        return make_alert(
            last, trigger, self.device_id, self.model, self.serial, count=window.count,
            first_time=first.ts, user=user, source=source, details=details,
            continued=continued,
        )


def make_alert(
    event: SecurityEvent, trigger: Trigger, device_id: str, model: str, serial: str, *,
    count: int = 1, first_time: str | None = None, user: str | None = None,
    source: str | None = None, details: dict[str, Any] | None = None, continued: bool = False,
) -> Alert:
    user = user if user is not None else event.user
    source = source if source is not None else event.source
    return Alert(
        alert_id=uuid.uuid4().hex, device_id=device_id, model=model, serial=serial,
        time=event.ts, event=event.action, category=trigger.category,
        severity=trigger.severity, title=trigger.title,
        summary=summarize(trigger, event, count, user, source, continued),
        user=user, source=source, result=event.result, count=count,
        first_time=first_time or event.ts, last_time=event.ts, seq=event.seq,
        details=details if details is not None else bounded_details(event.details),
    )


def summarize(trigger: Trigger, event: SecurityEvent, count: int, user: str | None,
              source: str | None, continued: bool) -> str:
    parts = [trigger.title]
    if count > 1:
        parts.append(f"x{count}" + (" more" if continued else ""))
    if event.action != trigger.title:
        parts.append(f"({event.action})")
    if user:
        parts.append(f"user {user}")
    if source:
        parts.append(f"from {source}")
    return " ".join(parts)


def wants(categories: frozenset[str] | set[str], alert: Alert) -> bool:
    """Does a channel with these (optional) categories receive this alert?"""
    return alert.category in REQUIRED_CATEGORIES or alert.category in categories
