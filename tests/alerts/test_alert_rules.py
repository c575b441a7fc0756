"""Pure rules: which events alert, flood aggregation with counts (IoT-1005-1 5.8.1.1, TAICS
5.5.1.1, 5.1.2.1, 5.2.8.2), the webhook signature (replay refused), URL validation, back-off."""

from __future__ import annotations

import random
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vigilcam.alerts.channels import parse_target
from vigilcam.alerts.outbox import backoff_delay
from vigilcam.alerts.rules import AlertRules, RulePolicy, classify, wants
from vigilcam.alerts.signature import SignatureError, sign, verify
from vigilcam.platform.seclog import SecurityEvent

DEV = "6f1c0e8e-1111-4222-8333-944455556666"


def ev(action: str, seq: int = 1, result: str = "ok", user: str | None = None,
       source: str | None = None, **details) -> SecurityEvent:
    return SecurityEvent(seq=seq, ts=f"2026-11-23T10:{seq // 60 % 60:02d}:{seq % 60:02d}.000Z", device_id=DEV,
                         action=action, result=result, user=user, source=source,
                         details=details)


def rules(**kw) -> AlertRules:
    return AlertRules(DEV, "vigilcam VC-1", "VC1-TEST", RulePolicy(**kw))


@pytest.mark.parametrize("action,result,category", [
    ("auth.lockout", "failure", "login"),
    ("auth.new_source", "ok", "login"),
    ("video.view_started", "ok", "access"),
    ("tamper.covered", "failure", "tamper"),
    ("tamper.defocused", "failure", "tamper"),
    ("media.signal_lost", "failure", "tamper"),
    ("device.unclean_shutdown", "error", "tamper"),
    ("seclog.write_failed", "error", "log"),
    ("user.added", "ok", "config"),
])
def test_required_and_optional_triggers_alert_at_once(action, result, category):
    r = rules()
    out = r.feed(ev(action, result=result, user="u", source="192.0.2.1"), now=0.0)
    assert len(out) == 1
    a = out[0]
    assert (a.category, a.event, a.device_id, a.user, a.source) == (category, action, DEV, "u",
                                                                    "192.0.2.1")
    assert a.model == "vigilcam VC-1" and a.serial == "VC1-TEST" and a.time and a.alert_id


@pytest.mark.parametrize("action,result", [
    ("auth.logout", "ok"), ("device.started", "ok"),
    ("video.view_ended", "ok"), ("seclog.verified", "ok"), ("alerts.test_sent", "ok"),
])
def test_routine_events_do_not_alert(action, result):
    assert classify(ev(action, result=result), RulePolicy()) is None


def test_a_typo_is_not_a_burst_but_three_failures_are():
    r = rules(burst_threshold=3, burst_window_s=60)
    fail = lambda n: ev("auth.login", seq=n, result="failure", user="admin", source="10.0.0.1")  # noqa: E731
    assert r.feed(fail(1), 0.0) == [] and r.feed(fail(2), 1.0) == []
    out = r.feed(fail(3), 2.0)
    assert len(out) == 1 and out[0].count == 3 and out[0].severity == "warning"
    # the window expires with nothing more: no summary, state is cleared
    assert r.flush(100.0) == [] and r.next_deadline() is None


def test_300_failures_become_two_alerts_whose_counts_add_up():
    r = rules(burst_threshold=3, burst_window_s=60)
    out = []
    for n in range(300):
        out += r.feed(ev("auth.login", seq=n + 1, result="failure", user=f"u{n % 4}",
                         source=f"10.0.{n % 30}.1"), now=n * 0.05)
    assert len(out) == 1 and out[0].count == 3
    assert r.oldest_pending_seq() == 4
    out += r.flush(1000.0)
    assert len(out) == 2 and sum(a.count for a in out) == 300
    assert out[1].details["distinct_sources"] == 30 and out[1].first_time <= out[1].last_time
    assert "x297 more" in out[1].summary
    assert r.oldest_pending_seq() is None


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=9.99, allow_nan=False), max_size=400))
def test_no_failure_in_a_burst_is_lost(times):
    """Failures inside one window: none reported below the threshold, else all of them in at
    most two alerts (the burst alert and one summary)."""
    r = rules(burst_threshold=3, burst_window_s=10)
    out = []
    for n, t in enumerate(sorted(times)):
        out += r.feed(ev("auth.login", seq=n + 1, result="failure", source="s"), now=t)
    out += r.flush(float("inf"))
    total = sum(a.count for a in out)
    assert total == (len(times) if len(times) >= 3 else 0)
    assert len(out) <= 2


def test_repeat_views_are_counted_not_repeated():
    r = rules(repeat_window_s=10)
    first = r.feed(ev("video.view_started", 1, user="bob", source="1.2.3.4"), 0.0)
    assert len(first) == 1
    assert r.feed(ev("video.view_started", 2, user="bob", source="1.2.3.4"), 1.0) == []
    other = r.feed(ev("video.view_started", 3, user="eve", source="5.6.7.8"), 1.5)
    assert len(other) == 1 and other[0].user == "eve"  # a different viewer alerts at once
    summary = r.flush(11.0)
    assert len(summary) == 1 and summary[0].count == 1 and summary[0].user == "bob"


