"""The recorder end to end: hub -> fMP4 segments -> encrypted store (IoT-1005-1 5.4.1.2).

Proves: each segment plays alone; nothing under the data dir is readable plaintext (H.264 start
codes, MP4 boxes, JPEG markers, the pattern's bytes: IoT-1005-1 5.4.1.2); events mode keeps
pre-roll; a failing disk raises one event, the live view keeps flowing, recording resumes.
"""

from __future__ import annotations

import asyncio
import errno
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rec_support import ListSource, looped, pattern_needles, scan_plaintext

from vigilcam.media import fmp4
from vigilcam.media.hub import StreamHub
from vigilcam.recording import fmp4_probe
from vigilcam.recording.planner import PlannerSettings
from vigilcam.recording.recorder import Recorder, RecorderSettings
from vigilcam.recording.store import SegmentStore, _FdSink

HERE = Path(__file__).parent


def settings(seg: float = 1.0, **kw) -> RecorderSettings:
    return RecorderSettings(planner=PlannerSettings(segment_seconds=seg, **kw),
                            retry_interval=0.0)


async def test_continuous_segments_each_play_alone_and_tile_the_timeline(store, pattern):
    info, packets = pattern
    rec = Recorder(store, "main", lambda: ListSource(info, packets), settings=settings(1.0))
    await asyncio.wait_for(rec.run(), 30)
    segs = store.index.all()
    assert len(segs) == 4 and all(s.state == "complete" for s in segs)
    total = 0.0
    for s in segs:
        data = store.read_all(s)
        assert fmp4.iter_boxes(data)[0][0] == b"ftyp"
        dur = fmp4_probe.duration_seconds(data)
        assert dur == pytest.approx(s.end - s.start, abs=0.04)
        total += dur
    assert total == pytest.approx(4.0, abs=0.05)
    for a, b in zip(segs, segs[1:], strict=False):
        assert b.start == pytest.approx(a.end, abs=0.04)
    assert rec.status()["segments_written"] == 4


@pytest.mark.peer
async def test_segment_plays_in_ffprobe_from_memory(store, pattern):
    info, packets = pattern
    await Recorder(store, "main", lambda: ListSource(info, packets), settings=settings(2)).run()
    seg = store.index.all()[0]
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-count_packets", "-show_entries",
         "stream=codec_name,width,nb_read_packets", "-of", "csv=p=0", "-i", "pipe:0"],
        input=store.read_all(seg), capture_output=True, timeout=30, check=True)
    assert out.stdout.decode().strip() == "h264,320,60"


async def test_no_plaintext_anywhere_under_the_data_dir(tmp_path, master_key, pattern):
    """Record the known pattern through a real StreamHub, then scan every file on disk."""
    from vigilcam.recording.index import SegmentIndex

    info, packets = pattern
    data_dir = tmp_path / "data"
    index = SegmentIndex(data_dir / "recordings.db")
    store = SegmentStore(data_dir / "recordings", master_key, index)
    hub = StreamHub("main")
    hub.set_info(info)
    rec = Recorder(store, "main", hub.subscribe, settings=settings(1.0))
    task = asyncio.create_task(rec.run())
    await asyncio.sleep(0.05)

    def produce() -> None:
        for p in packets:
            hub.publish(p)
            time.sleep(0.002)
        time.sleep(0.2)
        hub.close()

    await asyncio.to_thread(produce)
    await asyncio.wait_for(task, 30)
    assert len(index.all()) >= 3
    needles = pattern_needles(info, packets)
    # the scanner itself finds the pattern in plaintext (so the scan below can fail)
    plain = store.read_all(index.all()[0])
    assert len(scan_plaintext(plain, needles)) >= 5
    index.close()
    files = [p for p in data_dir.rglob("*") if p.is_file()]
    assert any(p.suffix == ".seg" for p in files)
    for p in files:
        hits = scan_plaintext(p.read_bytes(), needles)
        assert not hits, f"{p.relative_to(data_dir)}: {hits}"


async def test_events_mode_keeps_preroll_and_records_only_around_the_trigger(store, pattern):
    info, packets = pattern
    many = looped(packets, 2)  # 8 s
    rec: Recorder

    def maybe_trigger(i: int, _p) -> None:
        if i == 120:  # 4.0 s
            rec.trigger("motion")

    rec = Recorder(store, "main", lambda: ListSource(info, many, before_each=maybe_trigger),
                   mode="events",
                   settings=settings(10, preroll_seconds=1.0, postroll_seconds=2.0))
    await rec.run()
    segs = store.index.all()
    assert len(segs) == 1 and segs[0].trigger == "motion"
    t0 = many[0].wallclock
    assert segs[0].start - t0 == pytest.approx(3.0, abs=0.01)  # 1 s pre-roll, GOP-aligned
    assert segs[0].end - t0 == pytest.approx(6.0, abs=0.04)  # 2 s post-roll
    assert fmp4_probe.duration_seconds(store.read_all(segs[0])) == pytest.approx(3.0, abs=0.04)


