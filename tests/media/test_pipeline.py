"""Pipeline end to end with the test pattern: packets flow, info, snapshot, privacy, masks."""

from __future__ import annotations

import asyncio
import time

import av
import cv2
import numpy as np
import pytest

from vigilcam.media.hub import Subscription
from vigilcam.media.pipeline import AnalyticsFrame, MediaPipeline, MediaUnavailable
from vigilcam.media.testsrc import decode_burned_time
from vigilcam.media.types import EncodedPacket

pytestmark = pytest.mark.timeout(60)


async def take(sub: Subscription, n: int, timeout: float = 10.0) -> list[EncodedPacket]:
    out: list[EncodedPacket] = []

    async def run() -> None:
        async for p in sub:
            out.append(p)
            if len(out) >= n:
                return

    await asyncio.wait_for(run(), timeout)
    return out


def decode(packets: list[EncodedPacket]) -> list[np.ndarray]:
    dec = av.CodecContext.create("h264", "r")
    frames = []
    for p in packets:
        for f in dec.decode(av.Packet(p.annexb())):
            frames.append(f.to_ndarray(format="bgr24"))
    return frames


async def test_testsrc_end_to_end() -> None:
    events: list[tuple[str, str, dict[str, object]]] = []
    p = MediaPipeline("testsrc", width=1280, height=720, fps=15, sub_width=640,
                      sub_height=360, sub_fps=5, on_event=lambda *a: events.append(a))
    assert p.state == "starting"
    gray: list[AnalyticsFrame] = []
    p.add_analytics_listener(gray.append, fps=5, width=160)
    t0 = time.monotonic()
    p.start()
    try:
        main = p.hubs["main"].subscribe()
        sub = p.hubs["sub"].subscribe()
        got = await take(main, 30)  # ~2 s at 15 fps
        elapsed = time.monotonic() - t0
        subs = await take(sub, 5)
        assert p.state == "live"
        info = p.hubs["main"].info
        assert info is not None and (info.width, info.height, info.fps) == (1280, 720, 15)
        assert info.codec_string.startswith("avc1.")
        sinfo = p.hubs["sub"].info
        assert sinfo is not None and (sinfo.width, sinfo.height) == (640, 360)
        assert got[0].keyframe and subs[0].keyframe
        assert all(p.stream == "main" for p in got) and subs[0].stream == "sub"
        assert got[0].nals[0][0] & 0x1F == 7  # SPS leads every keyframe
        dts = [p.dts for p in got]
        assert dts == sorted(dts) and len(set(dts)) == len(dts)
        rate = (len(got) - 1) * 90000 / (dts[-1] - dts[0])
        assert 10 <= rate <= 17
        assert elapsed < 6.0
        assert any(p.keyframe for p in got[1:])  # GOP ~ 1 s
        frames = decode(got)
        assert len(frames) == 30 and frames[0].shape == (720, 1280, 3)
        # the burned-in time is the packet's capture wallclock
        for f, pkt in zip(frames, got, strict=True):
            t = decode_burned_time(f)
            assert t is not None and abs(t - pkt.wallclock) < 0.002
        jpeg = await p.snapshot_jpeg()
        assert jpeg[:2] == b"\xff\xd8" and jpeg[-2:] == b"\xff\xd9"
        img = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
        assert img.shape == (720, 1280, 3)
        small = await p.snapshot_jpeg("sub")
        assert cv2.imdecode(np.frombuffer(small, np.uint8), cv2.IMREAD_COLOR).shape[:2] == (
            360, 640)
        assert gray and gray[0].gray.shape == (90, 160) and gray[0].gray.ndim == 2
        assert abs(gray[-1].wallclock - time.time()) < 2
        assert events == []  # no signal loss
    finally:
        await p.aclose()
    assert p.state == "stopped"
    assert main.closed and main.close_reason == "hub"


