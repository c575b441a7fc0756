"""One-time passwords, the one procedure the web API and the CLI both call (IoT-1005-1
5.1.3.1, 5.1.2.1; TAICS 5.2.8.1)."""

from __future__ import annotations

from vigilcam.auth import one_time
from vigilcam.auth.permissions import Role


def test_add_then_reset_issues_fresh_must_change_passwords_ends_sessions_and_records(
        device) -> None:
    user, first = one_time.add_user(device.accounts, device.record, "olga", Role.VIEWER,
                                    by="admin", source="192.0.2.10")
    assert user.must_change and device.hasher.verify(device.accounts.stored_hash("olga"), first)
    device.sessions.create("olga", "192.0.2.11", restricted=False)
    for i in range(device.settings.throttle.account_hard_cap):  # a guess from each of many
        device.throttle.failure("olga", f"10.9.{i // 250}.{i % 250 + 1}")
    assert device.throttle.check("olga", "192.0.2.12").reason == "account_capped"

    second = one_time.reset_password(device.accounts, device.sessions, device.throttle,
                                     device.record, "olga", by="cli", source="cli")
    assert second != first
    stored = device.accounts.stored_hash("olga")
    assert device.hasher.verify(stored, second) and not device.hasher.verify(stored, first)
    assert device.accounts.get("olga").must_change
    assert device.sessions.list_for("olga") == []
    assert device.throttle.check("olga", "192.0.2.12").allowed
    events = [(e.action, e.user, e.details.get("target"))
              for e in reversed(device.seclog.query(action="user"))]
    assert ("user.added", "admin", "olga") in events
    assert ("user.password_reset", "cli", "olga") in events
