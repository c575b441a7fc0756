"""Pull points without sockets: bounded per user, expiring, PullMessages held open until a
message or the timeout, MessageLimit honoured, a subscription usable only by its owner, and
security events recorded on another thread handed safely to the event loop (IoT-1005-1
5.6.1.1, TAICS 5.1.2.1)."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from vigilcam.onvif.pullpoint import EventHub, SubscriptionError


async def test_bounds_expiry_owner_and_message_limit():
    now = [1000.0]
    hub = EventHub(per_user=2, clock=lambda: now[0])
    hub.bind(asyncio.get_running_loop())
    a = hub.create("ha", 60)
    hub.create("ha", 60)
    with pytest.raises(SubscriptionError) as caught:
        hub.create("ha", 60)
    assert caught.value.kind == "limit"
    hub.create("nvr", 60)  # another user has their own share
    with pytest.raises(SubscriptionError) as caught:
        hub.get(a.sub_id, "nvr")
    assert caught.value.kind == "forbidden"
    first = await hub.pull(a, 0, 2)
    assert [n.operation for n in first] == ["Initialized"] * 2
    assert len(await hub.pull(a, 0, 100)) == 3
    now[0] += 61
    with pytest.raises(SubscriptionError) as caught:
        hub.get(a.sub_id, "ha")
    assert caught.value.kind == "unknown"
    hub.create("ha", 60)  # expired ones no longer count


async def test_pull_waits_for_an_event_recorded_on_another_thread():
    hub = EventHub(per_user=4)
    hub.bind(asyncio.get_running_loop())
    sub = hub.create("ha", 60)
    await hub.pull(sub, 0, 100)
    t0 = time.monotonic()
    assert await hub.pull(sub, 0.3, 100) == []
    assert time.monotonic() - t0 >= 0.29
    threading.Timer(0.2, hub.offer, ("tamper.defocused", {"phase": "raised"})).start()
    t0 = time.monotonic()
    got = await hub.pull(sub, 10, 100)
    assert 0.15 < time.monotonic() - t0 < 5
    assert [(n.topic.data_item, n.value, n.operation) for n in got] == [
        ("State", True, "Changed"), ("IsTamper", True, "Changed")]
    hub.offer("auth.login", {})  # not a topic: nothing queued
    await asyncio.sleep(0.05)
    assert await hub.pull(sub, 0, 100) == []
    hub.synchronize(sub)
    again = await hub.pull(sub, 0, 100)
    assert {(n.topic.data_item, n.value) for n in again if n.topic.data_item != "IsMotion"} \
        == {("IsTamper", True), ("State", True), ("State", False)}
