"""Recordings over HTTPS: timeline, playback, export, delete by range, recording mode.

Serves IoT-1005-1 5.1.2.1 (viewer and up may watch; export is its own permission; deletion
needs erase_data), TAICS 5.5.1.1 (each playback and export opens a viewing session: a security
event and an alert; an admin can end it), IoT-1005-1 5.4.1.2 (segments are decrypted in memory
and streamed; an export is built in an anonymous in-memory file, never a plaintext file on
disk), TAICS 5.5.2.3 (only over the AES-256-preferring TLS listener), IoT-1005-1 5.5.2.1
(every query parameter bounded, unknown ones refused) and 5.7.1.1 (delete by range).

Each playback and export stream is re-checked while it runs (``vigilcam.viewers.revocation``):
when its user's grant is gone, or an admin ends it, the body is cut at once
(``web/cuttable.py``).

Playback (``GET /api/v1/recordings/play?from=T[&to=T]``) answers one continuous fragmented MP4
(``video/mp4``) built by ``PlaybackJoiner``; ``X-Playback-Start`` is the epoch time of its
first frame and ``X-Playback-Offset`` how many seconds into the stream ``from`` lies.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import weakref
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vigilcam.auth.permissions import Permission as P
from vigilcam.media.fmp4 import Fmp4Error
from vigilcam.platform.events import Event
from vigilcam.recording.playback import ExportError, PlaybackJoiner
from vigilcam.recording.service import parse_time
from vigilcam.viewers.registry import PrivacyModeOn, ViewerRegistry, ViewingSession
from vigilcam.viewers.revocation import Admission
from vigilcam.web.cuttable import CuttableStreamingResponse
from vigilcam.web.errors import ApiError, parse_body
from vigilcam.web.guard import Principal, admission_of, client_address, device_of
from vigilcam.web.route_spec import RouteSpec
from vigilcam.web.schemas import Body
from vigilcam.web.work_gate import WorkGate

if TYPE_CHECKING:
    from vigilcam.recording.service import RecordingService

MAX_LIST_RANGE_S = 366 * 86400.0
MAX_PLAY_RANGE_S = 24 * 3600.0
DEFAULT_PLAY_S = 3600.0
MAX_EXPORT_RANGE_S = 3600.0
MAX_EXPORT_BYTES = 1024 * 1024 * 1024
MAX_PARAM_LEN = 40
EXPORT_CHUNK = 256 * 1024


class ModeBody(Body):
    mode: Literal["continuous", "events", "off"]


class Query:
    """Validated query parameters: only the allowed names, once each, short values."""

    def __init__(self, request: Request, allowed: set[str]) -> None:
        self.values: dict[str, str] = {}
        for name, value in request.query_params.multi_items():
            if name not in allowed:
                raise ApiError(400, f"unknown query parameter {name[:32]!r}; allowed: "
                               f"{', '.join(sorted(allowed))}")
            if name in self.values:
                raise ApiError(400, f"query parameter {name!r} given twice")
            if len(value) > MAX_PARAM_LEN:
                raise ApiError(400, f"query parameter {name!r} is too long")
            self.values[name] = value

    def time(self, name: str, *, required: bool) -> float | None:
        raw = self.values.get(name)
        if raw is None or raw == "":
            if required:
                raise ApiError(400, f"query parameter {name!r} is required (ISO-8601 or epoch "
                               "seconds)")
            return None
        try:
            return parse_time(raw)
        except ValueError as exc:
            raise ApiError(400, f"{name}: {exc}") from None

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        raw = self.values.get(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ApiError(400, f"{name} must be an integer") from None
        if not low <= value <= high:
            raise ApiError(400, f"{name} must be within {low}..{high}")
        return value


def _range(q: Query, *, required: bool, max_span: float) -> tuple[float | None, float | None]:
    start = q.time("from", required=required)
    end = q.time("to", required=required)
    if start is not None and end is not None:
        if end <= start:
            raise ApiError(400, "'to' must be after 'from'")
        if end - start > max_span:
            raise ApiError(400, f"the range may span at most {max_span / 3600:g} hours")
    return start, end


def _service(request: Request) -> RecordingService:
    service = device_of(request).services.recording
    if service is not None and service.unavailable:
        raise ApiError(503, "recordings are unavailable: the store cannot be read; see the "
                       "security log (recording.unavailable)")
    if service is None or service.store is None:
        raise ApiError(503, "the recording service is not running")
    return service  # type: ignore[no-any-return]


def _viewers(request: Request) -> ViewerRegistry:
    return device_of(request).services.viewers  # type: ignore[no-any-return]


def _iso(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


def _admitted(request: Request, principal: Principal, permission: P) -> Admission:
    """What the stream is re-checked against while it runs (the account may be gone already)."""
    admission = admission_of(request, principal, permission)
    if admission is None:
        raise ApiError(401, "login required")
    return admission


@dataclass(frozen=True)
class _Viewing:
    """One recording streamed to one viewer: its viewing session, and ``ended``, set (from any
    thread) when an admin ends the session or its grant is gone, which cuts the body."""

    viewers: ViewerRegistry
    session: ViewingSession
    ended: asyncio.Event

    def close(self, reason: str) -> None:
        self.viewers.closed(self.session, reason=reason)

    def respond(self, body: AsyncIterator[bytes], headers: dict[str, str]) -> Response:
        # A client gone before the first byte: the generator never runs its finally; the
        # session must still end (no viewer may stay listed forever).
        weakref.finalize(body, self.viewers.closed, self.session, "aborted")
        return CuttableStreamingResponse(body, self.ended, media_type="video/mp4",
                                         headers=headers)


def _open_viewing(request: Request, principal: Principal, admission: Admission,
                  kind: str) -> _Viewing:
    """Open the viewing session of a playback or export (503 while privacy mode is on)."""
    viewers = _viewers(request)
    ended = asyncio.Event()
    loop = asyncio.get_running_loop()

    def cut() -> None:  # an admin ended this viewing session, or its grant is gone
        with contextlib.suppress(RuntimeError):  # the loop is gone: so is the response
            loop.call_soon_threadsafe(ended.set)

    try:
        session = viewers.open(principal.username, client_address(request), kind, "main",
                               close=cut, admission=admission)
    except PrivacyModeOn as exc:
        raise ApiError(503, str(exc)) from None
    return _Viewing(viewers, session, ended)


async def recordings_list(request: Request, principal: Principal) -> Response:
    """Recorded segments and timeline spans in [from, to) (both optional)."""
    q = Query(request, {"from", "to", "limit"})
    start, end = _range(q, required=False, max_span=MAX_LIST_RANGE_S)
    limit = q.integer("limit", 2000, 1, 20000)
    service = _service(request)
    listing = await service.listing(start, end)
    body = listing.to_json()
    segments = body["segments"]
    assert isinstance(segments, list)
    body["truncated"] = len(segments) > limit
    body["segments"] = segments[-limit:]
    body["mode"] = service.mode
    return JSONResponse(body)


async def recordings_play(request: Request, principal: Principal) -> Response:
    """Play from ``from`` (to ``to``, default one hour later): one continuous fMP4 stream."""
    q = Query(request, {"from", "to"})
    start = q.time("from", required=True)
    assert start is not None
    end = q.time("to", required=False)
    if end is None:
        end = start + DEFAULT_PLAY_S
    if end <= start:
        raise ApiError(400, "'to' must be after 'from'")
    if end - start > MAX_PLAY_RANGE_S:
        raise ApiError(400, f"the range may span at most {MAX_PLAY_RANGE_S / 3600:g} hours")
    service = _service(request)
    listing = await service.listing(start, end)
    if not listing.segments:
        raise ApiError(404, "nothing was recorded in that range")
    first = listing.segments[0]
    viewing = _open_viewing(request, principal, _admitted(request, principal, P.VIEW_RECORDINGS),
                            "playback")

    async def body() -> AsyncIterator[bytes]:
        joiner = PlaybackJoiner()
        reason = "ended"
        try:
            async for seg in service.playback(start, end):
                if viewing.ended.is_set():
                    reason = "terminated"
                    break
                try:
                    data = joiner.feed(seg.data)
                except Fmp4Error as exc:
                    service.device.record(Event.RECORDING_SEGMENT_REFUSED, result="failure",
                                          segment_id=str(seg.record.id), error=str(exc)[:200])
                    continue
                yield data
        finally:
            viewing.close(reason)

    offset = max(0.0, start - first.start)
    return viewing.respond(body(), {
        "X-Playback-Start": f"{first.start:.3f}",
        "X-Playback-Offset": f"{offset:.3f}",
        "X-Viewing-Session": viewing.session.id,
    })


class _Release:
    """Close a file descriptor exactly once, whoever asks first."""

    def __init__(self, fd: int, ticket: Callable[[], None]) -> None:
        self._fd: int | None = fd
        self._ticket = ticket

    def __call__(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)
            self._ticket()  # the export's slot in the work gate (WorkGate)


def _memfd_export_path() -> tuple[int, Path]:
    """An anonymous in-memory file: the MP4 never touches a disk."""
    fd = os.memfd_create("vigilcam-export", os.MFD_CLOEXEC)
    return fd, Path(f"/proc/self/fd/{fd}")


async def recordings_export(request: Request, principal: Principal) -> Response:
    """Download [from, to) as one standard MP4 (at most one hour per export)."""
    q = Query(request, {"from", "to"})
    start, end = _range(q, required=True, max_span=MAX_EXPORT_RANGE_S)
    assert start is not None and end is not None
    service = _service(request)
    listing = await service.listing(start, end)
    if not listing.segments:
        raise ApiError(404, "nothing was recorded in that range")
    if sum(s.size for s in listing.segments) > MAX_EXPORT_BYTES:
        raise ApiError(413, "that range is too large for one export; choose a shorter range")
    device = device_of(request)
    source = client_address(request)
    admission = _admitted(request, principal, P.EXPORT_RECORDINGS)
    gate: WorkGate = request.app.state.export_gate
    ticket = gate.enter(principal.username)
    if ticket is None:
        raise ApiError(429, "other exports are running; try again when they have finished",
                       headers={"Retry-After": "10"})
    try:
        viewing = _open_viewing(request, principal, admission, "export")
    except ApiError:
        ticket()
        raise
    fd, path = _memfd_export_path()
    try:
        result = await service.export(start, end, path)
    except ExportError as exc:
        os.close(fd)
        ticket()
        viewing.close("failed")
        device.record(Event.RECORDING_EXPORTED, result="failure", user=principal.username,
                      source=source, start=_iso(start), end=_iso(end), error=str(exc)[:200])
        raise ApiError(404, str(exc)) from None
    except BaseException:
        os.close(fd)
        ticket()
        viewing.close("failed")
        raise
    if viewing.session.revoked is not None:  # withdrawn while the MP4 was being built
        os.close(fd)
        ticket()
        raise ApiError(403, f"export stopped: {viewing.session.revoked}")
    size = os.fstat(fd).st_size
    device.record(Event.RECORDING_EXPORTED, user=principal.username, source=source,
                  start=_iso(start), end=_iso(end), segments=len(result.segments_used),
                  refused=len(result.segments_refused), duration=round(result.duration, 3),
                  bytes=size)
    release = _Release(fd, ticket)
    loop = asyncio.get_running_loop()

    async def body() -> AsyncIterator[bytes]:
        offset = 0
        try:
            while offset < size:
                chunk = await loop.run_in_executor(None, os.pread, fd, EXPORT_CHUNK, offset)
                if not chunk:
                    break
                offset += len(chunk)
                yield chunk
        finally:
            release()
            viewing.close("done" if offset >= size else "aborted")

    stream = body()
    weakref.finalize(stream, release)  # never started (client gone first): free the file too
    name = f"vigilcam-{_iso(start)}-{_iso(end)}.mp4".replace(":", "")
    return viewing.respond(stream, {
        "Content-Length": str(size),
        "Content-Disposition": f'attachment; filename="{name}"',
        "X-Export-Duration": f"{result.duration:.3f}",
    })


async def recordings_delete(request: Request, principal: Principal) -> Response:
    """Delete every recording overlapping [from, to)."""
    q = Query(request, {"from", "to"})
    start, end = _range(q, required=True, max_span=MAX_LIST_RANGE_S * 50)
    assert start is not None and end is not None
    report = await _service(request).delete_range(start, end)
    device_of(request).record(Event.RECORDING_DELETED, user=principal.username,
                              source=client_address(request), start=_iso(start),
                              end=_iso(end), segments=report.segments,
                              bytes=report.bytes_freed)
    return JSONResponse({"deleted": report.to_json()})


async def mode_get(request: Request, principal: Principal) -> Response:
    """The recording mode and the recorder's state."""
    Query(request, set())
    return JSONResponse(_service(request).status())


