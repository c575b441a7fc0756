"""Export to a standard MP4, delete by range, erase all and crypto-erase (IoT-1005-1 5.7.1.1)."""

from __future__ import annotations

import os
import shutil

import pytest
from rec_support import ffprobe, fmp4_with_pyav, retime

from vigilcam.recording.erase import delete_range, erase_all
from vigilcam.recording.index import SegmentIndex
from vigilcam.recording.playback import (
    ExportError,
    aiter_playback,
    export_mp4,
    export_range,
    iter_playback,
    timeline,
)
from vigilcam.recording.segment_format import SegmentAuthError
from vigilcam.recording.store import SegmentStore

T0 = 1_700_000_000.0


@pytest.fixture
def recorded(store: SegmentStore, pattern):
    """Four consecutive 2 s segments (a keyframe every 0.5 s), like continuous recording."""
    info, packets = pattern
    recs = []
    for i in range(4):
        pk = retime(packets[:60], 60 * i)
        seg = store.open_segment("main", T0 + 2 * i, "continuous")
        seg.write(fmp4_with_pyav(info, pk))
        recs.append(seg.commit(T0 + 2 * i + 2))
    return recs


@pytest.mark.peer
def test_export_plays_in_ffprobe_with_the_right_duration(store, recorded, tmp_path) -> None:
    out = tmp_path / "export.mp4"
    res = export_range(store, T0 + 1.0, T0 + 6.0, out)
    probe = ffprobe(out)
    v = probe["streams"][0]
    assert v["codec_name"] == "h264" and (v["width"], v["height"]) == (320, 240)
    assert float(probe["format"]["duration"]) == pytest.approx(5.0, abs=0.1)
    assert int(v["nb_read_packets"]) == res.packets == 150
    assert res.duration == pytest.approx(5.0, abs=0.05)
    assert [r.id for r in res.segments_used] == [r.id for r in recorded[:3]]
    raw = out.read_bytes()
    assert raw.find(b"moov") < raw.find(b"mdat"), "faststart: moov before mdat"


@pytest.mark.peer
def test_export_starts_at_the_keyframe_before_start(store, recorded, tmp_path) -> None:
    out = tmp_path / "e.mp4"
    export_range(store, T0 + 2.2, T0 + 3.0, out)  # keyframe at +2.0
    assert float(ffprobe(out)["format"]["duration"]) == pytest.approx(1.0, abs=0.1)


@pytest.mark.peer
def test_export_skips_a_tampered_segment_and_reports_it(store, recorded, tmp_path) -> None:
    p = store.path_of(recorded[1])
    raw = bytearray(p.read_bytes())
    raw[-20] ^= 1
    p.write_bytes(bytes(raw))
    errors = []
    out = tmp_path / "e.mp4"
    res = export_mp4(store, recorded, T0, T0 + 8, out, on_error=lambda r, m: errors.append(m))
    assert [r.id for r in res.segments_used] == [recorded[i].id for i in (0, 2, 3)]
    assert len(errors) == 1 and "failed authentication" in errors[0]
    probe = ffprobe(out)
    assert int(probe["streams"][0]["nb_read_packets"]) == 180
    assert float(probe["format"]["duration"]) == pytest.approx(8.0, abs=0.1)  # gap kept


def test_export_of_nothing_leaves_no_file(store, recorded, tmp_path) -> None:
    out = tmp_path / "none.mp4"
    with pytest.raises(ExportError, match="no playable recording"):
        export_range(store, T0 + 100, T0 + 200, out)
    assert not out.exists()
    with pytest.raises(ValueError, match="empty"):
        export_range(store, T0 + 5, T0 + 1, out)


def test_delete_range_removes_overlapping_segments_only(store, recorded) -> None:
    rep = delete_range(store, T0 + 3.0, T0 + 4.5)  # touches segments 1 and 2
    assert rep.segments == 2 and rep.bytes_freed == recorded[1].size + recorded[2].size
    left = [r.id for r in store.index.all()]
    assert left == [recorded[0].id, recorded[3].id]
    assert not store.path_of(recorded[1]).exists() and store.path_of(recorded[3]).exists()
    assert [s.record.id for s in iter_playback(store, T0, T0 + 9)] == left


def test_erase_all_removes_every_file_and_the_index(store, recorded) -> None:
    stray = store.open_segment("main", T0 + 20, "manual")  # a segment being written
    stray.write(b"x" * 100)
    rep = erase_all(store)
    assert rep.segments == 5
    assert not store.segments_dir.exists()
    assert not list(store.index.path.parent.glob("recordings.db*"))


def test_crypto_erase_old_disk_copy_does_not_decrypt_with_new_key(
        store, recorded, tmp_path) -> None:
    """After a factory reset the master key is new: a copy of the old disk stays sealed."""
    copy = tmp_path / "stolen"
    shutil.copytree(store.root, copy / "recordings")
    for f in store.index.path.parent.glob("recordings.db*"):  # db + its WAL
        shutil.copy(f, copy / f.name)
    erase_all(store)
    new_key = os.urandom(32)  # the vault made a new key; the old one is destroyed
    idx = SegmentIndex(copy / "recordings.db")
    thief = SegmentStore(copy / "recordings", new_key, idx)
    refused = 0
    for rec in idx.all():
        with pytest.raises(SegmentAuthError, match="wrong master key"):
            thief.read_all(rec)
        refused += 1
    assert refused == 4
    idx.close()


async def test_async_playback_runs_off_the_loop_and_skips_refused(store, recorded) -> None:
    p = store.path_of(recorded[2])
    p.write_bytes(p.read_bytes()[:-1])
    errors = []
    got = [s.record.id async for s in aiter_playback(
        store, T0, T0 + 100, on_error=lambda r, m: errors.append(r.id))]
    assert got == [recorded[i].id for i in (0, 1, 3)] and errors == [recorded[2].id]


def test_timeline_merges_contiguous_segments(store, recorded) -> None:
    seg = store.open_segment("main", T0 + 30, "motion")
    seg.write(b"x")
    seg.commit(T0 + 34)
    spans = timeline(store.index.query())
    assert [(s.start - T0, s.end - T0, s.triggers, s.segments) for s in spans] == [
        (0.0, 8.0, ("continuous",), 4), (30.0, 34.0, ("motion",), 1)]


def test_seek_starts_at_the_segment_holding_the_time(store, recorded) -> None:
    got = list(iter_playback(store, T0 + 5.25, T0 + 7))
    assert [s.record.id for s in got] == [recorded[2].id, recorded[3].id]
    assert got[0].offset == pytest.approx(1.25) and got[1].offset == 0.0
