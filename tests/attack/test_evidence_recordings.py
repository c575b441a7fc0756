"""Recorded footage stays where it was recorded on the timeline (integrity of evidence).

An intruder with write access to the data dir edits the index database (swaps two segments'
times, moves one, changes an end time). Playback, export and ``vigilcam recordings verify``
refuse each moved segment and name it (segment format 2 binds start, end and timeline seq
into its authenticated data). Legacy format-1 segments stay readable.
"""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

import pytest

from tests.recording.rec_support import encode_pattern, fmp4_with_pyav, retime
from tests.support import read_log, run_cli
from vigilcam.app import open_device, provision
from vigilcam.platform.config import Settings
from vigilcam.platform.paths import DataPaths
from vigilcam.recording.index import SegmentRecord
from vigilcam.recording.playback import ExportError, export_range, iter_playback
from vigilcam.recording.segment_format import SegmentWriter
from vigilcam.recording.service import master_key, open_device_store
from vigilcam.recording.store import SegmentStore, open_store
from vigilcam.recording.verify import verify_segments

NINE = 1_764_000_000.0  # a 09:00 segment; TEN is an hour later
TEN = NINE + 3600


@pytest.fixture(scope="module")
def clip_pair() -> tuple[bytes, bytes]:
    info, packets = encode_pattern(frames=60, fps=30, gop=15)
    return (fmp4_with_pyav(info, retime(packets[:60], 0)),
            fmp4_with_pyav(info, retime(packets[:60], 60)))


@pytest.fixture
def recorded(tmp_path: Path, clip_pair) -> tuple[Path, list[SegmentRecord]]:
    data = tmp_path / "data"
    provision(DataPaths(data), Settings())
    device = open_device(DataPaths(data), Settings())
    try:
        store = open_store(device.paths.recordings_dir, master_key(device))
        recs = []
        for start, clip in ((NINE, clip_pair[0]), (TEN, clip_pair[1])):
            seg = store.open_segment("main", start, "continuous")
            seg.write(clip)
            recs.append(seg.commit(start + 2.0))
        store.index.close()
    finally:
        device.close()
    return data, recs


def db(data: Path) -> sqlite3.Connection:
    return sqlite3.connect(data / "recordings" / "index.db", isolation_level=None)


def swap_times(data: Path, a: SegmentRecord, b: SegmentRecord) -> None:
    with db(data) as con:
        con.execute('UPDATE segments SET start = ?, "end" = ? WHERE id = ?',
                    (b.start, b.end, str(a.id)))
        con.execute('UPDATE segments SET start = ?, "end" = ? WHERE id = ?',
                    (a.start, a.end, str(b.id)))


def open_data_store(data: Path) -> tuple[object, SegmentStore]:
    device = open_device(DataPaths(data), Settings())
    store = open_device_store(device)
    assert store is not None
    return device, store


def test_untouched_recordings_verify_and_play(recorded) -> None:
    data, recs = recorded
    out = run_cli("recordings", "verify", "--data-dir", str(data))
    assert out.returncode == 0 and "2 segments verified" in out.stdout, out.stdout + out.stderr
    device, store = open_data_store(data)
    try:
        played = list(iter_playback(store, NINE, NINE + 2))
        assert [p.record.id for p in played] == [recs[0].id]
    finally:
        store.index.close()
        device.close()  # type: ignore[attr-defined]


@pytest.mark.slow
def test_swapped_times_are_refused_at_playback_export_and_verify(recorded, tmp_path) -> None:
    data, (a, b) = recorded
    swap_times(data, a, b)  # the index now shows the 10:00 footage at 09:00
    device, store = open_data_store(data)
    try:
        errors: dict[uuid.UUID, str] = {}
        played = list(iter_playback(store, NINE, NINE + 2,
                                    on_error=lambda r, m: errors.__setitem__(r.id, m)))
        assert played == [], "10:00 footage played as 09:00"
        assert list(errors) == [b.id]
        assert f"segment {b.id}" in errors[b.id] and "starts at" in errors[b.id]
        refused: list[str] = []
        with pytest.raises(ExportError):
            export_range(store, NINE, NINE + 2, tmp_path / "e.mp4", "main",
                         lambda r, m: refused.append(m))
        assert refused and str(b.id) in refused[0]
        assert not (tmp_path / "e.mp4").exists()
        report = verify_segments(store)
        assert not report.ok and set(report.bad_segments) == {str(a.id), str(b.id)}
    finally:
        store.index.close()
        device.close()  # type: ignore[attr-defined]
    out = run_cli("recordings", "verify", "--data-dir", str(data))
    assert out.returncode == 1, out.stdout
    assert f"TAMPERED: segment {a.id}" in out.stdout and f"TAMPERED: segment {b.id}" in out.stdout
    exported = run_cli("recordings", "export", "--from", str(NINE), "--to", str(NINE + 2),
                       str(tmp_path / "cli.mp4"), "--data-dir", str(data))
    assert exported.returncode == 1 and str(b.id) in exported.stderr, exported.stderr
    actions = [r["action"] for r in read_log(data)]
    assert "recording.segment_refused" in actions
    assert any(r["action"] == "recording.verified" and r["result"] == "failure"
               for r in read_log(data))


def test_edited_end_time_or_seq_is_refused_and_named(recorded) -> None:
    data, (a, b) = recorded
    with db(data) as con:
        con.execute('UPDATE segments SET "end" = "end" + 30 WHERE id = ?', (str(a.id),))
        con.execute("UPDATE segments SET seq = seq + 5 WHERE id = ?", (str(b.id),))
    device, store = open_data_store(data)
    try:
        report = verify_segments(store)
    finally:
        store.index.close()
        device.close()  # type: ignore[attr-defined]
    by_id = {p.split()[1]: p for p in report.problems}
    assert "end time" in by_id[str(a.id)], report.problems
    assert "seq" in by_id[str(b.id)], report.problems


def test_legacy_segments_stay_readable_but_are_reported_unbound(recorded, clip_pair) -> None:
    data, _ = recorded
    device, store = open_data_store(data)
    try:
        rec = store.index.add_writing(uuid.uuid4(), "main", NINE - 60, "continuous",
                                      "legacy/old.seg")
        with db(data) as con:  # a row from before timelines: no seq
            con.execute("UPDATE segments SET seq = NULL WHERE id = ?", (str(rec.id),))
        path = store.segments_dir / "legacy" / "old.seg"
        path.parent.mkdir()
        with open(path, "wb") as fh:
            writer = SegmentWriter(fh, store.master_key, rec.id, "main", 4096)  # format 1
            writer.write(clip_pair[0])
            writer.finish()
        store.index.mark_complete(rec.id, NINE - 58, path.stat().st_size)
        legacy = store.index.get(rec.id)
        assert legacy is not None and legacy.seq is None
        assert store.read_all(legacy) == clip_pair[0]
        report = verify_segments(store)
        assert report.ok and report.legacy == 1 and report.verified == 2
        # ... but a legacy file put under a row of format 2 (seq set) is refused
        with db(data) as con:
            con.execute("UPDATE segments SET seq = 99 WHERE id = ?", (str(rec.id),))
        report = verify_segments(store)
        assert not report.ok and "legacy format" in report.problems[0]
    finally:
        store.index.close()
        device.close()  # type: ignore[attr-defined]