async def test_privacy_mode_stops_all_video() -> None:
    p = MediaPipeline("testsrc", width=320, height=180, fps=15, sub_width=160,
                      sub_height=90, sub_fps=5)
    states: list[str] = []
    p.add_state_listener(states.append)
    p.start()
    try:
        main = p.hubs["main"].subscribe()
        await take(main, 3)
        p.privacy = True
        assert p.state == "privacy"
        assert p.latest_frame() is None
        with pytest.raises(MediaUnavailable, match="privacy"):
            await p.snapshot_jpeg()
        await asyncio.sleep(0.1)
        while main.get_nowait() is not None:  # whatever was in flight before the switch
            pass
        before = p.frames_encoded["main"]
        await asyncio.sleep(0.6)
        assert main.get_nowait() is None
        assert p.frames_encoded["main"] == before  # nothing encoded at all
        p.privacy = False
        resumed = await take(main, 2)
        assert resumed[0].keyframe  # viewers resume cleanly at an IDR
        assert p.state == "live"
        assert (await p.snapshot_jpeg())[:2] == b"\xff\xd8"
        stats = p.stats()
        assert stats["state"] == "live" and stats["subscribers"] == {"main": 1, "sub": 0}
    finally:
        p.stop()
    await asyncio.sleep(0.05)
    assert states == ["live", "privacy", "live", "stopped"]


async def test_privacy_masks_black_in_every_output() -> None:
    masks: list[dict[str, object]] = [
        {"rect": [0.25, 0.25, 0.5, 0.6]},
        {"polygon": [[0.6, 0.1], [0.9, 0.1], [0.75, 0.5]]},
    ]
    got_gray: list[AnalyticsFrame] = []
    p = MediaPipeline("testsrc", width=640, height=360, fps=15, sub_width=320, sub_height=180,
                      sub_fps=5, masks=masks)
    p.add_analytics_listener(got_gray.append, fps=5, width=320)
    p.start()
    try:
        main = await take(p.hubs["main"].subscribe(), 8)
        sub = await take(p.hubs["sub"].subscribe(), 3)
        jpeg = await p.snapshot_jpeg()
    finally:
        p.stop()
    snap = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert snap is not None

    def check(img: np.ndarray) -> None:
        h, w = img.shape[:2]
        rect = img[int(0.27 * h) : int(0.58 * h), int(0.27 * w) : int(0.48 * w)]
        assert rect.max() < 40 and rect.mean() < 8, (rect.max(), rect.mean())
        tri = img[int(0.15 * h) : int(0.25 * h), int(0.72 * w) : int(0.78 * w)]
        assert tri.max() < 40 and tri.mean() < 8
        outside = img[int(0.7 * h) : int(0.85 * h), :]
        assert outside.mean() > 40  # the rest of the picture is still there

    for img in decode(main)[-3:] + decode(sub)[-1:] + [snap]:
        check(img)
    check(got_gray[-1].gray)


async def test_frames_for_analytics_iterator_and_bad_config() -> None:
    p = MediaPipeline("testsrc", width=320, height=180, fps=15, sub_width=160, sub_height=90,
                      sub_fps=5)
    p.start()
    try:
        got: list[AnalyticsFrame] = []

        async def collect() -> None:
            async for f in p.frames_for_analytics(fps=10, width=64):
                got.append(f)
                if len(got) == 5:
                    return

        t = time.monotonic()
        await asyncio.wait_for(collect(), 5)
        assert time.monotonic() - t < 3.0
        assert got[0].gray.shape == (36, 64)
        assert all(b.mono > a.mono for a, b in zip(got, got[1:], strict=False))
    finally:
        p.stop()
    with pytest.raises(ValueError, match="even"):
        MediaPipeline("testsrc", width=641, height=360)
    with pytest.raises(ValueError, match="frame rate"):
        MediaPipeline("testsrc", sub_fps=0)
    with pytest.raises(ValueError, match="unsupported source"):
        MediaPipeline("exec:cat /dev/video0")
    with pytest.raises(ValueError, match="0..1"):
        MediaPipeline("testsrc", masks=[{"rect": [0, 0, 2, 1]}])


async def test_stalled_viewer_never_slows_a_fast_one() -> None:
    p = MediaPipeline("testsrc", width=320, height=180, fps=30, sub_width=160, sub_height=90,
                      sub_fps=5)
    p.start()
    try:
        fast = p.hubs["main"].subscribe(max_queue=10)
        stalled = p.hubs["main"].subscribe(max_queue=10)  # never read
        got = await take(fast, 60, timeout=10)
    finally:
        p.stop()
    assert fast.dropped == 0
    gaps = [b.dts - a.dts for a, b in zip(got, got[1:], strict=False)]
    assert max(gaps) < 10 * 3000  # no stall: frames kept coming
    assert stalled.closed and stalled.close_reason == "slow"
    assert stalled.queued == 0 and stalled.dropped > 0
