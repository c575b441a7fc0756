"""Live video in the browser, snapshots, who is watching, privacy mode.

Serves TAICS 5.5.1.1 (every new viewer is a security event, the owner sees who watches and can
end it), TAICS 5.5.2.3 / IoT-1005-1 5.4.2.1 (video only over the AES-256-preferring TLS of the
HTTPS listener: WSS on the same origin), IoT-1005-1 5.1.2.1 (viewer role and up may watch) and
5.5.2.1 (bounded input: stream names, rate-limited snapshots).

Live protocol on ``wss://HOST/api/v1/live?stream=main|sub``: a JSON ``{"type":"init","codec"}``
text message, the fMP4 init segment as a binary message, then one binary moof+mdat per frame;
JSON ``{"type":"state","state"}`` on signal loss, recovery and privacy mode. A client that
cannot keep up is moved forward to the next keyframe by the hub. A viewer whose grant is gone
(``vigilcam.viewers.revocation``: account disabled, password changed, session ended, role
changed, privacy mode) gets ``{"type":"state","state":"revoked","reason"}`` and a close with
code 1008 (IoT-1005-1 5.1.2.1).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from vigilcam.auth.permissions import Permission
from vigilcam.media import fmp4
from vigilcam.media.pipeline import MediaUnavailable
from vigilcam.media.types import StreamInfo
from vigilcam.viewers.registry import PrivacyModeOn, ViewerRegistry
from vigilcam.web.errors import ApiError, parse_body
from vigilcam.web.guard import Principal, admission_of, client_address, device_of
from vigilcam.web.schemas import PrivacyBody

if TYPE_CHECKING:
    from vigilcam.media.pipeline import MediaPipeline

STREAMS = ("main", "sub")
REVOKED_CLOSE = 1008  # RFC 6455 policy violation: this viewer may no longer watch
CLOSE_WAIT_S = 0.5  # a stalled client does not hold up the cut


def _media(conn: Request | WebSocket) -> MediaPipeline:
    media = device_of(conn).services.media
    if media is None:
        raise ApiError(503, "video is not running")
    return media  # type: ignore[no-any-return]


def _viewers(conn: Request | WebSocket) -> ViewerRegistry:
    return device_of(conn).services.viewers  # type: ignore[no-any-return]


async def snapshot(request: Request, principal: Principal) -> Response:
    """A JPEG of the current main-stream frame (rate-limited; each one is an access event)."""
    device = device_of(request)
    wait = device.services.snapshots.allow(principal.username)
    if wait:
        retry = max(1, int(wait + 0.999))
        return JSONResponse({"error": "too many snapshots; slow down", "retry_after": retry},
                            status_code=429, headers={"Retry-After": str(retry)})
    viewers = _viewers(request)
    if viewers.privacy:
        raise ApiError(503, "privacy mode is on: video is switched off")
    try:
        jpeg = await _media(request).snapshot_jpeg("main")
    except MediaUnavailable as exc:
        raise ApiError(503, str(exc)) from None
    viewers.once(principal.username, client_address(request), "snapshot", "main")
    return Response(jpeg, media_type="image/jpeg")


async def viewers_list(request: Request, principal: Principal) -> Response:
    """Who is watching right now, and whether privacy mode is on."""
    viewers = _viewers(request)
    return JSONResponse({"viewers": [s.public() for s in viewers.list()],
                         "privacy": viewers.privacy, "revoked": viewers.revocations()})


async def viewers_end(request: Request, principal: Principal) -> Response:
    """End a viewing session (the stream is cut at once)."""
    if not _viewers(request).end(request.path_params["viewing_id"], by=principal.username):
        raise ApiError(404, "no such viewing session")
    return JSONResponse({"ok": True})


async def privacy_set(request: Request, principal: Principal) -> Response:
    """Switch privacy mode: all video output stops and viewers see why."""
    body = await parse_body(request, PrivacyBody)
    _viewers(request).set_privacy(body.enabled, by=principal.username,
                                  source=client_address(request))
    return JSONResponse({"privacy": body.enabled})


async def media_state(request: Request, principal: Principal) -> Response:
    """The video pipeline's state and stream descriptions."""
    media = _media(request)
    streams = {}
    for name, hub in media.hubs.items():
        info = hub.info
        streams[name] = None if info is None else {
            "width": info.width, "height": info.height, "fps": info.fps,
            "codec": info.codec_string}
    return JSONResponse({"state": media.state, "privacy": _viewers(request).privacy,
                         "source": media.spec.kind,
                         "streams": streams})


async def tamper_status(request: Request, principal: Principal) -> Response:
    """Tamper and motion detection state, with the evidence pictures available."""
    detection = device_of(request).services.detection
    if detection is None:
        raise ApiError(503, "detection is not running")
    return JSONResponse(detection.status())


