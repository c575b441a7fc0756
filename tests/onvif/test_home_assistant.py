"""Home Assistant's ONVIF setup, run by the library it uses (onvif-zeep-async), against a
running ``vigilcam run`` over HTTPS: the calls of ``ONVIFDevice.async_setup`` in its order,
then the stream URI played by ffprobe with the ONVIF credential substituted as Home Assistant
does, and the snapshot URI fetched with HTTP Digest (IoT-1005-1 5.4.2.1, 5.1.2.1)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from importlib import metadata
from urllib.parse import quote, urlsplit, urlunsplit

import httpx
import pytest
from onvif import ONVIFCamera

from tests.onvif.onvif_support import wsdl_dir
from tests.support import free_port, read_log, run_cli, start_server


def with_credentials(uri: str, user: str, password: str) -> str:
    """What Home Assistant's camera does with the stream URI (user and password replaced)."""
    parts = urlsplit(uri)
    host = parts.hostname or ""
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{host}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))


@pytest.mark.peer
@pytest.mark.slow
def test_home_assistant_setup_sequence_stream_and_snapshot(tmp_path):
    import onvif

    pinned_dir = os.environ.get("VIGILCAM_ONVIF_CLIENT_DIR")
    if pinned_dir:  # run by test_home_assistant_pinned.py with Home Assistant's pinned release
        assert onvif.__file__.startswith(pinned_dir), onvif.__file__
        assert metadata.version("onvif-zeep-async") == os.environ["VIGILCAM_ONVIF_CLIENT_VERSION"]
    data = tmp_path / "data"
    assert run_cli("init", "--data-dir", str(data)).returncode == 0
    assert run_cli("user", "add", "ha", "--role", "viewer", "--data-dir", str(data)
                   ).returncode == 0
    enabled = run_cli("onvif", "enable", "--data-dir", str(data))
    assert enabled.returncode == 0, enabled.stderr
    cred = run_cli("user", "onvif-credential", "ha", "--data-dir", str(data))
    assert cred.returncode == 0, cred.stderr
    secret = cred.stdout.strip().splitlines()[-1]
    assert len(secret) >= 32
    rtsps = free_port()
    srv = start_server(data, "--rtsps-port", str(rtsps))
    try:
        result = asyncio.run(_home_assistant(srv.port, secret))
        stream_uri, snapshot = result["stream_uri"], result["snapshot"]
        assert stream_uri == f"rtsps://127.0.0.1:{rtsps}/main"
        assert snapshot.startswith(b"\xff\xd8")
        probe = subprocess.run(
            ["ffprobe", "-v", "error", "-rtsp_transport", "tcp", "-tls_verify", "0",
             "-show_streams", "-of", "json", with_credentials(stream_uri, "ha", secret)],
            capture_output=True, text=True, timeout=60)
        assert probe.returncode == 0, probe.stderr
        stream = json.loads(probe.stdout)["streams"][0]
        assert (stream["codec_name"], stream["width"], stream["height"]) == ("h264", 1280, 720)
        # one character changed (the secret is random: it may end in any of them)
        wrong_secret = secret[:-1] + ("x" if secret[-1] != "x" else "y")
        wrong = subprocess.run(
            ["ffprobe", "-v", "error", "-rtsp_transport", "tcp", "-tls_verify", "0",
             with_credentials(stream_uri, "ha", wrong_secret)],
            capture_output=True, text=True, timeout=60)
        assert wrong.returncode != 0
        # The snapshot URI with Digest SHA-256, Digest MD5 and Basic (TLS only).
        uri = result["snapshot_uri"]
        with srv.client() as web:
            assert web.get(uri).status_code == 401
            challenges = web.get(uri).headers.get_list("www-authenticate")
            assert any("algorithm=SHA-256" in c for c in challenges)
            assert any("algorithm=MD5" in c for c in challenges)
            for auth in (httpx.DigestAuth("ha", secret), httpx.BasicAuth("ha", secret)):
                r = web.get(uri, auth=auth)
                assert r.status_code == 200 and r.content.startswith(b"\xff\xd8"), r.text
            assert web.get(uri, auth=httpx.BasicAuth("ha", "wrong")).status_code == 401
        run_cli("onvif", "disable", "--data-dir", str(data))
        with srv.client() as web:
            assert web.post("/onvif/device_service", content=b"<x/>").status_code == 404
    finally:
        srv.kill()
    log = read_log(data)
    logins = [e for e in log if e["action"] == "auth.login"
              and e["details"].get("interface") == "onvif" and e["result"] == "ok"]
    assert logins and logins[0]["user"] == "ha"
    views = [e for e in log if e["action"] == "video.view_started"]
    assert any(v["user"] == "ha" and v["details"]["kind"] == "rtsps" for v in views)
    assert any(e["action"] == "config.onvif_changed" for e in log)
    assert secret not in (data / "seclog" / "current.jsonl").read_text()


async def _home_assistant(port: int, secret: str) -> dict:
    """homeassistant/components/onvif/device.py ``async_setup``, call for call."""
    cam = ONVIFCamera("https://127.0.0.1", port, "ha", secret, f"{wsdl_dir()}/",
                      no_cache=True)
    try:
        await cam.update_xaddrs()
        assert set(cam.xaddrs) >= {"http://www.onvif.org/ver10/media/wsdl",
                                   "http://www.onvif.org/ver10/events/wsdl"}
        assert all(x.startswith(f"https://127.0.0.1:{port}/") for x in cam.xaddrs.values())
        capabilities = await cam.get_capabilities()
        assert capabilities["Events"]["WSPullPointSupport"] is True
        device_mgmt = await cam.create_devicemgmt_service()
        device_time = await device_mgmt.GetSystemDateAndTime()
        assert device_time.DateTimeType == "NTP" and device_time.UTCDateTime.Date.Year >= 2024
        info = await device_mgmt.GetDeviceInformation()
        assert info.Model == "vigilcam VC-1" and info.SerialNumber.startswith("VC1-")
        assert info.FirmwareVersion and info.HardwareId
        interfaces = await device_mgmt.GetNetworkInterfaces()
        assert [i.Info.HwAddress for i in interfaces if i.Enabled]
        media = await cam.create_media_service()
        media_caps = await media.GetServiceCapabilities()
        assert media_caps.SnapshotUri is True
        profiles = await media.GetProfiles()
        h264 = [p for p in profiles if p.VideoEncoderConfiguration
                and p.VideoEncoderConfiguration.Encoding == "H264"]
        assert [(p.token, p.VideoEncoderConfiguration.Resolution.Width) for p in h264] == [
            ("main", 1280), ("sub", 640)]
        assert h264[0].VideoSourceConfiguration.SourceToken == "vs_main"
        req = media.create_type("GetStreamUri")
        req.ProfileToken = h264[0].token
        req.StreamSetup = {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}}
        stream = await media.GetStreamUri(req)
        snapshot_uri = await cam.get_snapshot_uri(h264[0].token)
        snapshot = await cam.get_snapshot(h264[0].token)
        return {"stream_uri": stream.Uri, "snapshot": snapshot,
                "snapshot_uri": snapshot_uri}
    finally:
        await cam.close()
