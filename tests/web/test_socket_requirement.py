"""The WebSocket route's requirement is its route spec's, checked before the handler runs
(IoT-1005-1 5.1.2.1: one permission check for every route), in-process with the real guard."""

from __future__ import annotations

import pytest
from starlette.websockets import WebSocketDisconnect

import vigilcam.web.server as web_server
from tests.support import STRONG, Api, admin_ready, make_client
from vigilcam.auth.permissions import Permission
from vigilcam.web.route_spec import SocketSpec


def test_socket_requirement_comes_from_its_route_spec(device, provisioned, monkeypatch):
    reached: list[str] = []

    async def handler(ws, principal) -> None:
        reached.append(principal.username)
        await ws.accept()
        await ws.send_text("in")
        await ws.close()

    spec = SocketSpec("/api/v1/test-socket", Permission.MANAGE_USERS, handler)
    monkeypatch.setattr(web_server, "all_socket_specs", lambda: [spec])
    with make_client(device) as client:
        admin = admin_ready(Api(client), provisioned[1])
        r = admin.send("POST", "/api/v1/users", {"username": "vera", "role": "viewer"})
        assert r.status_code == 201, r.text
        otp = r.json()["one_time_password"]
        # the test client speaks ws://, which a Secure cookie does not go to: send it as is
        cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
        with client.websocket_connect("/api/v1/test-socket",
                                      headers={"cookie": cookie}) as ws:  # admin: allowed
            assert ws.receive_text() == "in"
        assert reached == ["admin"]
    with make_client(device) as client:
        viewer = Api(client)
        assert viewer.login("vera", otp).status_code == 200
        r = viewer.send("POST", "/api/v1/session/password",
                        {"current_password": otp, "new_password": STRONG})
        assert r.status_code == 200, r.text  # a full viewer session, not a restricted one
        assert client.get("/api/v1/session").json()["username"] == "vera"
        cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
        for headers in ({}, {"cookie": cookie}):  # anonymous, then a viewer
            with pytest.raises(WebSocketDisconnect) as closed:
                with client.websocket_connect("/api/v1/test-socket", headers=headers) as ws:
                    ws.receive_text()
            assert closed.value.code == 1008
    assert reached == ["admin"]
