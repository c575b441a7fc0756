"""A real ``vigilcam run --record continuous`` server shared by the module's tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import RunningServer, start_server


@pytest.fixture(scope="module")
def rec_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    data: Path = tmp_path_factory.mktemp("rec") / "data"
    srv = start_server(data, "--record", "continuous")
    yield srv
    srv.kill()
