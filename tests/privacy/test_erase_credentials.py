"""The erase removes every per-user video credential (IoT-1005-1 5.7.1.1): kept, an old
stream or ONVIF client configuration would open the camera as a new account of the same
name."""

from __future__ import annotations

from vigilcam.auth.permissions import Role
from vigilcam.privacy.erase import erase_all_personal_data


async def test_erase_removes_stream_and_onvif_credentials(device) -> None:
    device.accounts.add("ha", Role.VIEWER, "x" * 20, must_change=False, check_policy=False)
    services = device.services
    stream = services.stream_credentials.get_or_create("ha")
    onvif = services.onvif_credentials.get_or_create("ha")

    report = await erase_all_personal_data(device, by="test", source="test")

    assert report.deleted["stream_credentials"] == 1
    assert report.deleted["onvif_credentials"] == 1
    assert [n for n in device.vault.names() if "credential:" in n] == []
    # The same name made again gets neither old secret.
    device.accounts.add("ha", Role.VIEWER, "y" * 20, must_change=False, check_policy=False)
    assert not services.stream_credentials.check("ha", stream)
    assert not services.onvif_credentials.check("ha", onvif)
