"""The device core API: first login, forced change, device page, users, log, tokens, input."""

from __future__ import annotations

from tests.support import STRONG, admin_ready, nonce
from vigilcam import product


def test_first_login_forces_password_change(provisioned, api):
    _, secret = provisioned
    r = api.login("admin", secret)
    assert r.status_code == 200 and r.json()["password_change_required"]
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("__Host-vigilcam=")
    for attr in ("Secure", "HttpOnly", "SameSite=strict", "Path=/"):
        assert attr.lower() in cookie.lower(), attr
    assert api.get("/api/v1/device").status_code == 403
    weak = api.send("POST", "/api/v1/session/password",
                    {"current_password": secret, "new_password": "password123"})
    assert weak.status_code == 422 and "characters" in weak.json()["error"]
    r = api.send("POST", "/api/v1/session/password",
                 {"current_password": secret, "new_password": STRONG})
    assert r.status_code == 200 and not r.json()["password_change_required"]
    new_cookie = r.headers["set-cookie"].split(";")[0]
    assert new_cookie != cookie.split(";")[0]  # rotated on privilege change
    api.csrf = r.json()["csrf_token"]
    info = api.get("/api/v1/device").json()
    assert info["model"] == product.MODEL and info["version"] == product.VERSION
    assert info["support_until"] == product.SUPPORT_UNTIL.isoformat()
    assert len(info["certificate_fingerprint"].split(":")) == 32
    assert info["device_id"] and info["serial"].startswith("VC1-")
    assert api.login("admin", secret).status_code == 401  # the setup secret is gone
    assert not provisioned[0].setup_secret_file.exists()


def test_login_answers_alike_for_unknown_users(provisioned, api):
    a = api.client.post("/api/v1/session", json={"username": "admin", "password": "nope-nope"})
    b = api.client.post("/api/v1/session", json={"username": "ghost", "password": "nope-nope"})
    assert a.status_code == b.status_code == 401
    assert a.json() == b.json()


def test_user_management_and_log(provisioned, api, device):
    admin_ready(api, provisioned[1])
    r = api.send("POST", "/api/v1/users", {"username": "dave", "role": "viewer"})
    assert r.status_code == 201
    otp = r.json()["one_time_password"]
    assert api.send("POST", "/api/v1/users", {"username": "dave", "role": "viewer"}
                    ).status_code == 409
    assert api.send("PATCH", "/api/v1/users/dave", {"role": "operator"}).json()["role"] == \
        "operator"
    assert api.send("PATCH", "/api/v1/users/admin", {"role": "viewer"}).status_code == 409
    assert api.send("PATCH", "/api/v1/users/dave", {"disabled": True}).json()["disabled"]
    assert api.client.post("/api/v1/session", json={"username": "dave", "password": otp}
                           ).status_code == 401
    records = api.get("/api/v1/log", params={"action": "user."}).json()["records"]
    actions = [r["action"] for r in records]
    assert {"user.added", "user.role_changed", "user.disabled"} <= set(actions)
    assert all(r["device_id"] == device.identity.device_id for r in records)
    assert otp not in api.get("/api/v1/log/export", params={"format": "json"}).text
    csv = api.get("/api/v1/log/export", params={"format": "csv"})
    assert csv.status_code == 200 and csv.text.startswith("seq,ts,device_id")
    assert api.get("/api/v1/log/verify").json()["ok"] is True
    assert api.get("/api/v1/log", params={"bogus": "1"}).status_code == 422


