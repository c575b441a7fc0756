"""Configuration of alert channels by CLI and by API (IoT-1005-1 5.8.1.1): the webhook HMAC key
is shown once, passwords come from stdin and live only in the vault, bad URLs get clear
errors, only admins (Permission.MANAGE_ALERTS) reach the alert API, bodies are bounded."""

from __future__ import annotations

import io
import json

import pytest

from tests.alerts.peers import ThreadedReceiver
from tests.support import STRONG, admin_ready, make_client, run_cli
from vigilcam import cli as vcli
from vigilcam.alerts.service import AlertService
from vigilcam.web import catalogue
from vigilcam.web.api_alerts import ALERT_ROUTES


def _main(monkeypatch, capsys, *args: str, stdin: str = "") -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = vcli.main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_add_list_test_remove(provisioned, monkeypatch, capsys, ca, tmp_path):
    paths, _ = provisioned
    d = ["--data-dir", str(paths.root)]
    (tmp_path / "ca.pem").write_text(ca.ca_pem)
    code, out, err = _main(monkeypatch, capsys, "alerts", "add", "webhook",
                           "https://127.0.0.1:9/hook", "--cafile", str(tmp_path / "ca.pem"),
                           "--allow-local-target", *d)
    assert code == 0, err
    key = out.split("HMAC key (shown once; configure it in the receiver): ")[1].split()[0]
    cid = out.split("added webhook channel ")[1].split()[0]
    assert key.startswith("whsec_")

    password = "mqtt-secret-" + "k" * 12
    code, out, err = _main(monkeypatch, capsys, "alerts", "add", "mqtt",
                           "mqtts://cam@127.0.0.1:8883/home/cam", "--password-stdin",
                           "--allow-local-target", *d,
                           stdin=password + "\n")
    assert code == 0, err
    assert password not in out

    code, out, _ = _main(monkeypatch, capsys, "alerts", "list", "--json", *d)
    listed = json.loads(out)
    assert {c["kind"] for c in listed} == {"webhook", "mqtt"}
    assert key not in out and password not in out
    wal = paths.root / "alerts.db-wal"
    db = paths.alerts_db.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    assert key.encode() not in db and password.encode() not in db
    log = (paths.seclog_dir / "current.jsonl").read_text()
    assert "alerts.channel_added" in log and key not in log and password not in log

    code, out, _ = _main(monkeypatch, capsys, "alerts", "test", cid, *d)
    assert code == 1 and "FAILED" in out  # nothing listens on port 9
    code, out, _ = _main(monkeypatch, capsys, "alerts", "list", *d)
    assert cid in out and "last error" in out

    code, out, _ = _main(monkeypatch, capsys, "alerts", "remove", cid, *d)
    assert code == 0
    code, _, err = _main(monkeypatch, capsys, "alerts", "remove", cid, *d)
    assert code == 1 and "no alert channel" in err


@pytest.mark.parametrize("kind,url,needle", [
    ("webhook", "http://example.org/hook", "https://"),
    ("email", "smtp://u@mail.example.org?to=a@b.org", "plain smtp"),
    ("email", "smtps://mail.example.org", "?to="),
    ("mqtt", "mqtt://broker/topic", "mqtts://"),
    ("mqtt", "mqtts://broker/a/#", "wildcards"),
    ("webhook", "https://user:pw@example.org/hook", "password in the URL"),
    ("email", "smtps://u@mail.example.org?to=a@b.org", "needs a password"),
])
def test_cli_refuses_bad_urls_clearly(provisioned, monkeypatch, capsys, kind, url, needle):
    paths, _ = provisioned
    code, _, err = _main(monkeypatch, capsys, "alerts", "add", kind, url, "--data-dir",
                         str(paths.root))
    assert code == 2 and needle in err and "Traceback" not in err


def test_cli_password_never_on_the_command_line():
    result = run_cli("alerts", "add", "email", "--help")
    assert "--password-stdin" in result.stdout and "--password " not in result.stdout


@pytest.fixture
def alert_api(device, provisioned, monkeypatch):
    specs = catalogue.all_route_specs()
    if not any(s.path.startswith("/api/v1/alerts") for s in specs):
        monkeypatch.setattr("vigilcam.web.server.all_route_specs", lambda: [*specs,
                                                                            *ALERT_ROUTES])
    svc = AlertService(device)
    device.services.alerts = svc
    from tests.support import Api

    with make_client(device) as client:
        api = admin_ready(Api(client), provisioned[1])
        yield api
    svc.close()


