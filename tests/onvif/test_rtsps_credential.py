"""RTSPS takes a user's ONVIF credential (Home Assistant puts it in the stream URI), Basic and
Digest alike, and a stream opened with it ends when that credential is revoked or rotated,
not when the user's other credential changes (IoT-1005-1 5.1.2.1, 5.1.3.1)."""

from __future__ import annotations

import base64

from tests.onvif.onvif_support import secrets_of
from vigilcam.auth.digest import DigestAuth, NonceStore, digest_response
from vigilcam.auth.onvif_credentials import VideoCredentials
from vigilcam.auth.permissions import Permission
from vigilcam.rtsp.access import RtspAuthenticator
from vigilcam.viewers.revocation import AccountFacts, admit, verdict

URI = "rtsps://127.0.0.1:8322/main"


def _basic(user: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()


def test_onvif_credential_opens_rtsps_and_revocation_closes_it(onvif_device):
    secret = secrets_of(onvif_device)["ha"]
    auth = RtspAuthenticator(onvif_device, onvif_device.services.stream_credentials, NonceStore())
    decision = auth.authenticate(_basic("ha", secret), "DESCRIBE", URI, "198.51.100.9", "c1")
    assert decision.status == "ok" and decision.credential == secret
    # Digest with the ONVIF credential, on a server nonce.
    nonce, _ = auth.challenges("c2")
    d = DigestAuth("ha", "vigilcam", nonce, URI, "", "SHA-256", "auth", "00000001", "abc")
    header = (f'Digest username="ha", realm="vigilcam", nonce="{nonce}", uri="{URI}", '
              f'response="{digest_response(d, secret, "DESCRIBE")}", algorithm=SHA-256, '
              'qop=auth, nc=00000001, cnonce="abc"')
    decision = auth.authenticate(header, "DESCRIBE", URI, "198.51.100.9", "c2")
    assert decision.status == "ok" and decision.credential == secret
    # The revocation watcher's facts (app.revocation_watcher): the very secret must stay alive.
    facts = AccountFacts(onvif_device.accounts, onvif_device.sessions,
                         lambda: VideoCredentials(onvif_device.services.stream_credentials,
                                                  onvif_device.services.onvif_credentials))
    admission = admit(onvif_device.accounts, "ha", Permission.VIEW_LIVE, "stream-credential",
                      secret)
    assert admission is not None
    stream_secret = onvif_device.services.stream_credentials.get_or_create("ha")
    by_stream = admit(onvif_device.accounts, "ha", Permission.VIEW_LIVE, "stream-credential",
                      stream_secret)
    assert verdict(admission, facts.read(admission)) is None
    onvif_device.services.stream_credentials.rotate("ha")  # the other credential: no effect
    assert verdict(admission, facts.read(admission)) is None
    assert verdict(by_stream, facts.read(by_stream)) == "stream credential rotated or revoked"
    onvif_device.services.onvif_credentials.revoke("ha")
    assert verdict(admission, facts.read(admission)) == "stream credential rotated or revoked"
    refused = auth.authenticate(_basic("ha", secret), "DESCRIBE", URI, "198.51.100.9", "c3")
    assert refused.status == "denied"