async def mode_set(request: Request, principal: Principal) -> Response:
    """Switch continuous / events / off now (until restart; the config file keeps it)."""
    body = await parse_body(request, ModeBody)
    service = _service(request)
    old = service.mode
    service.set_mode(body.mode)
    device_of(request).record(Event.RECORDING_MODE_CHANGED, user=principal.username,
                              source=client_address(request), old=old, new=body.mode)
    return JSONResponse({"mode": body.mode, "persistent": False,
                         "hint": "set record = \"" + body.mode + "\" in config.toml to keep "
                                 "this mode after a restart"})


RECORDING_ROUTES: list[RouteSpec] = [
    RouteSpec("GET", "/api/v1/recordings", P.VIEW_RECORDINGS, recordings_list,
              summary="Recorded segments and timeline spans (?from&to&limit)"),
    RouteSpec("GET", "/api/v1/recordings/play", P.VIEW_RECORDINGS, recordings_play,
              summary="Play back from a time: continuous fMP4 (?from&to)"),
    RouteSpec("GET", "/api/v1/recordings/export", P.EXPORT_RECORDINGS, recordings_export,
              summary="Export a range as MP4 (?from&to, at most one hour)"),
    RouteSpec("DELETE", "/api/v1/recordings", P.ERASE_DATA, recordings_delete,
              summary="Delete recordings in a range (?from&to)"),
    RouteSpec("GET", "/api/v1/recordings/mode", P.CONFIGURE_MEDIA, mode_get,
              summary="Recording mode and recorder state"),
    RouteSpec("PUT", "/api/v1/recordings/mode", P.CONFIGURE_MEDIA, mode_set, ModeBody,
              summary="Set the recording mode"),
]