async def tamper_rebaseline(request: Request, principal: Principal) -> Response:
    """Accept the current view as normal (the camera was moved or refocused on purpose)."""
    detection = device_of(request).services.detection
    if detection is None:
        raise ApiError(503, "detection is not running")
    detection.rebaseline(principal.username, client_address(request))
    return JSONResponse({"ok": True})


async def tamper_evidence(request: Request, principal: Principal) -> Response:
    """The before/after thumbnail of the last tamper event of a kind (an access event)."""
    device = device_of(request)
    detection = device.services.detection
    kind, which = request.path_params["kind"], request.path_params["which"]
    if detection is None or which not in ("before", "after"):
        raise ApiError(404, "no such evidence")
    evidence = detection.evidence.get(kind)
    picture = getattr(evidence, f"{which}_jpeg", b"") if evidence else b""
    if not picture:
        raise ApiError(404, "no such evidence")
    _viewers(request).once(principal.username, client_address(request), "tamper-evidence", kind)
    return Response(picture, media_type="image/jpeg")


def _same_origin(ws: WebSocket) -> bool:
    """Refuse cross-site WebSocket hijacking: the Origin must be this very host."""
    origin = ws.headers.get("origin")
    host = ws.headers.get("host")
    return origin is not None and host is not None and origin == f"https://{host}"


async def live_socket(ws: WebSocket, principal: Principal) -> None:
    """Live fMP4 over WSS for a logged-in viewer (the route's requirement, VIEW_LIVE, is
    checked by ``guard.socket_guard`` before this runs)."""
    stream = ws.query_params.get("stream", "main")
    if not _same_origin(ws) or stream not in STREAMS:
        await ws.close(code=1008)
        return
    device = device_of(ws)
    media = device.services.media
    viewers: ViewerRegistry = device.services.viewers
    await ws.accept()
    if media is None:
        await ws.send_json({"type": "error", "error": "video is not running"})
        await ws.close()
        return
    closed = asyncio.Event()
    admission = admission_of(ws, principal, Permission.VIEW_LIVE)
    if admission is None:  # the account went away between the check and now
        await ws.close(code=REVOKED_CLOSE)
        return
    loop = asyncio.get_running_loop()

    def close_from_any_thread() -> None:  # admin end, revocation sweep, privacy mode
        with contextlib.suppress(RuntimeError):  # the loop is gone: so is the socket
            loop.call_soon_threadsafe(closed.set)

    try:
        session = viewers.open(principal.username, client_address(ws), "web-live", stream,
                               close=close_from_any_thread, admission=admission)
    except PrivacyModeOn as exc:
        await ws.send_json({"type": "state", "state": "privacy", "error": str(exc)})
        await ws.close()
        return
    hub = media.hubs[stream]
    subscription = hub.subscribe(from_last_keyframe=True)
    tasks = [
        asyncio.create_task(_pump(ws, subscription)),
        asyncio.create_task(_watch_state(ws, media, viewers)),
        asyncio.create_task(_drain(ws)),
        asyncio.create_task(closed.wait()),
    ]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        subscription.close()
        viewers.closed(session)
        if ws.application_state == WebSocketState.CONNECTED:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(_goodbye(ws, session.revoked), CLOSE_WAIT_S)


async def _goodbye(ws: WebSocket, revoked: str | None) -> None:
    """Tell a revoked viewer why, then close (a plain close otherwise)."""
    if revoked is None:
        await ws.close()
        return
    await ws.send_json({"type": "state", "state": "revoked", "reason": revoked})
    await ws.close(code=REVOKED_CLOSE, reason=revoked[:100])


async def _pump(ws: WebSocket, subscription: Any) -> None:
    """One fragment per frame on one timeline; a new init segment when the stream changes."""
    info: StreamInfo | None = None
    timeline = fmp4.FragmentTimeline()
    async for packet in subscription:
        current = subscription.info
        if packet.keyframe and current is not None and current != info:
            info = current
            await ws.send_json({"type": "init", "codec": info.codec_string,
                                "width": info.width, "height": info.height})
            await ws.send_bytes(fmp4.init_segment(info))
            timeline.restart(packet.dts)
        if info is not None:
            await ws.send_bytes(timeline.frame(packet))


async def _watch_state(ws: WebSocket, media: MediaPipeline, viewers: ViewerRegistry) -> None:
    last = None
    while True:
        state = "privacy" if viewers.privacy else media.state
        if state != last:
            await ws.send_json({"type": "state", "state": state})
            last = state
        await asyncio.sleep(0.5)


async def _drain(ws: WebSocket) -> None:
    """Read (and ignore) client messages so a close is noticed; bounded by ws_max_size."""
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                return
