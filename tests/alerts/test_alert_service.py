"""The running AlertService against a real HTTPS receiver: flood aggregation, every required
trigger, in-order retry with back-off, the channel-failing warning, catch-up after downtime,
optional categories per channel (IoT-1005-1 5.8.1.1; TAICS 5.5.1.1, 5.1.2.1, 5.2.8.2)."""

from __future__ import annotations

import asyncio
import time

from tests.alerts.conftest import FAST
from tests.alerts.peers import WebhookReceiver
from vigilcam.alerts.rules import RulePolicy
from vigilcam.alerts.service import AlertService
from vigilcam.app import mark_running


async def _until(predicate, timeout: float = 15.0, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(step)
    return predicate()


async def _receiver(ca, service) -> tuple[WebhookReceiver, str]:
    rx = await WebhookReceiver(ca).start()
    cid, key = service.add_channel("webhook", rx.url, ca_pem=ca.ca_pem, allow_local=True)
    rx.key = key.encode()
    return rx, cid


def _bodies(rx, event=None):
    out = [r.json() for r in rx.received]
    return [b for b in out if event is None or b["event"] == event]


async def test_300_failed_logins_make_few_alerts_with_the_full_count(alert_device, ca):
    svc = AlertService(alert_device, policy=RulePolicy(burst_window_s=1.5), poll_s=0.1)
    await svc.start()
    rx, _ = await _receiver(ca, svc)
    try:
        for i in range(300):
            alert_device.record("auth.login", result="failure", user=f"user{i % 7}",
                                source=f"203.0.113.{i % 50}", interface="web")
        ok = await _until(lambda: sum(b["count"] for b in _bodies(rx, "auth.login")) >= 300,
                          timeout=10)
        alerts = _bodies(rx, "auth.login")
        assert ok, alerts
        assert sum(b["count"] for b in alerts) == 300
        assert 1 <= len(alerts) <= 3, [b["count"] for b in alerts]
        assert alerts[0]["count"] == 3  # the burst alert goes out at once
        last = alerts[-1]
        assert last["details"]["distinct_sources"] == 50
        assert last["details"]["distinct_users"] == 7
        assert last["device_id"] == alert_device.identity.device_id
    finally:
        await svc.stop()
        svc.close()
        await rx.stop()


async def test_every_required_trigger_reaches_the_owner(service, alert_device, ca, tmp_path):
    rx, _ = await _receiver(ca, service)
    try:
        alert_device.record("video.view_started", user="bob", source="192.0.2.4", kind="live",
                            stream="main")
        alert_device.record("tamper.covered", result="failure", score=0.93)
        alert_device.record("media.signal_lost", result="failure", error="EOF", attempt=1)
        alert_device.record("auth.new_source", user="admin", source="192.0.2.9",
                            interface="web")
        alert_device.record("auth.lockout", result="failure", user="admin", source="192.0.2.66",
                            kind="source_locked")
        mark_running(alert_device)
        mark_running(alert_device)  # the marker was still there: power loss / kill -9
        # A login from a known source is an access alert (TAICS 5.5.1.1) ...
        alert_device.record("auth.login", user="carol", source="192.0.2.3", interface="web",
                            new_source=False)
        # ... not alerts: the login that the new-source warning covers, and a log export
        # (config category is opt-in).
        alert_device.record("auth.login", user="admin", source="192.0.2.9", interface="web",
                            new_source=True)
        alert_device.record("seclog.exported", user="admin", format="csv")
        wanted = {"video.view_started", "tamper.covered", "media.signal_lost",
                  "auth.new_source", "auth.lockout", "device.unclean_shutdown", "auth.login"}
        assert await _until(lambda: wanted <= {b["event"] for b in _bodies(rx)})
        await asyncio.sleep(0.3)
        got = _bodies(rx)
        assert {b["event"] for b in got} == wanted
        view = _bodies(rx, "video.view_started")[0]
        assert (view["user"], view["source"], view["category"]) == ("bob", "192.0.2.4", "access")
        for body in got:
            assert body["device_id"] == alert_device.identity.device_id
            assert body["model"] and body["serial"] and body["time"]
    finally:
        await rx.stop()


async def test_channel_down_then_up_delivers_in_order_once_each(service, alert_device, ca):
    rx, cid = await _receiver(ca, service)
    rx.fail_with = 503
    try:
        for n in range(4):
            alert_device.record("video.view_started", user=f"viewer{n}", source=f"10.0.0.{n}",
                                stream="main")
        assert await _until(lambda: service.outbox.pending(cid)
                            and service.outbox.pending(cid)[0].attempts >= 3)
        status = {c["id"]: c for c in service.list_channels()}[cid]
        assert status["pending"] == 4 and "503" in status["last_error"]
        assert status["last_success"] is None
        rx.fail_with = None
        assert await _until(lambda: len(rx.received) >= 4)
        await asyncio.sleep(0.5)
        users = [b["user"] for b in _bodies(rx)]
        assert users == ["viewer0", "viewer1", "viewer2", "viewer3"]
        assert len({b["alert_id"] for b in _bodies(rx)}) == 4
        assert service.outbox.pending(cid) == []
    finally:
        await rx.stop()


async def test_long_failing_channel_raises_its_own_warning(alert_device, ca):
    svc = AlertService(alert_device, policy=FAST, failing_after_s=0.6, backoff_base_s=0.1,
                       backoff_cap_s=0.3, poll_s=0.1)
    await svc.start()
    bad, bad_id = await _receiver(ca, svc)
    good, good_id = await _receiver(ca, svc)
    bad.fail_with = 500
    try:
        alert_device.record("tamper.moved", result="failure")
        assert await _until(lambda: {c["id"]: c for c in svc.list_channels()}[bad_id]["failing"])
        # The flag is stored before the event is logged: wait for the event, not the flag.
        assert await _until(lambda: alert_device.seclog.query(action="alerts.channel_failing"))
        logged = alert_device.seclog.query(action="alerts.channel_failing")
        assert logged[0].details["channel_id"] == bad_id
        # The other channel is told that this one is failing.
        assert await _until(lambda: _bodies(good, "alerts.channel_failing"))
        warn = _bodies(good, "alerts.channel_failing")[0]
        assert warn["details"]["channel_id"] == bad_id and warn["severity"] == "warning"
        bad.fail_with = None
        assert await _until(lambda: _bodies(bad, "tamper.moved"))
        assert await _until(lambda: not {c["id"]: c for c in svc.list_channels()}[bad_id]["failing"])
        assert await _until(lambda: alert_device.seclog.query(action="alerts.channel_recovered"))
        # The failing channel is not sent its own failing warning.
        assert not _bodies(bad, "alerts.channel_failing")
    finally:
        await svc.stop()
        svc.close()
        await bad.stop()
        await good.stop()


async def test_events_while_service_down_are_alerted_at_next_start(alert_device, ca):
    first = AlertService(alert_device, policy=FAST, poll_s=0.1)
    await first.start()
    rx, _ = await _receiver(ca, first)
    await first.stop()
    first.close()
    alert_device.seclog._subscribers.clear()  # the first service is gone for good
    alert_device.record("video.view_started", user="night-viewer", source="10.9.9.9",
                        stream="main")
    second = AlertService(alert_device, policy=FAST, poll_s=0.1)
    await second.start()
    try:
        assert await _until(lambda: _bodies(rx, "video.view_started"))
        assert _bodies(rx, "video.view_started")[0]["user"] == "night-viewer"
    finally:
        await second.stop()
        second.close()
        await rx.stop()


async def test_optional_categories_per_channel(service, alert_device, ca):
    plain, _ = await _receiver(ca, service)
    rx = await WebhookReceiver(ca).start()
    _, key = service.add_channel("webhook", rx.url, ca_pem=ca.ca_pem, categories=["config"], allow_local=True)
    rx.key = key.encode()
    try:
        alert_device.record("user.added", user="admin", source="192.0.2.1", target="carol",
                            role="viewer")
        alert_device.record("video.view_started", user="carol", source="192.0.2.2")
        ok = await _until(lambda: _bodies(rx, "user.added") and _bodies(plain,
                                                                        "video.view_started"))
        assert ok, (rx.rejected, [c["pending"] for c in service.list_channels()], [c["last_error"] for c in service.list_channels()], service.no_channel_alerts)
        await asyncio.sleep(0.3)
        assert not _bodies(plain, "user.added")
        assert _bodies(rx, "video.view_started")  # required categories reach every channel
    finally:
        await plain.stop()
        await rx.stop()


async def test_test_alert_and_status(service, alert_device, ca):
    rx, cid = await _receiver(ca, service)
    try:
        results = await service.send_test()
        assert results[0]["ok"] and results[0]["channel_id"] == cid
        body = _bodies(rx, "alerts.test")[0]
        assert body["device_id"] == alert_device.identity.device_id
        assert {c["id"]: c for c in service.list_channels()}[cid]["last_success"]
        assert alert_device.seclog.query(action="alerts.test_sent")
    finally:
        await rx.stop()


async def test_a_damaged_outbox_row_does_not_block_the_queue(service, alert_device, ca):
    rx = await WebhookReceiver(ca).start()
    rx.fail_with = 503
    cid, key = service.add_channel("webhook", rx.url, ca_pem=ca.ca_pem, allow_local=True)
    rx.key = key.encode()
    try:
        service.outbox.enqueue("garbage-row", "{not json", [cid], time.time())
        alert_device.record("tamper.covered", result="failure")
        rx.fail_with = None
        assert await _until(lambda: _bodies(rx, "tamper.covered"))
        assert alert_device.seclog.query(action="alerts.corrupt_dropped")
        assert await _until(lambda: _bodies(rx, "alerts.corrupt_dropped"))
    finally:
        await rx.stop()


async def test_channel_added_by_another_process_is_used(service, alert_device, ca):
    """`vigilcam alerts add` runs in its own process while the service runs: the service sees
    the new row within a poll and finds its secret in the vault written by the other."""
    from tests.alerts.conftest import alert_settings
    from vigilcam.alerts.manager import ChannelManager
    from vigilcam.alerts.outbox import Outbox
    from vigilcam.app import open_device

    other = open_device(alert_device.paths, alert_settings())  # its own vault and log handles
    other_outbox = Outbox(alert_device.paths.alerts_db)
    rx = await WebhookReceiver(ca).start()
    try:
        _, key = ChannelManager(other, other_outbox).add_channel("webhook", rx.url,
                                                                 ca_pem=ca.ca_pem, allow_local=True)
        rx.key = key.encode()
        await asyncio.sleep(service.poll_s * 3)
        alert_device.record("video.view_started", user="late", source="10.2.2.2")
        assert await _until(lambda: _bodies(rx, "video.view_started"))
        assert rx.rejected == []
    finally:
        other_outbox.close()
        other.close()
        await rx.stop()


async def test_events_written_by_a_cli_run_beside_the_service_are_alerted_once(
        service, alert_device, ca):
    """A `vigilcam user add` while the service runs is a user change the owner hears about
    (optional config category), once, though the CLI process wrote it to the shared log."""
    from tests.support import run_cli

    rx = await WebhookReceiver(ca).start()
    try:
        cid, key = service.add_channel("webhook", rx.url, ca_pem=ca.ca_pem,
                                       categories=["config"], allow_local=True)
        rx.key = key.encode()
        result = await asyncio.to_thread(
            run_cli, "user", "add", "carol", "--role", "viewer",
            "--data-dir", str(alert_device.paths.root))
        assert result.returncode == 0, result.stderr
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not any(
                r.json()["event"] == "user.added" for r in rx.received):
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)  # a second poll must not send it again
        created = [r.json() for r in rx.received if r.json()["event"] == "user.added"]
        assert len(created) == 1, [r.json()["event"] for r in rx.received]
        assert created[0]["device_id"] == alert_device.identity.device_id
        # the service's own events are not doubled by the file tail
        own = [r.json()["event"] for r in rx.received].count("alerts.channel_added")
        assert own <= 1
    finally:
        await rx.stop()


