"""Each real channel peer receives a brute-force alert carrying the device ID (IoT-1005-1
5.8.1.1): HTTPS webhook (signature checked, replay refused), SMTP with STARTTLS required and
with implicit TLS (AUTH), Mosquitto over TLS (QoS 1, password file), ntfy-style HTTPS push."""

from __future__ import annotations

import asyncio
import json
import ssl
import time

import httpx
import pytest

from tests.alerts.conftest import brute_force
from tests.alerts.peers import MosquittoPeer, SmtpPeer, WebhookReceiver, random_password
from vigilcam.alerts.signature import HEADER, sign
from vigilcam.platform.tls import client_context


def _login_alerts(bodies: list[dict]) -> list[dict]:
    return [b for b in bodies if b["category"] == "login"]


async def test_webhook_receives_signed_bruteforce_alert(service, alert_device, ca):
    rx = await WebhookReceiver(ca).start()
    try:
        cid, key = service.add_channel("webhook", rx.url, ca_pem=ca.ca_pem, allow_local=True)
        assert key and key.startswith("whsec_")
        rx.key = key.encode()
        await brute_force(alert_device, attempts=6)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not {"auth.login", "auth.lockout"} <= {
                r.json()["event"] for r in rx.received}:
            await asyncio.sleep(0.05)
        bodies = [r.json() for r in rx.received]
        login = _login_alerts(bodies)
        events = {b["event"] for b in login}
        assert {"auth.login", "auth.lockout"} <= events, bodies
        burst = next(b for b in login if b["event"] == "auth.login")
        assert burst["device_id"] == alert_device.identity.device_id
        assert burst["serial"] == alert_device.identity.serial
        assert burst["model"] and burst["time"].endswith("Z")
        assert burst["user"] == "admin" and burst["source"] == "198.51.100.7"
        assert burst["count"] >= 3
        assert rx.received[0].headers["x-vigilcam-device-id"] == alert_device.identity.device_id
        assert not rx.rejected
        # A receiver refuses the same request replayed, and a stale or forged signature.
        first = rx.received[0]
        ctx = client_context(cadata=ca.ca_pem)
        async with httpx.AsyncClient(verify=ctx) as client:
            replay = await client.post(rx.url, content=first.body, headers={
                HEADER: first.headers[HEADER.lower()], "content-type": "application/json"})
            assert replay.status_code == 409
            stale = await client.post(rx.url, content=first.body, headers={
                HEADER: sign(key.encode(), first.body, int(time.time()) - 3600)})
            assert stale.status_code == 401
            forged = await client.post(rx.url, content=first.body.replace(b"admin", b"guest"),
                                       headers={HEADER: first.headers[HEADER.lower()]})
            assert forged.status_code == 401
        status = {c["id"]: c for c in service.list_channels()}[cid]
        assert status["last_success"] and status["pending"] == 0 and not status["failing"]
    finally:
        await rx.stop()


async def test_webhook_refuses_untrusted_certificate(service, alert_device, ca):
    """Without the private CA the device's TLS client refuses the peer: nothing leaks."""
    rx = await WebhookReceiver(ca).start()
    try:
        cid, _ = service.add_channel("webhook", rx.url, allow_local=True)  # no ca_pem: system roots only
        results = await service.send_test(cid)
        assert not results[0]["ok"]
        assert "CERTIFICATE_VERIFY_FAILED" in results[0]["error"] or "certificate" in \
            results[0]["error"].lower()
        assert rx.received == []
    finally:
        await rx.stop()


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
@pytest.mark.parametrize("implicit", [False, True], ids=["starttls", "smtps"])
async def test_email_receives_bruteforce_alert(service, alert_device, ca, implicit):
    password = random_password()
    smtp = SmtpPeer(ca, implicit=implicit, user="camera", password=password).start()
    try:
        scheme = "smtps" if implicit else "smtp+starttls"
        url = f"{scheme}://camera@127.0.0.1:{smtp.port}?to=owner@example.org"
        cid, shown = service.add_channel("email", url, password=password, ca_pem=ca.ca_pem, allow_local=True)
        assert shown is None
        await brute_force(alert_device, attempts=3)
        ok = await asyncio.to_thread(smtp.event.wait, 20)
        assert ok, service.list_channels()
        mail_from, rcpts, raw = smtp.messages[0]
        assert rcpts == ["owner@example.org"]
        text = raw.decode()
        assert alert_device.identity.device_id in text
        assert "Failed logins" in text and "198.51.100.7" in text
        assert f"X-Vigilcam-Device-Id: {alert_device.identity.device_id}" in text
        # The SMTP password is in the vault only, not in the alerts database.
        assert password.encode() not in alert_device.paths.alerts_db.read_bytes()
        assert alert_device.vault.get(f"alert_channel:{cid}") == password.encode()
    finally:
        smtp.stop()


