"""The update API (IoT-1005-1 5.3.1.3): status shown, check and install for admins only.

The lead wires ``update_routes`` into the catalogue; here the server's route list is extended
in-process so the real guard, sessions and CSRF apply.
"""

from __future__ import annotations

import shutil

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import vigilcam.web.server as web_server
from tests.support import STRONG, Api, admin_ready, make_client, read_log
from tests.update.helpers import release_tar, write_code_key
from vigilcam.auth.permissions import Permission
from vigilcam.update.config import UpdateConfig, UpdatePaths
from vigilcam.update.service import UpdateService
from vigilcam.update.slots import HealthResult
from vigilcam.web.api_update import update_routes


@pytest.fixture
def admin(device, provisioned, monkeypatch):
    original = web_server.all_route_specs
    monkeypatch.setattr(web_server, "all_route_specs",
                        lambda: [*original(), *update_routes(Permission.MANAGE_USERS)])
    with make_client(device) as client:
        yield admin_ready(Api(client), provisioned[1])


def test_status_check_and_install_over_the_api(admin, device, tmp_path, repo, https_repo, pki):
    paths = UpdatePaths(device.paths.root)
    paths.trust_dir.mkdir(parents=True)
    paths.trusted_root.write_bytes(repo.trusted_root())
    key = Ed25519PrivateKey.generate()
    write_code_key(paths.code_key, key)
    shutil.copy(pki.ca_file, paths.ca_file)
    service = UpdateService(device.paths.root, device.record, installed_version="0.1.0",
                            config=UpdateConfig(repository_url=https_repo.url,
                                                install_root=str(tmp_path / "opt")))
    device.services.update = service

    r = admin.get("/api/v1/update")
    assert r.status_code == 200
    body = r.json()
    assert body["current_version"] == "0.1.0" and body["last_check"] is None
    assert body["configured"] is True

    repo.publish("0.2.0", release_tar(tmp_path / "b", "0.2.0", key))
    r = admin.send("POST", "/api/v1/update/check", None)
    assert r.status_code == 200, r.text
    assert r.json()["available_version"] == "0.2.0"
    assert admin.get("/api/v1/update").json()["available_version"] == "0.2.0"

    # a lighter health check than booting a copy (the boot is proven in test_install)
    monkey_health = HealthResult(False, "health endpoint did not answer")
    original_install = service.install
    service.install = lambda **kw: original_install(lambda slot: monkey_health, **kw)
    r = admin.send("POST", "/api/v1/update/install", None)
    assert r.status_code == 500 and r.json()["result"] == "rolled_back"
    assert admin.get("/api/v1/update").json()["last_install"]["result"] == "rolled_back"
    events = [e for e in read_log(device.paths.root) if e["action"].startswith("update.")]
    assert events[-1]["action"] == "update.rolled_back" and events[-1]["user"] == "admin"


def test_unconfigured_check_is_a_clear_409(admin, device):
    device.services.update = UpdateService(device.paths.root, device.record)
    r = admin.send("POST", "/api/v1/update/check", None)
    assert r.status_code == 409 and "vigilcam update configure" in r.text


def test_viewer_cannot_check_or_install(admin, device):
    device.services.update = UpdateService(device.paths.root, device.record)
    r = admin.send("POST", "/api/v1/users", {"username": "vera", "role": "viewer"})
    assert r.status_code == 201, r.text
    otp = r.json()["one_time_password"]
    with make_client(device) as client:
        viewer = Api(client)
        assert viewer.login("vera", otp).status_code == 200
        r = viewer.send("POST", "/api/v1/session/password",
                        {"current_password": otp, "new_password": STRONG})
        assert r.status_code == 200, r.text
        viewer.csrf = r.json()["csrf_token"]
        assert viewer.get("/api/v1/update").status_code == 200
        assert viewer.send("POST", "/api/v1/update/check", None).status_code == 403
        assert viewer.send("POST", "/api/v1/update/install", None).status_code == 403
