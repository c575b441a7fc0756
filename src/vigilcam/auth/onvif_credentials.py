"""Per-user ONVIF credentials: random, per user, in the vault, revocable, role-limited.

Owns the secret an ONVIF client (Home Assistant, an NVR) presents in its WS-Security
UsernameToken, and which it then substitutes in the RTSPS stream URI and the snapshot URI.
Serves IoT-1005-1 5.1.3.1 (no default credential: made per user on request), 5.4.1.2 (kept only
in the AES-256-GCM vault: PasswordDigest and HTTP Digest need the secret itself), 5.1.2.1
(separate from the web password and the stream credential, so a leaked Home Assistant
configuration gives neither the web interface nor more than the user's role) and TAICS 5.2.8.1
(creation, rotation and revocation are security events).

The rules are those of :mod:`vigilcam.auth.stream_credentials`, whose class this one reuses
with its own vault names and event names (``onvif_credential.created|rotated|revoked``).
"""

from __future__ import annotations

from vigilcam.auth.stream_credentials import StreamCredentialError, StreamCredentials
from vigilcam.platform.events import Event

__all__ = ["OnvifCredentials", "VideoCredentials", "onvif_credential_command"]


class OnvifCredentials(StreamCredentials):
    """Create, rotate, revoke and check ONVIF credentials (one per user)."""

    PREFIX = "onvif_credential:"
    CREATED = Event.ONVIF_CREDENTIAL_CREATED
    ROTATED = Event.ONVIF_CREDENTIAL_ROTATED
    REVOKED = Event.ONVIF_CREDENTIAL_REVOKED


def onvif_credential_command(creds: OnvifCredentials, name: str, rotate: bool = False,
                             revoke: bool = False) -> str:
    """What ``vigilcam user onvif-credential NAME [--rotate|--revoke]`` prints.

    Raises :class:`StreamCredentialError` (clear message) for an unknown or disabled user.
    """
    if revoke:
        if not creds.revoke(name, by="cli"):
            raise StreamCredentialError(f"user {name!r} has no ONVIF credential")
        return f"ONVIF credential of {name} revoked"
    if rotate:
        return creds.rotate(name, by="cli")
    return creds.get_or_create(name, by="cli")


class VideoCredentials:
    """Either credential a video client may hold (stream or ONVIF): a stream stays granted
    while the very secret it was let in with is still one of the user's two."""

    def __init__(self, stream: StreamCredentials, onvif: OnvifCredentials) -> None:
        self._stores = (stream, onvif)

    def unchanged(self, username: str, secret: str) -> bool:
        return any([store.unchanged(username, secret) for store in self._stores])
