"""Alert latency per channel: security event recorded -> alert received by a real peer.

Owns the alert latency numbers (IoT-1005-1 5.8.1.1; TAICS 5.5.1.1 "active alert"). Each
channel gets N new-viewer events one after another; the peer stamps receipt. Peers are the
same loopback ones the tests use: HTTPS webhook (signature checked), aiosmtpd with STARTTLS
and AUTH, Mosquitto over TLS (QoS 1), an HTTPS stand-in for ntfy, and the same for apprise's
``jsons://`` form. The reference, measured in
the same run, is the bare channel send (same sender, same peer, no rules/outbox/worker), so
the ratio shows what the persistent outbox path adds.

Run: ``.venv/bin/python benchmarks/alerts_latency.py [--n 30]`` (about 30 s; mosquitto needed).
"""

from __future__ import annotations

import argparse
import asyncio
import email
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.alerts.peers import (  # noqa: E402
    MosquittoPeer,
    SmtpPeer,
    WebhookReceiver,
    make_ca,
    random_password,
)
from vigilcam.alerts.rules import RulePolicy  # noqa: E402
from vigilcam.alerts.service import AlertService  # noqa: E402
from vigilcam.app import open_device, provision  # noqa: E402
from vigilcam.platform.config import Settings  # noqa: E402
from vigilcam.platform.paths import DataPaths  # noqa: E402
from vigilcam.platform.tls import client_context  # noqa: E402


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def main(n: int) -> None:
    import logging

    import aiomqtt

    logging.getLogger("mail.log").setLevel(logging.ERROR)  # aiosmtpd's deprecation chatter
    tmp = Path(tempfile.mkdtemp(prefix="vc-alert-bench-"))
    ca = make_ca(tmp / "ca")
    paths = DataPaths(tmp / "data")
    provision(paths, Settings())
    device = open_device(paths, Settings())
    service = AlertService(device, policy=RulePolicy(repeat_window_s=0.01), poll_s=0.5)
    await service.start()

    arrivals: dict[str, dict[str, float]] = {}  # channel -> user -> receipt time

    def stamp(kind: str, body: dict) -> None:
        if body.get("event") in ("video.view_started", "alerts.test"):
            arrivals.setdefault(kind, {})[body.get("user") or body["alert_id"]] = time.time()

    hook = await WebhookReceiver(ca).start()
    _, key = service.add_channel("webhook", hook.url, ca_pem=ca.ca_pem, allow_local=True)
    hook.key = key.encode()
    ntfy = await WebhookReceiver(ca).start()
    service.add_channel("ntfy", f"https://127.0.0.1:{ntfy.port}/bench", ca_pem=ca.ca_pem, allow_local=True)
    os.environ["REQUESTS_CA_BUNDLE"] = str(ca.ca_file)  # apprise's client trusts the test CA
    push = await WebhookReceiver(ca).start()
    service.add_channel("apprise", f"jsons://127.0.0.1:{push.port}/bench", allow_local=True)
    smtp_pw = random_password()
    smtp = SmtpPeer(ca, implicit=False, user="cam", password=smtp_pw).start()
    service.add_channel("email", f"smtp+starttls://cam@127.0.0.1:{smtp.port}?to=o@example.org",
                        password=smtp_pw, ca_pem=ca.ca_pem, allow_local=True)
    mqtt_pw = random_password()
    broker = MosquittoPeer(ca, tmp, "cam", mqtt_pw).start()
    service.add_channel("mqtt", f"mqtts://cam@127.0.0.1:{broker.port}/bench",
                        password=mqtt_pw, ca_pem=ca.ca_pem, allow_local=True)

    async def poll_peers() -> None:
        seen_hook = seen_ntfy = seen_mail = seen_push = 0
        while True:
            for r in hook.received[seen_hook:]:
                stamp("webhook", r.json())
            seen_hook = len(hook.received)
            for r in ntfy.received[seen_ntfy:]:
                stamp("ntfy", _ntfy_fields(r.body.decode()))
            seen_ntfy = len(ntfy.received)
            for r in push.received[seen_push:]:
                stamp("apprise", _ntfy_fields(r.json()["message"]))
            seen_push = len(push.received)
            for _f, _r, raw in smtp.messages[seen_mail:]:
                text = email.message_from_bytes(raw).get_payload(decode=True).decode()
                stamp("email", json.loads(text.strip().splitlines()[-1]))
            seen_mail = len(smtp.messages)
            await asyncio.sleep(0.001)

    async with aiomqtt.Client("127.0.0.1", broker.port, username="cam", password=mqtt_pw,
                              tls_context=client_context(cadata=ca.ca_pem),
                              identifier="bench-sub") as sub:
        await sub.subscribe("bench", qos=1)

        async def mqtt_rx() -> None:
            async for message in sub.messages:
                stamp("mqtt", json.loads(message.payload))

        tasks = [asyncio.create_task(poll_peers()), asyncio.create_task(mqtt_rx())]
        kinds = ["webhook", "email", "mqtt", "ntfy", "apprise"]
        sent: dict[str, float] = {}
        for i in range(n):  # one event at a time, every channel must have it before the next
            user = f"viewer{i:03d}"
            sent[user] = time.time()
            device.record("video.view_started", user=user, source="192.0.2.10", stream="main")
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not all(
                    user in arrivals.get(k, {}) for k in kinds):
                await asyncio.sleep(0.001)
            if os.environ.get("BENCH_DEBUG"):
                print(user, {k: user in arrivals.get(k, {}) for k in kinds}, flush=True)
        # Reference: the bare send through the same sender to the same peer.
        direct: dict[str, list[float]] = {k: [] for k in kinds}
        rows = {r.kind: r for r in service.outbox.channels()}
        for kind in kinds:
            sender = service.manager.sender_for(rows[kind])
            for _ in range(n):
                alert = service.manager.test_alert(None, None)
                t0 = time.time()
                await sender.send(alert)
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline and alert.alert_id not in arrivals.get(
                        kind, {}):
                    await asyncio.sleep(0.001)
                t1 = arrivals.get(kind, {}).get(alert.alert_id, time.time())
                direct[kind].append((t1 - t0) * 1000)
            await sender.close()
        for t in tasks:
            t.cancel()

    print(f"Alert latency, event recorded -> peer received, n={n} per channel "
          f"(loopback, TLS, {os.cpu_count()} CPUs)")
    print(f"{'channel':<8} {'p50 ms':>8} {'p95 ms':>8} {'bare send p50':>14} "
          f"{'bare p95':>9} {'ratio p50':>10} {'lost':>5}")
    for kind in kinds:
        got = [(arrivals[kind][u] - sent[u]) * 1000 for u in sent if u in arrivals.get(kind, {})]
        lost = len(sent) - len(got)
        if not got:
            print(f"{kind:<8} {'-':>8} {'-':>8}  (nothing arrived)")
            continue
        p50, p95 = statistics.median(got), pct(got, 0.95)
        d50, d95 = statistics.median(direct[kind]), pct(direct[kind], 0.95)
        print(f"{kind:<8} {p50:8.1f} {p95:8.1f} {d50:14.1f} {d95:9.1f} {p50 / d50:10.2f} "
              f"{lost:5d}")
    await service.stop()
    service.close()
    await hook.stop()
    await ntfy.stop()
    await push.stop()
    smtp.stop()
    broker.stop()
    device.close()


def _ntfy_fields(text: str) -> dict:
    """ntfy and apprise bodies are the plain-text rendering: pick the user and alert ID."""
    fields = {"event": "video.view_started"}
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name == "user" and value.strip() != "-":
            fields["user"] = value.strip()
        if name == "alert ID":
            fields["alert_id"] = value.strip()
    return fields


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=30)
    asyncio.run(main(max(3, min(parser.parse_args().n, 500))))