async def test_mode_off_records_nothing(store, pattern):
    info, packets = pattern
    await Recorder(store, "main", lambda: ListSource(info, packets), mode="off").run()
    assert store.index.all() == []
    assert not [p for p in store.root.rglob("*") if p.is_file()]


async def test_write_errors_raise_one_event_then_recording_resumes(store, pattern, monkeypatch):
    """Injected ENOSPC between 1.5 s and 2.5 s of media: the hub's other viewer sees every
    packet, one write_failed then one resumed event, segments on both sides are intact."""
    info, packets = pattern
    many = looped(packets, 2)
    state = {"full": False}
    real_write = _FdSink.write

    def write(self, data):
        if state["full"]:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(self, data)

    monkeypatch.setattr(_FdSink, "write", write)

    def toggle(i: int, _p) -> None:
        state["full"] = 45 <= i < 75

    events: list[tuple[str, str, dict]] = []
    rec = Recorder(store, "main", lambda: ListSource(info, many, before_each=toggle),
                   settings=settings(0.5), on_event=lambda *a: events.append(a))
    await rec.run()
    assert [e[0] for e in events] == ["recording.write_failed", "recording.resumed"]
    assert events[0][2]["errno"] == "ENOSPC" and events[0][1] == "failure"
    segs = store.index.all()
    assert all(s.state == "complete" for s in segs), [(s.state, s.start - many[0].wallclock) for s in segs]
    starts = [round(s.start - many[0].wallclock, 2) for s in segs]
    assert starts[0] == 0.0 and starts[-1] >= 7.0
    assert not any(1.5 < t < 2.5 for t in starts)
    for s in segs:
        fmp4_probe.duration_seconds(store.read_all(s))
    assert not list(store.segments_dir.rglob("*.partial"))


def _can_mount_tmpfs() -> bool:
    if shutil.which("unshare") is None or os.geteuid() != 0:
        return False
    r = subprocess.run(["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=64k none /mnt"],
                       capture_output=True, check=False)
    return r.returncode == 0


@pytest.mark.peer
@pytest.mark.skipif(not _can_mount_tmpfs(), reason="needs root + unshare -m to mount a tmpfs")
def test_real_full_and_read_only_disk(tmp_path, pattern):
    """A real 8 MiB tmpfs filled up, then remounted read-only, then freed: events say so,
    the live subscriber never misses a packet, recording resumes, segments decrypt."""
    import pickle

    info, packets = pattern
    (tmp_path / "packets.pickle").write_bytes(pickle.dumps((info, looped(packets, 5))))
    key = os.urandom(32)
    (tmp_path / "key").write_bytes(key)
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    script = HERE / "rec_diskfull_proc.py"
    cmd = (f"mount -t tmpfs -o size=8m,mode=0700 none {mnt} && "
           f"{sys.executable} {script} {mnt} {tmp_path}")
    out = subprocess.run(["unshare", "-m", "sh", "-c", cmd], capture_output=True, text=True,
                         timeout=60, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    import json

    result = json.loads(out.stdout.strip().splitlines()[-1])
    actions = [(e[0], e[2].get("errno")) for e in result["events"]
               if e[0] != "recording.retention_deleted"]
    assert actions == [("recording.write_failed", "ENOSPC"), ("recording.resumed", None),
                       ("recording.write_failed", "EROFS"), ("recording.resumed", None)]
    assert result["live_packets"] == result["published"]
    assert result["segments_after_resume"] >= 2
    assert result["all_decrypt"] is True


async def test_a_bad_packet_drops_one_segment_and_recording_goes_on(store, pattern,
                                                                   monkeypatch):
    """A packet the muxer refuses is reported; the segments before and after are kept."""
    info, packets = pattern
    real = fmp4.fragment

    def picky(pkts, seq, base, **kw):
        if any(x is packets[50] for x in pkts):
            raise ValueError("sample refused")
        return real(pkts, seq, base, **kw)

    monkeypatch.setattr(fmp4, "fragment", picky)
    events = []
    await Recorder(store, "main", lambda: ListSource(info, packets), settings=settings(0.5),
                   on_event=lambda *a: events.append(a)).run()
    assert [e[0] for e in events] == ["recording.segment_dropped"]
    assert "sample refused" in events[0][2]["error"]
    starts = [round(s.start - packets[0].wallclock, 2) for s in store.index.all()]
    assert 0.0 in starts and 3.5 in starts and 1.5 not in starts
    assert all(s.state == "complete" for s in store.index.all())
    assert not list(store.segments_dir.rglob("*.partial"))
