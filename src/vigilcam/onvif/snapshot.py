"""The ONVIF snapshot URI: a JPEG over HTTPS with HTTP Digest (SHA-256, MD5) or Basic.

Owns how ``GET /onvif/snapshot/{profile}.jpg`` is authenticated. ONVIF clients (Home
Assistant, NVRs) fetch it with the user's ONVIF credential and HTTP authentication, not with a
web session. Serves IoT-1005-1 5.1.2.2 (through the one login procedure, throttled), 5.1.1.3
(Digest nonces are HMAC-made, expiring and their counts single-use: ``auth/digest.py``),
5.4.2.2 (Basic only ever over this TLS listener), 5.1.2.1 (the role must allow
``take_snapshot``) and TAICS 5.5.1.1 (every snapshot is a viewer event, rate-limited like the
web API's).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vigilcam.auth.accounts import User
from vigilcam.auth.digest import (
    AuthParseError,
    BasicAuth,
    DigestAuth,
    DigestVerifier,
    parse_authorization,
)
from vigilcam.auth.permissions import Permission, allowed
from vigilcam.auth.service import OK, THROTTLED, VOID, Check
from vigilcam.media.pipeline import MediaUnavailable

from .gate import login

if TYPE_CHECKING:
    from .edge import OnvifEdge

def _challenge(verifier: DigestVerifier, binding: str, stale: bool = False) -> Response:
    nonce = verifier.nonces.issue(binding)
    response = JSONResponse({"error": "authentication required"}, status_code=401)
    for value in verifier.challenges(nonce, stale=stale):
        response.headers.append("WWW-Authenticate", value)
    return response


async def snapshot_endpoint(request: Request, edge: OnvifEdge) -> Response:
    device = edge.device
    if not edge.switch.current().enabled:
        raise HTTPException(404, "Not Found")
    token = request.path_params["token"]
    if token not in ("main", "sub"):
        raise HTTPException(404, "Not Found")
    source = request.client.host if request.client else "unknown"
    binding = source  # Digest nonces are bound to the client address
    verifier = edge.snapshot_digest
    header = request.headers.get("authorization")
    if header is None:
        return _challenge(verifier, binding)
    try:
        auth = parse_authorization(header)
    except AuthParseError:
        return _challenge(verifier, binding)
    creds = device.services.onvif_credentials
    uri = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    stale = False

    def verify(user: User | None) -> Check:
        nonlocal stale
        if isinstance(auth, BasicAuth):
            return creds.check(user.username if user else auth.username, auth.password) and (
                user is not None)
        assert isinstance(auth, DigestAuth)
        secret = creds.find(user.username) if user is not None else None
        verdict = verifier.verify(auth, secret, "GET", uri, binding,
                                  uri_matches=lambda a, b: a.split("?")[0] == b.split("?")[0])
        if verdict == "stale":
            stale = True
            return VOID
        return True if verdict == "ok" else ("replay" if verdict == "replay" else False)

    outcome = login(device.auth, auth.username[:64], source, verify, announce=False)
    if stale or outcome.status == VOID:
        return _challenge(verifier, binding, stale=True)
    if outcome.status == THROTTLED:
        retry = str(max(1, int(outcome.retry_after + 0.999)))
        return JSONResponse({"error": "too many failed logins", "retry_after": int(retry)},
                            status_code=429, headers={"Retry-After": retry})
    if outcome.status != OK or outcome.user is None:
        return _challenge(verifier, binding)
    user = outcome.user
    if not allowed(user.role, Permission.TAKE_SNAPSHOT):
        return JSONResponse({"error": "your role does not allow this"}, status_code=403)
    wait = device.services.snapshots.allow(user.username)
    if wait:
        retry = str(max(1, int(wait + 0.999)))
        return JSONResponse({"error": "too many snapshots; slow down"}, status_code=429,
                            headers={"Retry-After": retry})
    viewers = device.services.viewers
    media = device.services.media
    if viewers.privacy or media is None:
        return JSONResponse({"error": "video is not available"}, status_code=503)
    try:
        jpeg = await media.snapshot_jpeg(token)
    except MediaUnavailable as exc:
        return JSONResponse({"error": str(exc)}, status_code=503)
    viewers.once(user.username, source, "onvif-snapshot", token)
    return Response(jpeg, media_type="image/jpeg")