@pytest.mark.peer
async def test_mqtt_receives_bruteforce_alert(service, alert_device, ca, tmp_path):
    import aiomqtt

    password = random_password()
    broker = MosquittoPeer(ca, tmp_path, "camera", password).start()
    try:
        topic = "home/camera1/alerts"
        sub_ctx: ssl.SSLContext = client_context(cadata=ca.ca_pem)
        async with aiomqtt.Client("127.0.0.1", broker.port, username="camera",
                                  password=password, tls_context=sub_ctx,
                                  identifier="test-subscriber") as sub:
            await sub.subscribe(topic, qos=1)
            service.add_channel("mqtt", f"mqtts://camera@127.0.0.1:{broker.port}/{topic}",
                                password=password, ca_pem=ca.ca_pem, allow_local=True)
            await brute_force(alert_device, attempts=3)
            async with asyncio.timeout(20):
                async for message in sub.messages:
                    body = json.loads(message.payload)
                    if body["category"] == "login":
                        break
        assert body["device_id"] == alert_device.identity.device_id
        assert body["event"] == "auth.login" and body["count"] >= 3
        assert message.qos == 1
    finally:
        broker.stop()


@pytest.mark.peer
async def test_mqtt_wrong_password_refused(service, ca, tmp_path):
    broker = MosquittoPeer(ca, tmp_path, "camera", "the-right-password").start()
    try:
        cid, _ = service.add_channel("mqtt", f"mqtts://camera@127.0.0.1:{broker.port}/t",
                                     password="not-the-password", ca_pem=ca.ca_pem, allow_local=True)
        result = (await service.send_test(cid))[0]
        assert not result["ok"], result
    finally:
        broker.stop()


async def test_ntfy_push_receives_alert(service, alert_device, ca):
    """ntfy is a plain HTTPS POST; a local HTTPS peer stands in for the ntfy server."""
    rx = await WebhookReceiver(ca).start()
    try:
        token = random_password()
        service.add_channel("ntfy", f"https://127.0.0.1:{rx.port}/camera-alerts",
                            password=token, ca_pem=ca.ca_pem, allow_local=True)
        await brute_force(alert_device, attempts=3)
        await rx.wait_for(1)
        got = rx.received[0]
        assert got.path == "/camera-alerts"
        assert got.headers["authorization"] == f"Bearer {token}"
        assert got.headers["priority"] in ("4", "5")
        assert alert_device.identity.device_id in got.body.decode()
        assert "Failed logins" in got.headers["title"]
    finally:
        await rx.stop()


async def test_tamper_email_carries_before_and_after_pictures(service, alert_device, ca):
    """TAICS 5.1.2.1: the owner sees what the camera saw; the clear is its own (info) alert."""
    import email as email_lib
    from types import SimpleNamespace

    import cv2
    import numpy as np

    before = cv2.imencode(".jpg", np.full((36, 64), 120, np.uint8))[1].tobytes()
    after = cv2.imencode(".jpg", np.zeros((36, 64), np.uint8))[1].tobytes()
    alert_device.services.detection = SimpleNamespace(
        evidence={"covered": SimpleNamespace(before_jpeg=before, after_jpeg=after)})
    password = random_password()
    smtp = SmtpPeer(ca, implicit=False, user="camera", password=password).start()
    try:
        service.add_channel(
            "email", f"smtp+starttls://camera@127.0.0.1:{smtp.port}?to=owner@example.org",
            password=password, ca_pem=ca.ca_pem, allow_local=True)
        alert_device.record("tamper.covered", result="failure", phase="raised")
        alert_device.record("tamper.covered", result="ok", phase="cleared")
        deadline = time.monotonic() + 20
        while len(smtp.messages) < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        raised, cleared = (email_lib.message_from_bytes(m[2]) for m in smtp.messages[:2])
        pictures = [p for p in raised.walk() if p.get_content_type() == "image/jpeg"]
        assert [p.get_filename() for p in pictures] == ["tamper.covered-before.jpg",
                                                        "tamper.covered-after.jpg"]
        assert pictures[0].get_payload(decode=True) == before
        assert "Camera tampering" in raised["Subject"]
        assert "cleared" in cleared["Subject"]
        assert not [p for p in cleared.walk() if p.get_content_type() == "image/jpeg"]
    finally:
        smtp.stop()


