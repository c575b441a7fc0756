"""Fixtures of the update tests: a test CA, a TUF repository, served over HTTPS on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.update.helpers import HttpsFileServer, Pki, make_pki, new_repository
from vigilcam.update.repository import ReleaseRepository


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return make_pki(tmp_path / "pki")


@pytest.fixture
def repo(tmp_path: Path) -> ReleaseRepository:
    return new_repository(tmp_path / "repo")


@pytest.fixture
def https_repo(repo: ReleaseRepository, pki: Pki) -> Iterator[HttpsFileServer]:
    with HttpsFileServer(repo.folder, pki) as server:
        yield server
