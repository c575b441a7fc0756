"""Fixtures for the alert tests: a test CA, a device whose throttle lets a short brute force
through quickly (lockout after 5 failures per source), and a started AlertService."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.alerts.peers import TestCA, make_ca
from vigilcam.alerts.rules import RulePolicy
from vigilcam.alerts.service import AlertService
from vigilcam.app import Device, open_device, provision
from vigilcam.platform.config import Settings, ThrottleSettings
from vigilcam.platform.paths import DataPaths

FAST = RulePolicy(burst_threshold=3, burst_window_s=10.0, lockout_window_s=1.0,
                  repeat_window_s=0.5, incident_window_s=1.0)


def alert_settings() -> Settings:
    return Settings(throttle=ThrottleSettings(free_attempts=20, source_lockout_after=5))


@pytest.fixture(scope="session")
def ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    return make_ca(tmp_path_factory.mktemp("alert-ca"))


@pytest.fixture
def alert_device(tmp_path: Path) -> Iterator[Device]:
    paths = DataPaths(tmp_path / "data")
    provision(paths, alert_settings())
    dev = open_device(paths, alert_settings())
    yield dev
    dev.close()


@pytest.fixture
async def service(alert_device: Device) -> AsyncIterator[AlertService]:
    svc = AlertService(alert_device, policy=FAST, backoff_base_s=0.1, backoff_cap_s=0.5,
                       poll_s=0.2)
    alert_device.services.alerts = svc
    await svc.start()
    yield svc
    await svc.stop()
    svc.close()


async def brute_force(device: Device, attempts: int = 6, source: str = "198.51.100.7") -> None:
    """Real failed logins through the one login path (throttle, Argon2, security log)."""
    for _ in range(attempts):
        status, _user, _ = await device.auth.check_password("admin", "wrong-guess", source, "web")
        assert status in ("denied", "throttled")