def test_lockouts_alert_per_source():
    r = rules()
    a = r.feed(ev("auth.lockout", 1, "failure", "admin", "10.0.0.1", kind="source_locked"), 0)
    b = r.feed(ev("auth.lockout", 2, "failure", "admin", "10.0.0.2", kind="source_locked"), 0)
    assert len(a) == len(b) == 1 and a[0].severity == "critical"


def test_optional_categories():
    r = rules()
    cfg = r.feed(ev("user.added", user="admin"), 0.0)[0]
    login = r.feed(ev("auth.new_source", user="a", source="s"), 0.0)[0]
    assert not wants(frozenset(), cfg) and wants(frozenset({"config"}), cfg)
    assert wants(frozenset(), login)


def test_big_details_are_bounded():
    a = rules().feed(ev("tamper.covered", thumbnail="x" * 100_000), 0.0)[0]
    assert len(a.to_json()) < 10_000 and "omitted" in a.details["thumbnail"]


# -- signature ------------------------------------------------------------------------------
def test_signature_roundtrip_and_replay_window():
    key, body, now = b"whsec_k", b'{"a":1}', int(time.time())
    header = sign(key, body, now)
    assert header.startswith(f"t={now},v1=")
    assert verify(key, header, body, now + 10) == now
    with pytest.raises(SignatureError, match="stale"):
        verify(key, header, body, now + 301)
    with pytest.raises(SignatureError, match="match"):
        verify(key, header, body + b" ", now)
    with pytest.raises(SignatureError, match="match"):
        verify(b"other", header, body, now)
    forged_time = header.replace(f"t={now}", f"t={now + 5}")
    with pytest.raises(SignatureError, match="match"):
        verify(key, forged_time, body, now)
    for bad in (None, "", "garbage", "t=x,v1=y", "v1=abc"):
        with pytest.raises(SignatureError):
            verify(key, bad, body, now)


# -- targets --------------------------------------------------------------------------------
def test_targets_are_normalised_without_credentials():
    t = parse_target("email", "smtps://alerts%40cam@mail.example.org?to=a@b.org,c@d.org")
    assert t.port == 465 and t.username == "alerts@cam" and t.extra["to"] == ["a@b.org", "c@d.org"]
    assert t.extra["mode"] == "tls"
    t = parse_target("email", "smtp+starttls://mail.example.org?to=a@b.org")
    assert t.port == 587 and t.extra["mode"] == "starttls" and t.username is None
    t = parse_target("mqtt", "mqtts://cam@[::1]/home/cam")
    assert (t.host, t.port, t.path) == ("::1", 8883, "home/cam")
    assert parse_target("ntfy", "https://ntfy.sh/my-cam").url == "https://ntfy.sh/my-cam"
    with pytest.raises(ValueError, match="ntfy URL"):
        parse_target("ntfy", "https://ntfy.sh/a/b")
    with pytest.raises(ValueError, match="port"):
        parse_target("webhook", "https://h:99999/x")
    with pytest.raises(ValueError, match="unknown channel kind"):
        parse_target("pager", "https://h/x")


def test_backoff_grows_exponentially_to_a_cap():
    rng = random.Random(1)
    delays = [backoff_delay(n, base=1, cap=300, rng=rng) for n in range(1, 14)]
    assert 0.8 <= delays[0] <= 1.2 and 1.6 <= delays[1] <= 2.4 and 3.2 <= delays[2] <= 4.8
    assert all(d <= 360 for d in delays) and delays[-1] >= 240


def test_every_new_login_is_an_access_alert_but_a_new_source_only_warns_once() -> None:
    """TAICS 5.5.1.1: a login is an access event; from a new source it is the warning alone."""
    from vigilcam.alerts.rules import AlertRules, RulePolicy
    from vigilcam.platform.seclog import SecurityEvent

    rules = AlertRules("dev", "VC-1", "S1", RulePolicy(repeat_window_s=10))

    def ev(seq: int, action: str, **details) -> SecurityEvent:
        return SecurityEvent(seq, "2026-11-23T10:00:00Z", "dev", action, "ok", "admin",
                             "192.0.2.5", details)

    first = rules.feed(ev(1, "auth.login", interface="web", new_source=True), 0.0)
    first += rules.feed(ev(2, "auth.new_source", interface="web"), 0.0)
    assert [(a.event, a.severity) for a in first] == [("auth.new_source", "warning")]
    again = rules.feed(ev(3, "auth.login", interface="web", new_source=False), 20.0)
    assert [(a.event, a.category, a.title) for a in again] == [
        ("auth.login", "access", "New login")]
    assert again[0].user == "admin" and again[0].source == "192.0.2.5"
    rtsp = rules.feed(ev(4, "auth.login", interface="rtsp", new_source=False), 21.0)
    assert len(rtsp) == 1  # another interface is another access
