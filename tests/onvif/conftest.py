from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.onvif.onvif_support import SECRETS_FILE, enable, free_port, make_user
from tests.support import make_client
from vigilcam.app import Device, open_device, provision
from vigilcam.auth.permissions import Role
from vigilcam.onvif.edge import OnvifEdge
from vigilcam.platform.config import Settings
from vigilcam.platform.paths import DataPaths


@pytest.fixture(scope="session")
def onvif_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One provisioned data dir with ONVIF on, a viewer ``ha`` and an admin ``boss`` with ONVIF
    credentials; each test opens a copy (provisioning and Argon2 once, not per test)."""
    paths = DataPaths(tmp_path_factory.mktemp("onvif-template") / "data")
    provision(paths, Settings())
    dev = open_device(paths, Settings())
    enable(dev)
    made = {"ha": make_user(dev, "ha", Role.VIEWER), "boss": make_user(dev, "boss", Role.ADMIN)}
    dev.close()
    (paths.root.parent / SECRETS_FILE).write_text(json.dumps(made))
    return paths.root


def open_copy(template: Path, target: Path, **settings: object) -> Device:
    shutil.copytree(template, target)
    conf = Settings(https_port=free_port(), **settings)  # type: ignore[arg-type]
    dev = open_device(DataPaths(target), conf)
    shutil.copy(template.parent / SECRETS_FILE, target.parent / SECRETS_FILE)
    return dev


@pytest.fixture
def onvif_device(onvif_template: Path, tmp_path: Path) -> Iterator[Device]:
    dev = open_copy(onvif_template, tmp_path / "data")
    yield dev
    dev.close()


@pytest.fixture
def onvif_edge(onvif_device: Device) -> OnvifEdge:
    """The ONVIF edge state the ``client`` fixture's endpoints use."""
    return OnvifEdge.for_device(onvif_device)


@pytest.fixture
def client(onvif_device: Device, onvif_edge: OnvifEdge):
    with make_client(onvif_device, onvif_edge) as c:
        yield c
