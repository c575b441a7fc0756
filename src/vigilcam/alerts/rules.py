"""Which security events become alerts, and how floods fold into one alert with a count.

Pure logic (no IO, no clock of its own: callers pass ``now``). Serves IoT-1005-1 5.8.1.1
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
from dataclasses import asdict, dataclass, field
from typing import Any

from vigilcam.platform.seclog import SecurityEvent

# Categories a channel can subscribe to. REQUIRED ones are always on for every channel.
LOGIN, ACCESS, TAMPER, LOG, ALERTS, TEST, CONFIG, MOTION = (
    "login", "access", "tamper", "log", "alerts", "test", "config", "motion",
)
REQUIRED_CATEGORIES = frozenset({LOGIN, ACCESS, TAMPER, LOG, ALERTS, TEST})
OPTIONAL_CATEGORIES = frozenset({CONFIG, MOTION})
ALL_CATEGORIES = REQUIRED_CATEGORIES | OPTIONAL_CATEGORIES

_MAX_DETAIL_CHARS = 4096
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


def classify(event: SecurityEvent, policy: RulePolicy) -> Trigger | None:
    """The trigger an event matches, or None (most events are not alerts)."""
    a, p = event.action, policy
    if a in ("auth.login", "auth.login_failures") and event.result == "failure":
        return Trigger("login_failures", LOGIN, "warning", p.burst_threshold, p.burst_window_s,
                       (), "Failed logins")
    if a == "auth.lockout":
        return Trigger("lockout", LOGIN, "critical", 1, p.lockout_window_s,
                       ("kind", "user", "source"), "Login locked out")
    if a == "auth.login" and event.result == "ok" and not event.details.get("new_source"):
        # TAICS 5.5.1.1: every new login is an access event (a new source has its own warning).
        return Trigger("login_ok", ACCESS, "info", 1, p.repeat_window_s,
                       ("user", "source", "interface"), "New login")
    if a == "auth.new_source":
        return Trigger("new_source", LOGIN, "warning", 1, p.repeat_window_s,
                       ("user", "source"), "Login from a new source")
    if a == "video.view_started":
        return Trigger("view_started", ACCESS, "info", 1, p.repeat_window_s,
                       ("user", "source", "stream"), "New viewing session")
    if a.startswith("tamper."):
        cleared = event.result == "ok" or event.details.get("phase") == "cleared"
        return Trigger(a, TAMPER, "info" if cleared else "critical", 1, p.incident_window_s,
                       ("phase",), "Camera tampering cleared" if cleared else "Camera tampering")
    if a == "media.signal_lost":
        return Trigger(a, TAMPER, "critical", 1, p.incident_window_s, (), "Video signal lost")
    if a == "media.signal_restored":
        return Trigger(a, TAMPER, "info", 1, p.incident_window_s, (), "Video signal restored")
    if a == "device.unclean_shutdown":
        return Trigger(a, TAMPER, "critical", 1, p.incident_window_s, (),
                       "Power loss or crash (unclean shutdown)")
    if a == "code.verification_failed":  # TAICS 5.1.4.1: verified start refused
        return Trigger(a, TAMPER, "critical", 1, p.incident_window_s, (),
                       "Installed code modified: start refused")
    if a == "seclog.write_failed":
        return Trigger(a, LOG, "critical", 1, p.incident_window_s, (),
                       "Security log cannot be stored")
    if a == "seclog.torn_write_repaired":
        return Trigger(a, LOG, "warning", 1, p.incident_window_s, (),
                       "Security log repaired after a crash")
    if a == "alerts.channel_failing":
        return Trigger(a, ALERTS, "warning", 1, p.incident_window_s, ("channel_id",),
                       "Alert channel failing")
    if a == "alerts.corrupt_dropped":
        return Trigger(a, ALERTS, "warning", 1, p.incident_window_s, ("channel_id",),
                       "Damaged queued alert dropped")
    if a == "alerts.channel_recovered":
        return Trigger(a, ALERTS, "info", 1, p.incident_window_s, ("channel_id",),
                       "Alert channel recovered")
    if a == "motion.started":  # motion.ended closes the event for ONVIF; no second alert
        return Trigger(a, MOTION, "info", 1, p.incident_window_s, (), "Motion")
    if a.startswith(("user.", "config.", "update.", "privacy.", "auth.token")) or a in (
        "auth.password_changed", "alerts.channel_added", "alerts.channel_removed",
        "video.privacy_mode", "seclog.exported",
    ):
        return Trigger(a, CONFIG, "info", 1, p.repeat_window_s, ("user",), "Configuration change")
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
        if last.action.startswith("tamper.") and last.result != "ok":
            kind = last.action.split(".", 1)[1]
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
