"""The update feature's audit checks (IoT-1005-1 5.3.1.1-5.3.1.3, 5.4.1.1; TAICS 5.1.4.1)."""

from __future__ import annotations

import json

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.update.helpers import new_repository, write_code_key
from vigilcam.compliance import checks_update as audit
from vigilcam.compliance.model import Verdict
from vigilcam.compliance.state import LocalContext
from vigilcam.platform.paths import DataPaths
from vigilcam.update.config import UpdateConfig, UpdatePaths
from vigilcam.update.state import StateStore, UpdateStatus, utc_now


def test_development_checkout_fails_verified_start(tmp_path):
    result = audit.verified_start(LocalContext(DataPaths(tmp_path / "data")))
    assert result.verdict is Verdict.FAIL
    assert result.evidence == ["development install, no signed manifest"]


def test_unconfigured_device_fails_with_what_to_do(tmp_path):
    ctx = LocalContext(DataPaths(tmp_path / "data"))
    for check in (audit.update_mechanism, audit.signed_updates, audit.update_checks):
        result = check(ctx)
        assert result.verdict is Verdict.FAIL
        assert "vigilcam update" in result.todo


def test_configured_and_recently_checked_device_passes(tmp_path):
    data = tmp_path / "data"
    paths = UpdatePaths(data)
    paths.trust_dir.mkdir(parents=True)
    repo = new_repository(tmp_path / "repo")
    paths.trusted_root.write_bytes(repo.trusted_root())
    write_code_key(paths.code_key, Ed25519PrivateKey.generate())
    UpdateConfig(repository_url="https://updates.invalid/r",
                 install_root=str(tmp_path / "opt")).save(paths.config_file)
    StateStore(paths.state_file).save(UpdateStatus("0.1.0", last_check=utc_now(),
                                                   last_check_result="ok"))
    ctx = LocalContext(DataPaths(data))
    for check in (audit.update_mechanism, audit.signed_updates, audit.update_checks):
        result = check(ctx)
        assert result.verdict is Verdict.PASS, (check.__name__, result)
    text = " ".join(audit.signed_updates(ctx).evidence)
    assert "TLSv1_2" in text and "root 1-of-1" in text and "AES-256-GCM" in text
    # a check older than two intervals fails
    StateStore(paths.state_file).save(UpdateStatus("0.1.0", last_check="2020-01-01T00:00:00Z",
                                                   last_check_result="ok"))
    assert audit.update_checks(LocalContext(DataPaths(data))).verdict is Verdict.FAIL
    json.loads(paths.config_file.read_text())  # the config the audit read is plain JSON


def test_release_packages_uses_the_package_scan(tmp_path):
    result = audit.release_packages(LocalContext(DataPaths(tmp_path / "data")))
    assert result.verdict is Verdict.PASS
    assert "AES-256-GCM" in result.evidence[0]
