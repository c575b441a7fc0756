"""Playback and export of recordings: decrypt in memory, never write plaintext to disk.

Owns how recorded segments are turned back into video: one continuous fMP4 stream for playback
(``PlaybackJoiner``, on the fragment timeline of ``media/fmp4``) and a standard MP4 for export.
Serves IoT-1005-1 5.4.1.2 (plaintext exists only in memory, and in the export file the owner
asked for), and the integrity promise of the segment format: a segment that fails
authentication, or whose place on the timeline in the index is not the one it was recorded at,
is refused with an error naming it and skipped: the others still play, an export keeps the gap
where it was (never footage at the wrong time) and lists it in ``segments_refused``, and
``on_error`` tells the edge. Permission checks and access events belong to the edge that calls
this (web/CLI), which passes ``on_error`` to record refusals.
"""

from __future__ import annotations

import asyncio
import copy
import io
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av

from vigilcam.media.fmp4 import Fmp4Error, FragmentTimeline, iter_boxes
from vigilcam.recording.index import SegmentRecord
from vigilcam.recording.segment_format import SegmentFormatError
from vigilcam.recording.store import SegmentStore

ErrorSink = Callable[[SegmentRecord, str], None]
"""``on_error(segment, message)``: a segment refused (tampered, missing, unreadable)."""


class ExportError(Exception):
    """Nothing could be exported; the message says why."""


@dataclass(frozen=True)
class PlaybackSegment:
    record: SegmentRecord
    data: bytes
    """A whole fMP4 file (init segment + fragments), authenticated and decrypted."""
    offset: float = 0.0
    """Seconds into this segment where the requested time is (seek within the first one)."""


class PlaybackJoiner:
    """Whole-segment fMP4 files in, ONE continuous fMP4 stream out (pure, in memory).

    Each recorded segment is a complete file whose decode times start at zero. For a player
    (browser MSE, ffmpeg, PyAV) the joiner sends the init segment once (again only when the
    stream parameters change) and puts every fragment on one :class:`FragmentTimeline`:
    renumbered, and moved to start where the previous segment ends, so decode times keep
    rising across segments. Nothing is re-encoded or written anywhere. A segment that is not
    of the recorder's layout is refused whole (Fmp4Error) and leaves the stream as it was.
    """

    def __init__(self) -> None:
        self._init: bytes | None = None
        self._timeline = FragmentTimeline()

    def feed(self, data: bytes) -> bytes:
        """The bytes to send for one decrypted segment (raises Fmp4Error when malformed)."""
        boxes = iter_boxes(data)
        kinds = [b[0] for b in boxes]
        if len(kinds) < 2 or kinds[0] != b"ftyp" or kinds[1] != b"moov":
            raise Fmp4Error("segment does not start with ftyp + moov")
        init = data[boxes[0][1] : boxes[1][2]]
        out = bytearray() if init == self._init else bytearray(init)
        timeline = copy.copy(self._timeline)  # committed only when the whole segment reads
        shift = timeline.end
        for kind, start, end in boxes[2:]:
            if kind == b"moof":
                out += timeline.retime(data[start:end], shift)
            elif kind == b"mdat":
                out += data[start:end]
        self._init, self._timeline = init, timeline
        return bytes(out)


def _read(store: SegmentStore, rec: SegmentRecord, on_error: ErrorSink | None) -> bytes | None:
    try:
        return store.read_all(rec)
    except SegmentFormatError as exc:
        msg = f"segment {rec.id} refused: {exc}"
    except OSError as exc:
        msg = f"segment {rec.id} unreadable: {exc.strerror or exc}"
    if on_error is not None:
        on_error(rec, msg)
    return None


def iter_playback(
    store: SegmentStore,
    start: float,
    end: float,
    stream: str | None = None,
    on_error: ErrorSink | None = None,
) -> Iterator[PlaybackSegment]:
    """Segments overlapping [start, end), oldest first, each decrypted whole in memory.

    A segment is yielded only after every one of its chunks authenticated, so a viewer never
    receives half of a tampered segment. Seeking is starting a new iteration at the time wanted.
    """
    if end <= start:
        raise ValueError("playback range is empty: end must be after start")
    for rec in store.index.query(start, end, stream):
        data = _read(store, rec, on_error)
        if data is not None:
            yield PlaybackSegment(rec, data, max(0.0, start - rec.start))


async def aiter_playback(
    store: SegmentStore,
    start: float,
    end: float,
    stream: str | None = None,
    on_error: ErrorSink | None = None,
    executor: Executor | None = None,
) -> AsyncIterator[PlaybackSegment]:
    """``iter_playback`` for the asyncio edges: each read + decrypt runs in ``executor``
    (the caller's bounded pool; None = the loop's default), one segment ahead at most."""
    if end <= start:
        raise ValueError("playback range is empty: end must be after start")
    loop = asyncio.get_running_loop()
    records = await loop.run_in_executor(executor, store.index.query, start, end, stream)
    for rec in records:
        data = await loop.run_in_executor(executor, _read, store, rec, on_error)
        if data is not None:
            yield PlaybackSegment(rec, data, max(0.0, start - rec.start))


@dataclass(frozen=True)
class Span:
    """A stretch of continuous recording, for the timeline."""

    start: float
    end: float
    triggers: tuple[str, ...]
    segments: int


