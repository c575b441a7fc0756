"""The privacy API in-process: inventory, telemetry, masks, erase; permissions and bad input.

IoT-1005-1 5.7.1.1 / 5.7.1.2 (inventory and telemetry shown to every user), 5.1.2.1 (erase
needs erase_data; masks need configure_media), 5.5.2.1 (bounded bodies and queries).
"""

from __future__ import annotations

from tests.support import STRONG, Api, admin_ready, make_client
from vigilcam.app import Device


def test_inventory_and_telemetry_for_everyone(api: Api, provisioned) -> None:
    admin_ready(api, provisioned[1])
    r = api.get("/api/v1/privacy/inventory")
    assert r.status_code == 200, r.text
    body = r.json()
    kinds = {i["id"]: i for i in body["items"]}
    assert kinds["accounts"]["stored"]["items"] == 1
    assert kinds["snapshots"]["where"] == []
    assert body["telemetry"]["enabled"] is False
    assert api.get("/api/v1/privacy/inventory", params={"x": "1"}).status_code == 400
    r = api.get("/api/v1/privacy/telemetry")
    assert r.json() == {**r.json(), "enabled": False, "fields": [], "recipients": []}


def test_masks_are_validated_and_saved(api: Api, provisioned) -> None:
    admin_ready(api, provisioned[1])
    r = api.send("PUT", "/api/v1/privacy/masks", {"masks": [{"rect": [0, 0, 0.5, 0.5]}]})
    assert r.status_code == 200, r.text
    assert r.json()["applied"] is False  # no video pipeline in this test: saved for the start
    assert api.get("/api/v1/privacy/masks").json()["masks"] == [{"rect": [0.0, 0.0, 0.5, 0.5]}]
    assert (provisioned[0].root / "masks.json").exists()
    for bad in ([{"rect": [0, 0, 1.5, 1]}], [{"polygon": [[0, 0]]}], [{"x": 1}],
                [{"rect": [0, 0, 1, 1]}] * 33):
        r = api.send("PUT", "/api/v1/privacy/masks", {"masks": bad})
        assert r.status_code == 422, (bad, r.text)
        assert "error" in r.json()


def test_erase_needs_erase_data_and_a_typed_confirmation(api: Api, provisioned,
                                                         device: Device) -> None:
    admin_ready(api, provisioned[1])
    r = api.send("POST", "/api/v1/users", {"username": "olga", "role": "operator"})
    once = r.json()["one_time_password"]
    with make_client(device) as c2:
        op = Api(c2)
        assert op.login("olga", once).status_code == 200
        r = op.send("POST", "/api/v1/session/password",
                    {"current_password": once, "new_password": STRONG + " quartz 9"})
        assert r.status_code == 200, r.text
        op.csrf = r.json()["csrf_token"]
        assert op.send("POST", "/api/v1/privacy/erase", {"confirm": "ERASE"}).status_code == 403
        assert op.send("PUT", "/api/v1/privacy/masks", {"masks": []}).status_code == 200
        assert op.get("/api/v1/privacy/inventory").status_code == 200
    assert api.send("POST", "/api/v1/privacy/erase", {"confirm": "erase"}).status_code == 422
    assert api.send("POST", "/api/v1/privacy/erase", {}).status_code == 422
    r = api.send("POST", "/api/v1/privacy/erase", {"confirm": "ERASE"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["deleted"]["accounts"] == 2
    assert body["setup_secret"] != provisioned[1]
    assert api.get("/api/v1/privacy/inventory").status_code == 401


def test_recordings_api_without_the_service_says_so(api: Api, provisioned) -> None:
    admin_ready(api, provisioned[1])
    r = api.get("/api/v1/recordings")
    assert r.status_code == 503
    assert "not running" in r.json()["error"]
