"""``vigilcam update ...`` commands, run in-process through the real CLI entry point."""

from __future__ import annotations

import json
import shutil

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import vigilcam.cli
from tests.update.helpers import SOURCE_PACKAGE, write_code_key


@pytest.fixture
def cli(monkeypatch):
    if "vigilcam.update.cli" not in vigilcam.cli.FEATURE_CLI:
        monkeypatch.setattr(vigilcam.cli, "FEATURE_CLI",
                            [*vigilcam.cli.FEATURE_CLI, "vigilcam.update.cli"])
    return vigilcam.cli.main


def test_sign_manifest_then_verify_code_then_tamper(cli, tmp_path, capsys):
    key = Ed25519PrivateKey.generate()
    key_file = tmp_path / "release-key.pem"  # the release engineer's file, outside the repo
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    pub = write_code_key(tmp_path / "code-signing.pub", key)
    pkg = tmp_path / "vigilcam"
    shutil.copytree(SOURCE_PACKAGE, pkg, ignore=shutil.ignore_patterns("__pycache__"))

    assert cli(["update", "sign-manifest", "--key", str(key_file), "--package-dir",
                str(pkg)]) == 0
    out = capsys.readouterr().out
    assert "signed" in out and "0.1.0" in out
    assert cli(["update", "verify-code", "--package-dir", str(pkg), "--key", str(pub)]) == 0
    assert capsys.readouterr().out.startswith("verified:")

    (pkg / "web" / "guard.py").write_bytes((pkg / "web" / "guard.py").read_bytes() + b" ")
    assert cli(["update", "verify-code", "--package-dir", str(pkg), "--key", str(pub),
                "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["state"] == "refused" and report["mismatches"] == ["web/guard.py"]


def test_sign_manifest_with_a_bad_key_file_is_a_usage_error(cli, tmp_path, capsys):
    bad = tmp_path / "k.pem"
    bad.write_text("not a key")
    assert cli(["update", "sign-manifest", "--key", str(bad), "--package-dir",
                str(tmp_path)]) == 2
    assert "not a Python package" in capsys.readouterr().err


def test_configure_status_check_on_a_device(cli, provisioned, tmp_path, capsys):
    paths, _ = provisioned
    dd = ["--data-dir", str(paths.root)]
    assert cli(["update", "status", *dd]) == 0
    out = capsys.readouterr().out
    assert "installed version:  0.1.0" in out and "not configured" in out
    assert cli(["update", "check", *dd]) == 1
    assert "vigilcam update configure" in capsys.readouterr().err

    assert cli(["update", "configure", *dd, "--url", "http://insecure.example"]) == 2
    assert "https://" in capsys.readouterr().err
    pub = write_code_key(tmp_path / "k.pub", Ed25519PrivateKey.generate())
    dist = tmp_path / "dist.key"
    dist.write_text("ab" * 32)
    assert cli(["update", "configure", *dd, "--url", "https://updates.invalid/repo",
                "--code-key", str(pub), "--install-root", str(tmp_path / "opt"),
                "--distribution-key-file", str(dist)]) == 0
    assert "distribution key (in the vault)" in capsys.readouterr().out
    assert cli(["update", "status", *dd, "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["repository_url"] == "https://updates.invalid/repo"
    assert status["configured"] is False  # no TUF root pinned yet
    assert cli(["update", "install", *dd]) == 2  # no terminal, no --yes


def test_release_tooling_init_publish_refresh_then_a_device_checks(cli, tmp_path, capsys):
    from tests.update.helpers import HttpsFileServer, make_pki, package_copy
    from vigilcam.platform.tls import client_context
    from vigilcam.update.client import UpdateClient

    repo, keys = tmp_path / "repo", tmp_path / "offline-keys"
    assert cli(["update", "init-repo", "--repo", str(repo), "--keys", str(keys)]) == 0
    assert sorted(p.name for p in keys.iterdir()) == [
        "root.pem", "snapshot.pem", "targets.pem", "timestamp.pem"]
    assert oct(keys.stat().st_mode & 0o777) == "0o700"
    assert cli(["update", "init-repo", "--repo", str(repo), "--keys", str(keys)]) == 2
    # the root key goes offline: publishing and refreshing the timestamp do not need it
    (tmp_path / "vault").mkdir()
    shutil.move(keys / "root.pem", tmp_path / "vault" / "root.pem")

    code_key = Ed25519PrivateKey.generate()
    pub = write_code_key(tmp_path / "code.pub", code_key)
    build = package_copy(tmp_path / "build", "0.2.0", code_key=code_key)
    assert cli(["update", "publish", "--repo", str(repo), "--keys", str(keys), "--version",
                "0.3.0", "--source", str(build), "--code-key", str(pub)]) == 2
    assert "manifest says 0.2.0" in capsys.readouterr().err
    assert cli(["update", "publish", "--repo", str(repo), "--keys", str(keys), "--version",
                "0.2.0", "--source", str(build), "--code-key", str(pub)]) == 0
    assert "scanned clean" in capsys.readouterr().out
    assert cli(["update", "refresh-timestamp", "--repo", str(repo), "--keys", str(keys)]) == 0

    # the package scan is a gate: an undeclared endpoint stops the release
    bad = package_copy(tmp_path / "bad", "0.4.0", code_key=code_key)
    (bad / "vigilcam" / "phone_home.py").write_text('URL = "https://collector.example.com/x"\n')
    assert cli(["update", "publish", "--repo", str(repo), "--keys", str(keys), "--version",
                "0.4.0", "--source", str(bad)]) == 1
    assert "collector.example.com" in capsys.readouterr().err

    pki = make_pki(tmp_path / "pki")
    with HttpsFileServer(repo, pki) as server:
        client = UpdateClient(metadata_dir=tmp_path / "m", downloads_dir=tmp_path / "d",
                              trusted_root=(repo / "metadata" / "1.root.json").read_bytes(),
                              repository_url=server.url, context=client_context(cafile=pki.ca_file))
        release = client.check("0.1.0")
        assert release.version == "0.2.0"
        assert client.download(release, "0.1.0")[:100]  # decrypts
