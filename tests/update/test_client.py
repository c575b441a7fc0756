"""The TUF client over real HTTPS on loopback: the happy path and every attack it must refuse.

IoT-1005-1 5.3.1.2: TLS >= 1.2 with ECDHE, TUF-signed metadata (rollback, freeze and
mix-and-match refused), tampered or wrongly signed packages refused, packages encrypted.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from tests.update.helpers import HttpsFileServer, Pki
from vigilcam.platform.tls import client_context
from vigilcam.update.client import UpdateClient
from vigilcam.update.errors import RefusalKind, UpdateError
from vigilcam.update.repository import ReleaseRepository, generate_signer

TAR = b"not really a tar, the client does not care" * 100


def client_for(tmp_path: Path, repo: ReleaseRepository, server: HttpsFileServer, pki: Pki,
               name: str = "device", **kw) -> UpdateClient:
    return UpdateClient(
        metadata_dir=tmp_path / name / "metadata", downloads_dir=tmp_path / name / "dl",
        trusted_root=repo.trusted_root(), repository_url=server.url,
        context=client_context(cafile=pki.ca_file), **kw)


def refused(client: UpdateClient, installed: str = "0.1.0") -> UpdateError:
    with pytest.raises(UpdateError) as info:
        client.check(installed)
    return info.value


def test_happy_path_over_tls_with_ecdhe(tmp_path, repo, https_repo, pki):
    repo.publish("0.2.0", TAR)
    client = client_for(tmp_path, repo, https_repo, pki)
    release = client.check("0.1.0")
    assert release is not None and release.version == "0.2.0"
    assert client.download(release, "0.1.0") == TAR
    protocol, cipher = client.fetcher.last_tls
    assert protocol in ("TLSv1.2", "TLSv1.3")
    assert cipher.startswith("TLS_AES_") or cipher.startswith("ECDHE-")
    # the package on the server is encrypted: the plaintext is nowhere in it
    blob = next(repo.targets_dir.iterdir()).read_bytes()
    assert TAR[:40] not in blob and blob.startswith(b"VCPKG")


def test_nothing_newer_is_not_offered_and_downgrade_refused(tmp_path, repo, https_repo, pki):
    repo.publish("0.2.0", TAR)
    client = client_for(tmp_path, repo, https_repo, pki)
    assert client.check("0.2.0") is None
    release = client.latest()
    with pytest.raises(UpdateError) as info:
        client.download(release, "0.3.0")
    assert info.value.kind is RefusalKind.DOWNGRADE


def test_no_release_yet(tmp_path, repo, https_repo, pki):
    assert client_for(tmp_path, repo, https_repo, pki).check("0.1.0") is None


def test_rollback_attack_refused(tmp_path, repo, https_repo, pki):
    repo.publish("0.2.0", TAR)
    old_timestamp = (repo.metadata_dir / "timestamp.json").read_bytes()
    repo.publish("0.3.0", TAR + b"3")
    assert client_for(tmp_path, repo, https_repo, pki).check("0.1.0").version == "0.3.0"
    # the attacker serves the older (validly signed, unexpired) repository state
    (repo.metadata_dir / "timestamp.json").write_bytes(old_timestamp)
    err = refused(client_for(tmp_path, repo, https_repo, pki))
    assert err.kind is RefusalKind.ROLLBACK
    assert "rollback attack refused" in str(err) and "timestamp version" in str(err)


def test_freeze_attack_refused(tmp_path, repo, https_repo, pki):
    past = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=1)
    repo.publish("0.2.0", TAR, timestamp_expires=past)
    err = refused(client_for(tmp_path, repo, https_repo, pki))
    assert err.kind is RefusalKind.FREEZE
    assert "timestamp.json is expired" in str(err)


def test_mix_and_match_refused(tmp_path, repo, https_repo, pki):
    repo.publish("0.2.0", TAR)
    snap_v = repo.snapshot.signed.version
    targets_v = repo.targets.signed.version
    repo.publish("0.3.0", TAR + b"3")
    # the attacker answers the current snapshot's targets URL with a different state's targets
    newer = (repo.metadata_dir / f"{repo.targets.signed.version}.targets.json").read_bytes()
    # serve a coherent older timestamp/snapshot pair but the newer targets under the old name
    repo.timestamp.signed.version += 1
    repo.timestamp.signed.snapshot_meta.version = snap_v
    repo.write_timestamp()
    (repo.metadata_dir / f"{targets_v}.targets.json").write_bytes(newer)
    err = refused(client_for(tmp_path, repo, https_repo, pki))
    assert err.kind is RefusalKind.MIX_AND_MATCH
    assert f"Expected targets v{targets_v}" in str(err)


def test_tampered_package_refused(tmp_path, repo, https_repo, pki):
    blob_path = repo.publish("0.2.0", TAR)
    data = bytearray(blob_path.read_bytes())
    data[len(data) // 2] ^= 0x01
    blob_path.write_bytes(bytes(data))
    client = client_for(tmp_path, repo, https_repo, pki)
    release = client.check("0.1.0")
    with pytest.raises(UpdateError) as info:
        client.download(release, "0.1.0")
    assert info.value.kind is RefusalKind.TAMPERED
    assert "hash" in str(info.value).lower()
    assert not any((tmp_path / "device" / "dl").iterdir())  # nothing left behind


def test_targets_signed_with_wrong_key_refused(tmp_path, repo, https_repo, pki):
    repo.publish("0.2.0", TAR)
    attacker = generate_signer()
    repo.targets.signed.targets["vigilcam.pkg"].unrecognized_fields["custom"]["vigilcam"][
        "version"] = "9.9.9"
    forged = repo.signed_bytes(repo.targets, [attacker])
    (repo.metadata_dir / f"{repo.targets.signed.version}.targets.json").write_bytes(forged)
    err = refused(client_for(tmp_path, repo, https_repo, pki))
    assert err.kind is RefusalKind.SIGNATURE
    assert "targets" in str(err)


def test_whole_repository_signed_by_other_keys_refused(tmp_path, repo, https_repo, pki):
    from tests.update.helpers import new_repository

    client = client_for(tmp_path, repo, https_repo, pki)  # pins the genuine root
    evil = new_repository(tmp_path / "evil")
    evil.publish("6.6.6", TAR)
    shutil.rmtree(repo.metadata_dir)
    shutil.copytree(evil.metadata_dir, repo.metadata_dir)
    shutil.copytree(evil.targets_dir, repo.targets_dir)
    err = refused(client)
    assert err.kind is RefusalKind.SIGNATURE
    assert "timestamp" in str(err)


def test_server_certificate_must_verify(tmp_path, repo, https_repo, pki):
    repo.publish("0.2.0", TAR)
    client = UpdateClient(metadata_dir=tmp_path / "m", downloads_dir=tmp_path / "d",
                          trusted_root=repo.trusted_root(), repository_url=https_repo.url,
                          context=client_context())  # system CAs: the test CA is unknown
    err = refused(client)
    assert err.kind is RefusalKind.DOWNLOAD
    assert "CERTIFICATE_VERIFY_FAILED" in str(err) or "certificate" in str(err).lower()


def test_plain_http_refused(tmp_path, repo, https_repo, pki):
    client = UpdateClient(metadata_dir=tmp_path / "m", downloads_dir=tmp_path / "d",
                          trusted_root=repo.trusted_root(),
                          repository_url=https_repo.url.replace("https:", "http:"),
                          context=client_context(cafile=pki.ca_file))
    err = refused(client)
    assert err.kind is RefusalKind.DOWNLOAD and "only https://" in str(err)


def test_wrapped_package_key_needs_the_distribution_key(tmp_path, repo, https_repo, pki):
    dist = bytes(range(32))
    repo.publish("0.2.0", TAR, distribution_key=dist)
    targets = (repo.metadata_dir / f"{repo.targets.signed.version}.targets.json").read_text()
    assert '"wrapped_key"' in targets and '"key"' not in targets
    good = client_for(tmp_path, repo, https_repo, pki, "good", distribution_key=dist)
    assert good.download(good.check("0.1.0"), "0.1.0") == TAR
    other = client_for(tmp_path, repo, https_repo, pki, "other", distribution_key=bytes(32))
    with pytest.raises(UpdateError) as info:
        other.download(other.check("0.1.0"), "0.1.0")
    assert info.value.kind is RefusalKind.DECRYPT
