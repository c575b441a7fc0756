"""Fixtures for the RTSPS tests: live encoded hubs, a started server, a viewer with a credential."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from vigilcam.app import Device, open_device, provision, revocation_watcher
from vigilcam.auth.permissions import Role
from vigilcam.media.hub import StreamHub
from vigilcam.platform.config import Settings
from vigilcam.platform.paths import DataPaths
from vigilcam.rtsp.server import RtspsServer, ServerLimits
from vigilcam.viewers.registry import ViewerRegistry

from .rtsp_support import start_feeders

MAIN = (320, 240, 15.0)
SUB = (160, 120, 10.0)


@pytest.fixture(scope="module")
def hubs() -> Iterator[dict[str, StreamHub]]:
    hubs, feeders = start_feeders({"main": MAIN, "sub": SUB})
    yield hubs
    for f in feeders:
        f.stop()


@dataclass
class Rig:
    device: Device
    server: RtspsServer
    viewers: ViewerRegistry
    user: str
    secret: str

    @property
    def port(self) -> int:
        return self.server.port

    def url(self, path: str = "/main", user: str | None = None, secret: str | None = None,
            scheme: str = "rtsps") -> str:
        return (f"{scheme}://{user or self.user}:{secret or self.secret}"
                f"@127.0.0.1:{self.port}{path}")

    def base(self, path: str = "/main") -> str:
        return f"rtsps://127.0.0.1:{self.port}{path}"

    def events(self, action: str) -> list:
        return [e for e in self.device.seclog.query() if e.action == action]


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "limits(**kw): ServerLimits for the rig fixture")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One provisioned data dir with user alice per module; each test opens a copy of it
    (provisioning and Argon2 hashing once instead of once per test keeps the folder fast)."""
    paths = DataPaths(tmp_path_factory.mktemp("rtsp-template") / "data")
    provision(paths, Settings())
    dev = open_device(paths, Settings())
    dev.accounts.add("alice", Role.VIEWER, "x" * 20, must_change=False, check_policy=False)
    dev.close()
    return paths.root


@pytest.fixture
def rig_device(template: Path, tmp_path: Path) -> Iterator[Device]:
    target = tmp_path / "data"
    shutil.copytree(template, target)
    dev = open_device(DataPaths(target), Settings())
    yield dev
    dev.close()


@pytest.fixture
async def rig(rig_device: Device, hubs: dict[str, StreamHub], request) -> AsyncIterator[Rig]:
    device = rig_device
    marker = request.node.get_closest_marker("limits")
    limits = ServerLimits(**marker.kwargs) if marker else ServerLimits()
    secret = device.services.stream_credentials.get_or_create("alice")
    viewers = ViewerRegistry(device.record)
    device.services.viewers = viewers
    watcher = revocation_watcher(device)  # as the runtime does: re-checks running viewers
    await watcher.start()
    server = RtspsServer(device, hubs, viewers, "127.0.0.1", 0, limits=limits)
    await server.start()
    try:
        yield Rig(device, server, viewers, "alice", secret)
    finally:
        await server.stop()
        await watcher.stop()