def timeline(records: Sequence[SegmentRecord], max_gap: float = 1.0) -> list[Span]:
    """Merge finished segments whose gap is at most ``max_gap`` seconds (pure)."""
    spans: list[Span] = []
    for rec in sorted((r for r in records if r.end is not None), key=lambda r: r.start):
        end = rec.end if rec.end is not None else rec.start
        if spans and rec.start - spans[-1].end <= max_gap:
            last = spans[-1]
            triggers = last.triggers + (() if rec.trigger in last.triggers else (rec.trigger,))
            spans[-1] = Span(last.start, max(last.end, end), triggers, last.segments + 1)
        else:
            spans.append(Span(rec.start, end, (rec.trigger,), 1))
    return spans


@dataclass
class ExportResult:
    path: Path
    duration: float
    packets: int
    segments_used: list[SegmentRecord] = field(default_factory=list)
    segments_refused: list[tuple[SegmentRecord, str]] = field(default_factory=list)


@dataclass
class _Pkt:
    abs_dts: float
    pts_offset: float
    keyframe: bool
    payload: bytes
    duration: float


def _demux(data: bytes, rec: SegmentRecord) -> tuple[av.video.stream.VideoStream, list[_Pkt]]:
    container = av.open(io.BytesIO(data), mode="r", format="mp4")
    if not container.streams.video:
        container.close()
        raise ExportError(f"segment {rec.id} has no video track")
    vs = container.streams.video[0]
    tb = vs.time_base or Fraction(1, 90_000)
    out: list[_Pkt] = []
    first: int | None = None
    for p in container.demux(vs):
        if p.dts is None or p.size == 0:
            continue
        first = p.dts if first is None else first
        pts = p.pts if p.pts is not None else p.dts
        out.append(
            _Pkt(
                abs_dts=rec.start + float((p.dts - first) * tb),
                pts_offset=float((pts - p.dts) * tb),
                keyframe=bool(p.is_keyframe),
                payload=bytes(p),
                duration=float((p.duration or 0) * tb),
            )
        )
    return vs, out


def export_mp4(
    store: SegmentStore,
    segments: Sequence[SegmentRecord],
    start: float,
    end: float,
    out_path: Path,
    on_error: ErrorSink | None = None,
) -> ExportResult:
    """Remux [start, end) of ``segments`` into one standard MP4 (``movflags=faststart``).

    Starts at the last keyframe at or before ``start`` so the first frame decodes. Refused
    segments are skipped (reported through ``on_error`` and in the result). The output file is
    the only plaintext written; on failure it is removed.
    """
    if end <= start:
        raise ValueError("export range is empty: end must be after start")
    result = ExportResult(out_path, 0.0, 0)
    tb_out = Fraction(1, 90_000)
    output: av.container.OutputContainer | None = None
    ostream: av.video.stream.VideoStream | None = None
    extradata: bytes | None = None
    t0: float | None = None
    last_dts = -1
    last_end = 0.0
    try:
        for rec in sorted(segments, key=lambda r: r.start):
            data = _read(store, rec, on_error)
            if data is None:
                result.segments_refused.append((rec, "refused"))
                continue
            try:
                vs, pkts = _demux(data, rec)
            except (av.FFmpegError, ExportError) as exc:
                msg = f"segment {rec.id} does not demux: {exc}"
                result.segments_refused.append((rec, msg))
                if on_error is not None:
                    on_error(rec, msg)
                continue
            if t0 is None:
                keys = [i for i, p in enumerate(pkts) if p.keyframe and p.abs_dts <= start]
                first_keys = [i for i, p in enumerate(pkts) if p.keyframe]
                if not first_keys:
                    continue
                begin = keys[-1] if keys else first_keys[0]
                pkts = pkts[begin:]
            pkts = [p for p in pkts if p.abs_dts < end]
            if not pkts:
                vs.container.close()
                continue
            if output is None:
                output = av.open(
                    str(out_path), mode="w", format="mp4", options={"movflags": "+faststart"}
                )
                ostream = output.add_stream_from_template(vs)
                ostream.time_base = tb_out
                extradata = vs.codec_context.extradata
            elif vs.codec_context.extradata != extradata:
                msg = f"segment {rec.id} changes the stream parameters; export stops before it"
                result.segments_refused.append((rec, msg))
                if on_error is not None:
                    on_error(rec, msg)
                vs.container.close()
                break
            vs.container.close()
            assert ostream is not None
            if t0 is None:
                t0 = pkts[0].abs_dts
            for p in pkts:
                dts = max(round((p.abs_dts - t0) / tb_out), last_dts + 1)
                packet = av.Packet(p.payload)
                packet.dts = dts
                packet.pts = dts + round(p.pts_offset / tb_out)
                packet.time_base = tb_out
                packet.is_keyframe = p.keyframe
                if p.duration > 0:
                    packet.duration = round(p.duration / tb_out)
                packet.stream = ostream
                output.mux(packet)
                last_dts = dts
                last_end = max(last_end, float(dts * tb_out) + p.duration)
                result.packets += 1
            result.segments_used.append(rec)
        if output is None:
            raise ExportError("no playable recording in the requested range")
        output.close()
        output = None
    except BaseException:
        if output is not None:
            try:
                output.close()
            except av.FFmpegError:
                pass
        try:
            out_path.unlink(missing_ok=True)
        except OSError:
            pass  # not a removable path (e.g. an anonymous memfd the caller owns)
        raise
    result.duration = last_end
    return result


def export_range(
    store: SegmentStore,
    start: float,
    end: float,
    out_path: Path,
    stream: str | None = None,
    on_error: ErrorSink | None = None,
) -> ExportResult:
    """Export what the index holds for [start, end) of one stream (default: the first found)."""
    segments = store.index.query(start, end, stream)
    if stream is None and segments:
        segments = [s for s in segments if s.stream == segments[0].stream]
    return export_mp4(store, segments, start, end, out_path, on_error)
