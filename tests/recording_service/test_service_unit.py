"""RecordingService, PlaybackJoiner and time parsing without a server.

The service is driven by a real StreamHub fed with a real H.264 test pattern (no camera): it
records into the encrypted store, reports recovery actions as security events (IoT-1005-1
5.6.1.1), switches modes, and erase_all replaces the master key (IoT-1005-1 5.7.1.1). The joiner
turns whole-segment files into one stream players decode (IoT-1005-1 5.4.1.2: in memory only).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import time
from dataclasses import dataclass, field

import av
import pytest

from tests.recording.rec_support import encode_pattern, retime
from vigilcam.app import Device
from vigilcam.media import fmp4
from vigilcam.media.fmp4 import Fmp4Error
from vigilcam.media.hub import StreamHub
from vigilcam.media.types import EncodedPacket, StreamInfo
from vigilcam.recording.planner import PlannerSettings
from vigilcam.recording.playback import PlaybackJoiner
from vigilcam.recording.recorder import RecorderSettings
from vigilcam.recording.segment_format import SegmentFormatError
from vigilcam.recording.service import (
    MASTER_KEY_NAME,
    RecordingService,
    parse_time,
)


@pytest.fixture(scope="module")
def pattern() -> tuple[StreamInfo, list[EncodedPacket]]:
    return encode_pattern(frames=90, fps=30, gop=15)


def test_parse_time_accepts_iso_and_epoch() -> None:
    assert parse_time("1700000000") == 1_700_000_000.0
    assert parse_time(" 1700000000.25 ") == 1_700_000_000.25
    assert parse_time("2023-11-14T22:13:20Z") == 1_700_000_000.0
    assert parse_time("2023-11-14T22:13:20") == 1_700_000_000.0  # naive = UTC
    assert parse_time("2023-11-15T06:13:20+08:00") == 1_700_000_000.0
    assert parse_time("2023-11-14T22:13:20.500Z") == 1_700_000_000.5
    for bad in ["", "yesterday", "1e400", "-5", "nan", "2023-13-01T00:00:00Z", "9" * 41,
                "99999999999"]:
        with pytest.raises(ValueError):
            parse_time(bad)


def _segment(info: StreamInfo, packets: list[EncodedPacket], per_fragment: int = 15) -> bytes:
    timeline = fmp4.FragmentTimeline(origin=packets[0].dts)
    return fmp4.init_segment(info) + b"".join(
        timeline.fragment(packets[i : i + per_fragment], last_duration=3000)
        for i in range(0, len(packets), per_fragment))


def test_joiner_makes_one_continuous_decodable_stream(pattern) -> None:
    info, packets = pattern
    seg_a = _segment(info, packets[:45])
    seg_b = _segment(info, retime(packets[:45], 300))  # later in time, dts restart at 0 too
    joiner = PlaybackJoiner()
    stream = joiner.feed(seg_a) + joiner.feed(seg_b)
    assert stream.count(b"moov") == 1  # same parameters: the init segment is sent once
    dts = []
    with av.open(io.BytesIO(stream), "r", format="mp4") as c:
        vs = c.streams.video[0]
        for pkt in c.demux(vs):
            if pkt.dts is not None:
                dts.append(pkt.dts)
        assert vs.codec_context.width == 320
    assert len(dts) == 90
    assert all(b > a for a, b in zip(dts, dts[1:], strict=False)), "decode times must rise"
    with av.open(io.BytesIO(stream), "r", format="mp4") as c:
        assert sum(1 for _ in c.decode(video=0)) == 90
    # plain concatenation would restart the clock: the joiner is what makes this pass
    naive = seg_a + seg_b
    with av.open(io.BytesIO(naive), "r", format="mp4") as c:
        raw = [p.dts for p in c.demux(c.streams.video[0]) if p.dts is not None]
    assert len(raw) < 90 or any(b <= a for a, b in zip(raw, raw[1:], strict=False))


def test_joiner_refuses_malformed_segments(pattern) -> None:
    info, packets = pattern
    good = _segment(info, packets[:30])
    with pytest.raises(Fmp4Error):
        PlaybackJoiner().feed(good[good.index(b"moof") - 4 :])  # no init
    with pytest.raises(Fmp4Error):
        PlaybackJoiner().feed(b"\x00\x00\x00\x08junk")


def test_a_refused_segment_leaves_the_joined_stream_as_it_was(pattern) -> None:
    """A segment refused half-way sends nothing and changes nothing: the next segment still
    gets its init segment and starts where the last one sent ended."""
    info, packets = pattern
    small, small_packets = encode_pattern(frames=30, fps=30, width=160, height=120, gop=15)
    broken = bytearray(_segment(small, small_packets))
    second_tfdt = broken.index(b"tfdt", broken.index(b"tfdt") + 4)
    broken[second_tfdt + 4] = 0  # the second fragment is not of the recorder's layout
    joiner = PlaybackJoiner()
    joiner.feed(_segment(info, packets[:30]))  # two fragments, 30 frames of 3000 ticks
    with pytest.raises(Fmp4Error, match="version 0"):
        joiner.feed(bytes(broken))
    after = joiner.feed(_segment(small, retime(small_packets, 300)))
    assert after.startswith(fmp4.init_segment(small))  # the new parameters are announced
    moofs = [start for kind, start, _ in fmp4.iter_boxes(after) if kind == b"moof"]
    seq = [int.from_bytes(after[m + 20 : m + 24], "big") for m in moofs]
    tfdt = after.index(b"tfdt", moofs[0]) + 8
    assert seq == [3, 4] and int.from_bytes(after[tfdt : tfdt + 8], "big") == 30 * 3000


@dataclass
class FakePipeline:
    """Only what the service uses of MediaPipeline: its hubs (real StreamHubs)."""

    hubs: dict[str, StreamHub] = field(
        default_factory=lambda: {"main": StreamHub("main"), "sub": StreamHub("sub")})


async def _feed(hub: StreamHub, info: StreamInfo, packets: list[EncodedPacket],
                loops: int) -> None:
    hub.set_info(info)
    n = len(packets)
    for k in range(loops):
        for pkt in retime(packets, k * n, wallclock0=1_800_000_000.0):
            hub.publish(pkt)
            await asyncio.sleep(0.002)


async def _settled_segments(service: RecordingService) -> list:
    """The segments once the recorder has written what it was handed (the count stays the
    same for 0.3 s; at most 5 s): under load it may still be closing one after the feed."""
    segments = (await service.listing()).segments
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        await asyncio.sleep(0.3)
        now = (await service.listing()).segments
        if len(now) == len(segments):
            break
        segments = now
    return list(segments)


def _events(device: Device, prefix: str) -> list:
    return [e for e in device.seclog.query(limit=10_000) if e.action.startswith(prefix)]


async def test_service_records_recovers_switches_and_erases(device: Device, pattern) -> None:
    info, packets = pattern
    # a stray file from a crash: recovery must remove it and say so
    (device.paths.recordings_dir / "segments" / "2027-01-01").mkdir(parents=True)
    stray = device.paths.recordings_dir / "segments" / "2027-01-01" / "stray.seg.partial"
    stray.write_bytes(b"x" * 100)
    pipeline = FakePipeline()
    service = RecordingService(
        device, pipeline, mode="continuous",  # type: ignore[arg-type]
        recorder_settings=RecorderSettings(planner=PlannerSettings(segment_seconds=1.0)))
    await service.start()
    try:
        recovered = _events(device, "recording.recovered")
        assert len(recovered) == 1 and recovered[0].details["kind"] == "orphan_removed"
        assert recovered[0].result == "error"
        assert not stray.exists()
        await _feed(pipeline.hubs["main"], info, packets, loops=2)  # 6 s of video
        listing = await service.listing()
        assert len(listing.segments) >= 3
        assert service.status()["segments"] == len(listing.segments)
        assert len(listing.spans) == 1
        # playback: whole decrypted segments, in memory
        got = [seg async for seg in service.playback(listing.segments[0].start,
                                                      listing.segments[-1].end)]
        assert len(got) == len(listing.segments)
        service.set_mode("off")
        assert service.mode == "off"
        with pytest.raises(ValueError):
            service.set_mode("sometimes")
        old_key = device.vault.get(MASTER_KEY_NAME)
        old_record = listing.segments[0]
        report = await service.erase_all()
        assert report.segments >= len(listing.segments)  # + the one "off" closed
        assert (await service.listing()).segments == []
        new_key = device.vault.get(MASTER_KEY_NAME)
        assert new_key != old_key
        assert service.mode == "off"
        # a segment written under the old key does not open under the new one
        assert service.store is not None
        with pytest.raises((SegmentFormatError, OSError)):
            service.store.read_all(old_record)
    finally:
        await service.stop()
    assert service.store is None


async def test_trigger_from_another_thread_records_an_event_segment(device: Device,
                                                                   pattern) -> None:
    info, packets = pattern
    pipeline = FakePipeline()
    service = RecordingService(
        device, pipeline, mode="events",  # type: ignore[arg-type]
        recorder_settings=RecorderSettings(planner=PlannerSettings(
            segment_seconds=1.0, preroll_seconds=0.5, postroll_seconds=0.5)))
    await service.start()
    try:
        hub = pipeline.hubs["main"]
        hub.set_info(info)
        for i, pkt in enumerate(retime(packets, 0, wallclock0=1_800_000_000.0)):
            if i == 30:
                await asyncio.to_thread(service.trigger, "motion")
            hub.publish(pkt)
            await asyncio.sleep(0.002)
        await asyncio.sleep(0.2)
        await service.stop()
        assert service.store is None
        await service.start()
        segs = (await service.listing()).segments
        assert segs and {s.trigger for s in segs} == {"motion"}
        with pytest.raises(ValueError):
            service.trigger("")
    finally:
        await service.stop()


def test_time_helpers_format_utc() -> None:
    t = parse_time("2026-11-23T17:00:00Z")
    assert dt.datetime.fromtimestamp(t, dt.UTC).hour == 17


async def test_an_unreadable_store_keeps_the_camera_running(device: Device) -> None:
    """IoT-1005-1 5.6.1.1: a damaged index is reported; the service start does not fail."""
    device.paths.recordings_dir.mkdir(parents=True)
    (device.paths.recordings_dir / "index.db").write_bytes(b"this is not a database" * 100)
    service = RecordingService(device, FakePipeline(), mode="continuous")  # type: ignore[arg-type]
    await service.start()
    try:
        assert service.store is None and service.unavailable
        assert service.status()["running"] is False
        events = _events(device, "recording.unavailable")
        assert len(events) == 1 and events[0].result == "error"
        with pytest.raises(RuntimeError, match="not available"):
            await service.listing()
        service.trigger("motion")  # harmless
    finally:
        await service.stop()


async def test_retention_comes_from_the_owners_config_file(provisioned, pattern) -> None:
    """[recording] in config.toml decides retention (IoT-1005-1 5.7.1.1): a tiny quota leaves
    only the newest segment; the inventory states the configured age."""
    from vigilcam.app import open_device
    from vigilcam.platform.config import ConfigError, load_settings
    from vigilcam.privacy.inventory import data_inventory

    paths, _ = provisioned
    config = paths.root / "config.toml"
    config.write_text("[recording]\nmax_age_days = 0\n")
    with pytest.raises(ConfigError, match="recording.max_age_days"):
        load_settings(config)
    config.write_text("[recording]\nmax_age_days = 7\nquota_gib = 0.000001\nmin_free_mib = 0\n")
    settings = load_settings(config)
    device = open_device(paths, settings)
    info, packets = pattern
    pipeline = FakePipeline()
    service = RecordingService(
        device, pipeline, mode="continuous",  # type: ignore[arg-type]
        recorder_settings=RecorderSettings(planner=PlannerSettings(segment_seconds=1.0)),
        retention_interval=3600)
    await service.start()
    try:
        assert service.policy.max_age_s == 7 * 86400
        assert service.policy.quota_bytes == int(0.000001 * (1 << 30))
        await _feed(pipeline.hubs["main"], info, packets, loops=2)
        before = await _settled_segments(service)
        assert len(before) >= 3
        deleted = await service.run_retention()
        after = (await service.listing()).segments
        assert deleted >= len(before) - 1 and len(after) <= 1
        assert service.status()["retention"]["max_age_days"] == 7
    finally:
        await service.stop()
        kinds = {k.id: k for k in data_inventory(paths, 365, settings.recording.max_age_days)}
        assert "deleted 7 days after recording" in kinds["recordings"].retention
        device.close()