async def test_motion_alerts_only_reach_channels_that_ask_for_them(service, alert_device, ca):
    """Motion is an optional category: a channel that asked gets it, another does not."""
    wants_motion = await WebhookReceiver(ca).start()
    plain = await WebhookReceiver(ca).start()
    try:
        _, k1 = service.add_channel("webhook", wants_motion.url, ca_pem=ca.ca_pem,
                                    categories=["motion"], allow_local=True)
        _, k2 = service.add_channel("webhook", plain.url, ca_pem=ca.ca_pem, allow_local=True)
        wants_motion.key, plain.key = k1.encode(), k2.encode()
        alert_device.record("motion.started", zones=["door"], score=0.2)
        alert_device.record("video.view_started", user="bob", source="192.0.2.4",
                            stream="main")
        await wants_motion.wait_for(2)
        await plain.wait_for(1)
        await asyncio.sleep(0.5)
        got = sorted(r.json()["event"] for r in wants_motion.received)
        assert got == ["motion.started", "video.view_started"]
        motion = next(r.json() for r in wants_motion.received
                      if r.json()["event"] == "motion.started")
        assert motion["details"]["zones"] == ["door"]
        assert [r.json()["event"] for r in plain.received] == ["video.view_started"]
    finally:
        await wants_motion.stop()
        await plain.stop()