async def test_apprise_push_receives_alert_and_keeps_its_token_in_the_vault(
        service, alert_device, ca, monkeypatch):
    """Any apprise service: a local HTTPS peer takes apprise's jsons:// form (apprise's own
    HTTPS client, pointed at the test CA through REQUESTS_CA_BUNDLE)."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca.ca_file))
    rx = await WebhookReceiver(ca).start()
    try:
        token = random_password().replace("-", "")[:24]
        url = f"jsons://127.0.0.1:{rx.port}/hook/{token}"
        cid, shown = service.add_channel("apprise", url, allow_local=True)
        assert shown is None
        await brute_force(alert_device, attempts=3)
        await rx.wait_for(1)
        got = rx.received[0].json()
        assert alert_device.identity.device_id in got["message"]
        assert "Failed logins" in got["title"] and got["type"] in ("warning", "failure")
        assert rx.received[0].path == f"/hook/{token}"
        # The token is in the vault only; the database and the channel list show it redacted.
        assert token.encode() not in alert_device.paths.alerts_db.read_bytes()
        deadline = time.monotonic() + 10
        while not (listed := {c["id"]: c for c in service.list_channels()}[cid])[
                "last_success"] and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert token not in listed["target"] and listed["last_success"]
        assert alert_device.vault.get(f"alert_channel:{cid}") == url.encode()
    finally:
        await rx.stop()


async def test_apprise_refuses_untrusted_certificate_without_leaking_the_token(
        service, ca, monkeypatch):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    rx = await WebhookReceiver(ca).start()
    try:
        token = "tok" + random_password().replace("-", "")[:20]
        cid, _ = service.add_channel("apprise", f"jsons://127.0.0.1:{rx.port}/{token}", allow_local=True)
        result = (await service.send_test(cid))[0]
        assert not result["ok"] and rx.received == []
        assert token not in result["error"]
    finally:
        await rx.stop()


@pytest.mark.parametrize(("url", "why"), [
    ("json://127.0.0.1/hook", "clear text"),
    ("ntfy://example.org/topic", "clear text"),
    ("jsons://127.0.0.1/hook?verify=no", "verify=no"),
    ("nosuchservice://token", "does not understand"),
    ("no-scheme-at-all", "service://"),
])
def test_apprise_url_policy(service, url, why):
    with pytest.raises(ValueError, match=why):
        service.add_channel("apprise", url, allow_local=True)
    with pytest.raises(ValueError, match="inside the URL"):
        service.add_channel("apprise", "jsons://127.0.0.1/hook", password="x", allow_local=True)


async def test_apprise_tamper_push_carries_the_before_picture(service, alert_device, ca,
                                                               monkeypatch):
    """TAICS 5.1.2.1 on the phone: the push has the before/after pictures, from memory."""
    import base64
    from types import SimpleNamespace

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca.ca_file))
    before, after = b"\xff\xd8before-jpeg\xff\xd9", b"\xff\xd8after-jpeg\xff\xd9"
    alert_device.services.detection = SimpleNamespace(
        evidence={"moved": SimpleNamespace(before_jpeg=before, after_jpeg=after)})
    rx = await WebhookReceiver(ca).start()
    try:
        service.add_channel("apprise", f"jsons://127.0.0.1:{rx.port}/push", allow_local=True)
        alert_device.record("tamper.moved", result="failure", phase="raised")
        await rx.wait_for(1)
        got = next(r.json() for r in rx.received if "moved" in r.json()["message"])
        files = {a["filename"]: base64.b64decode(a["base64"]) for a in got["attachments"]}
        assert files == {"tamper.moved-before.jpg": before, "tamper.moved-after.jpg": after}
    finally:
        await rx.stop()
