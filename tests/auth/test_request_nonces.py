"""IoT-1005-1 5.1.1.3: a spent request nonce stays spent for its session, whatever others do."""

from __future__ import annotations


def test_one_sessions_traffic_does_not_evict_anothers_nonces(device) -> None:
    store = device.sessions
    victim_nonce = "victim-nonce-" + "v" * 16
    assert store.consume_nonce("victim-session", victim_nonce)
    for i in range(70_000):  # more than any shared table held
        assert store.consume_nonce("attacker-session", f"attacker-{i:020d}")
    assert not store.consume_nonce("victim-session", victim_nonce)  # the replay is refused


def test_each_nonce_once_per_session(device) -> None:
    store = device.sessions
    assert store.consume_nonce("s1", "n" * 20) and not store.consume_nonce("s1", "n" * 20)
    assert store.consume_nonce("s2", "n" * 20)  # another session's own nonce space
    assert not store.consume_nonce("s1", "short")
