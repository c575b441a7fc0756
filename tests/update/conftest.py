"""Fixtures of the update tests: a test CA, a TUF repository, served over HTTPS on loopback."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.update.helpers import HttpsFileServer, Pki, make_pki, new_repository, write_code_key
from vigilcam.update.config import UpdateConfig, UpdatePaths
from vigilcam.update.repository import ReleaseRepository
from vigilcam.update.service import UpdateService


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


@pytest.fixture
def code_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def make_service(tmp_path, repo, https_repo, pki, code_key):
    def make(data_root: Path, record, installed: str = "0.1.0") -> UpdateService:
        paths = UpdatePaths(data_root)
        paths.trust_dir.mkdir(parents=True, exist_ok=True)
        paths.trusted_root.write_bytes(repo.trusted_root())
        write_code_key(paths.code_key, code_key)
        shutil.copy(pki.ca_file, paths.ca_file)
        config = UpdateConfig(repository_url=https_repo.url, install_root=str(tmp_path / "opt"))
        return UpdateService(data_root, record, config=config, installed_version=installed)
    return make