def test_api_token_scoped_and_revocable(provisioned, api):
    admin_ready(api, provisioned[1])
    r = api.send("POST", "/api/v1/tokens", {"label": "nvr", "scopes": ["view_device"]})
    assert r.status_code == 201
    token = r.json()["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    api.client.cookies.clear()
    assert api.client.get("/api/v1/device", headers=bearer).status_code == 200
    assert api.client.get("/api/v1/log", headers=bearer).status_code == 403
    assert api.send("POST", "/api/v1/tokens", {"label": "x", "scopes": ["manage_users"]},
                    headers=bearer).status_code == 403
    admin_ready_again = api.login("admin", STRONG)
    assert admin_ready_again.status_code == 200
    assert api.send("DELETE", f"/api/v1/tokens/{r.json()['id']}").status_code == 200
    api.client.cookies.clear()
    assert api.client.get("/api/v1/device", headers=bearer).status_code == 401


def test_replayed_state_change_is_refused(provisioned, api):
    admin_ready(api, provisioned[1])
    headers = {"X-CSRF-Token": api.csrf, "X-Request-Nonce": nonce()}
    body = {"username": "erin", "role": "viewer"}
    first = api.client.post("/api/v1/users", json=body, headers=headers)
    assert first.status_code == 201
    api.send("PATCH", "/api/v1/users/erin", {"disabled": True})
    replay = api.client.post("/api/v1/users", json=body, headers=headers)
    assert replay.status_code == 409 and "replay" in replay.json()["error"]
    no_csrf = api.client.post("/api/v1/users", json={"username": "fred", "role": "viewer"},
                              headers={"X-Request-Nonce": nonce()})
    assert no_csrf.status_code == 403
    api.send("DELETE", "/api/v1/session")
    after_logout = api.client.post("/api/v1/users", json={"username": "gina", "role": "viewer"},
                                   headers={"X-CSRF-Token": api.csrf,
                                            "X-Request-Nonce": nonce()})
    assert after_logout.status_code == 401


def test_logout_clears_the_cookie_with_the_flags_it_was_set_with(provisioned, api):
    """Logout and logout-everywhere expire the same __Host- cookie (Secure, HttpOnly, Strict)."""
    admin_ready(api, provisioned[1])
    for path in ("/api/v1/session", "/api/v1/sessions"):
        r = api.send("DELETE", path)
        assert r.status_code == 200, r.text
        cookie = r.headers["set-cookie"].lower()
        assert cookie.startswith("__host-vigilcam=") and "max-age=0" in cookie
        for attr in ("secure", "httponly", "samesite=strict", "path=/"):
            assert attr in cookie, (path, attr)
        r = api.login("admin", STRONG)
        assert r.status_code == 200
        api.csrf = r.json()["csrf_token"]


def test_bad_input_gets_clear_json_errors(provisioned, api):
    c = api.client
    cases = [
        c.post("/api/v1/session", content=b"{not json", headers={"content-type":
                                                                 "application/json"}),
        c.post("/api/v1/session", json={"username": "a", "password": "b", "extra": 1}),
        c.post("/api/v1/session", json={"username": "a" * 65, "password": "b"}),
        c.post("/api/v1/session", json=["list"]),
        c.post("/api/v1/session", content=b"username=a", headers={"content-type":
                                                                  "application/x-www-form-urlencoded"}),
        c.post("/api/v1/session", content=b"\xff\xfe", headers={"content-type":
                                                                "application/json"}),
    ]
    for r in cases:
        assert r.status_code in (400, 415, 422), r.text
        assert "error" in r.json() and "Traceback" not in r.text
    big = c.post("/api/v1/session", content=b"x" * 200_000,
                 headers={"content-type": "application/json"})
    assert big.status_code == 413
    assert c.get("/api/v1/nothing-here").status_code == 404
    assert c.put("/api/v1/session").status_code == 405


def test_security_headers_everywhere(provisioned, api):
    for path in ("/", "/api/v1/device", "/api/v1/nothing", "/.well-known/security.txt",
                 "/static/app.js"):
        r = api.get(path)
        h = r.headers
        assert "max-age=" in h["strict-transport-security"], path
        assert "script-src 'self'" in h["content-security-policy"]
        assert "unsafe-inline" not in h["content-security-policy"]
        assert "frame-ancestors 'none'" in h["content-security-policy"]
        assert h["x-content-type-options"] == "nosniff"
        assert "server" not in h
        if path.startswith("/api") or path == "/":
            assert h["cache-control"] == "no-store"


def test_login_page_names_model_and_version_and_no_cdn(api):
    page = api.get("/").text
    assert product.MODEL in page and product.VERSION in page
    assert "http://" not in page and "https://" not in page
    assert "<script>" not in page  # no inline script


def test_security_txt(api):
    text = api.get("/.well-known/security.txt").text
    assert "Contact: " in text and "Expires: " in text


def test_openapi_lists_every_route(api):
    doc = api.get("/api/v1/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    assert "post" in doc["paths"]["/api/v1/session"]
    assert doc["components"]["schemas"]["LoginBody"]["additionalProperties"] is False
