"""Per-user stream credentials: random, in the vault, rotated/revoked with events, checked."""

from __future__ import annotations

import pytest

from vigilcam.app import Device
from vigilcam.auth.permissions import Role
from vigilcam.auth.stream_credentials import (
    StreamCredentialError,
    StreamCredentials,
    stream_credential_command,
    vault_name,
)


@pytest.fixture
def creds(device: Device) -> StreamCredentials:
    device.accounts.add("bob", Role.VIEWER, "x" * 20, must_change=False, check_policy=False)
    device.accounts.add("carol", Role.OPERATOR, "y" * 20, must_change=False, check_policy=False)
    return device.services.stream_credentials


def actions(device: Device) -> list[tuple[str, str | None]]:
    return [(e.action, e.user) for e in reversed(device.seclog.query(action="stream_credential"))]


def test_per_user_random_in_vault_and_not_the_password(device: Device,
                                                       creds: StreamCredentials) -> None:
    a = creds.get_or_create("bob")
    assert creds.get_or_create("bob") == a  # stable until rotated
    b = creds.get_or_create("carol")
    assert a != b and len(a) >= 32 and a != "x" * 20
    assert device.vault.find(vault_name("bob")) == a.encode()
    assert a.encode() not in device.paths.vault_file.read_bytes()  # encrypted at rest
    assert actions(device) == [("stream_credential.created", "bob"),
                               ("stream_credential.created", "carol")]


def test_check_rotate_revoke(device: Device, creds: StreamCredentials) -> None:
    seen: list[str] = []
    creds.on_change(seen.append)
    old = creds.get_or_create("bob")
    assert creds.check("bob", old)
    assert not creds.check("bob", old[:-1] + ("A" if old[-1] != "A" else "B"))
    assert not creds.check("bob", "")
    assert not creds.check("nobody", old)
    new = creds.rotate("bob", by="admin")
    assert new != old and creds.check("bob", new) and not creds.check("bob", old)
    assert creds.revoke("bob", by="admin") is True
    assert not creds.check("bob", new) and creds.find("bob") is None
    assert creds.revoke("bob") is False
    assert seen == ["bob", "bob"]
    events = device.seclog.query(action="stream_credential.r")
    assert {(e.action, e.user, e.details.get("by")) for e in events} == {
        ("stream_credential.rotated", "bob", "admin"), ("stream_credential.revoked", "bob", "admin")
    }


def test_unknown_or_disabled_user_refused(device: Device, creds: StreamCredentials) -> None:
    with pytest.raises(StreamCredentialError, match="no user"):
        creds.get_or_create("ghost")
    device.accounts.set_disabled("carol", True)
    with pytest.raises(StreamCredentialError, match="disabled"):
        creds.rotate("carol")


def test_cli_command(device: Device, creds: StreamCredentials) -> None:
    first = stream_credential_command(creds, "bob")
    assert stream_credential_command(creds, "bob") == first
    rotated = stream_credential_command(creds, "bob", rotate=True)
    assert rotated != first and creds.check("bob", rotated)
    with pytest.raises(StreamCredentialError):
        stream_credential_command(creds, "ghost")