def test_api_channels_crud_and_test(alert_api, device, ca):
    threaded = ThreadedReceiver(ca)
    rx = threaded.rx
    try:
        r = alert_api.send("POST", "/api/v1/alerts/channels",
                           {"kind": "webhook", "url": rx.url, "ca_pem": ca.ca_pem,
                            "allow_local_target": True})
        assert r.status_code == 201, r.text
        cid, key = r.json()["channel"]["id"], r.json()["hmac_key"]
        rx.key = key.encode()
        listed = alert_api.get("/api/v1/alerts/channels").json()["channels"]
        assert [c["id"] for c in listed] == [cid] and key not in json.dumps(listed)
        r = alert_api.send("POST", "/api/v1/alerts/test", {"channel_id": cid})
        assert r.status_code == 200 and r.json()["ok"], r.text
        assert rx.received and rx.received[0].json()["device_id"] == device.identity.device_id
        r = alert_api.send("DELETE", f"/api/v1/alerts/channels/{cid}")
        assert r.status_code == 200
        assert alert_api.send("DELETE", f"/api/v1/alerts/channels/{cid}").status_code == 404
        assert device.vault.find(f"alert_channel:{cid}") is None
    finally:
        threaded.close()


def test_api_validates_bodies_and_roles(alert_api, device):
    bad = [
        {"kind": "webhook", "url": "https://example.org/h", "extra": 1},
        {"kind": "pager", "url": "https://example.org/h"},
        {"kind": "webhook", "url": "https://e.org/" + "a" * 3000},
        {"kind": "webhook", "url": "http://example.org/h"},
        {"kind": "webhook", "url": "https://example.org/h", "categories": ["everything"]},
    ]
    for body in bad:
        r = alert_api.send("POST", "/api/v1/alerts/channels", body)
        assert r.status_code == 422, (body, r.text)
    assert alert_api.send("POST", "/api/v1/alerts/test", {"channel_id": "../x"}).status_code \
        == 422
    # A viewer may not manage alerts.
    r = alert_api.send("POST", "/api/v1/users", {"username": "vera", "role": "viewer"})
    assert r.status_code in (200, 201), r.text
    one_time = r.json().get("one_time_password") or r.json().get("password")
    from tests.support import Api

    with make_client(device) as client:
        viewer = Api(client)
        assert viewer.login("vera", one_time).status_code == 200
        viewer.send("POST", "/api/v1/session/password",
                    {"current_password": one_time, "new_password": STRONG + " v"})
        viewer.login("vera", STRONG + " v")
        assert viewer.get("/api/v1/alerts/channels").status_code == 403


def test_local_destinations_are_refused_unless_allowed(alert_api, device, ca, monkeypatch, capsys,
                                                        provisioned):
    """IoT-1005-1 5.6.1.1: an alert URL cannot point the camera at itself or at link-local
    services (cloud metadata) unless the owner says so for that channel."""
    local = ["https://127.0.0.1:8443/api/v1/users", "https://localhost/hook",
             "https://[::1]:9/h", "https://169.254.169.254/latest/meta-data/",
             "https://[fe80::1]/h", "https://0.0.0.0/h"]
    for url in local:
        r = alert_api.send("POST", "/api/v1/alerts/channels", {"kind": "webhook", "url": url})
        assert r.status_code == 422, (url, r.text)
        assert "allow a local target" in r.json()["error"]
    r = alert_api.send("POST", "/api/v1/alerts/channels",
                       {"kind": "apprise", "url": "jsons://127.0.0.1:9/push"})
    assert r.status_code == 422 and "loopback" in r.json()["error"]
    code, _, err = _main(monkeypatch, capsys, "alerts", "add", "mqtt", "mqtts://127.0.0.1/t",
                         "--data-dir", str(provisioned[0].root))
    assert code != 0 and "allow a local target" in err
    assert alert_api.get("/api/v1/alerts/channels").json()["channels"] == []
    r = alert_api.send("POST", "/api/v1/alerts/channels",
                       {"kind": "webhook", "url": "https://127.0.0.1:9/h",
                        "allow_local_target": True})
    assert r.status_code == 201 and r.json()["channel"]["options"]["allow_local"] is True


async def test_delivery_checks_the_destination_again(device, ca):
    """A stored channel whose destination is local without the owner's allowance (a name that
    now resolves to this device) is refused at delivery, before any byte is sent."""
    from vigilcam.alerts.manager import ChannelManager, vault_name
    from vigilcam.alerts.outbox import ChannelRow, Outbox

    threaded = ThreadedReceiver(ca)
    try:
        outbox = Outbox(device.paths.alerts_db)
        manager = ChannelManager(device, outbox)
        cid, _ = manager.add_channel("webhook", threaded.rx.url, ca_pem=ca.ca_pem,
                                     allow_local=True)
        row = outbox.channel(cid)
        assert row is not None
        outbox.add_channel(ChannelRow("ch_rebound", row.kind, row.target,
                                      {"ca_pem": ca.ca_pem}, row.categories, row.created))
        device.vault.put(vault_name("ch_rebound"), b"whsec_test-key")
        [result] = await manager.send_test("ch_rebound")
        assert not result["ok"] and "loopback" in result["error"]
        assert threaded.rx.received == []
        [allowed] = await manager.send_test(cid)
        assert allowed["ok"], allowed
    finally:
        threaded.close()
