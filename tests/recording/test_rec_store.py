"""Crash-safe store and its recovery, index, playback refusals (IoT-1005-1 5.6.1.1, 5.4.1.2)."""

from __future__ import annotations

import os
import sqlite3
import stat
import uuid
from pathlib import Path

import pytest
from rec_support import fmp4_with_pyav

from vigilcam.recording import fmp4_probe
from vigilcam.recording.index import SegmentIndex
from vigilcam.recording.playback import iter_playback
from vigilcam.recording.segment_format import TAG_SIZE, SegmentAuthError
from vigilcam.recording.store import SegmentStore

T0 = 1_700_000_000.0


def write_segment(store: SegmentStore, data: bytes, start: float, end: float,
                  trigger: str = "continuous", stream: str = "main"):
    seg = store.open_segment(stream, start, trigger)
    for i in range(0, len(data), 3000):
        seg.write(data[i : i + 3000])
    return seg.commit(end)


@pytest.fixture
def clip(pattern) -> bytes:
    info, packets = pattern
    return fmp4_with_pyav(info, packets[:60])  # 2 s, 4 fragments


def test_index_is_wal_full_sync_and_survives_reopen(tmp_path: Path) -> None:
    idx = SegmentIndex(tmp_path / "r.db")
    sid = uuid.uuid4()
    idx.add_writing(sid, "main", T0, "motion", "d/x.seg")
    idx.mark_complete(sid, T0 + 4, 1234)
    assert idx._db.query("PRAGMA journal_mode")[0][0] == "wal"
    assert idx._db.query("PRAGMA synchronous")[0][0] == 2  # FULL
    idx.close()
    again = SegmentIndex(tmp_path / "r.db")
    rec = again.get(sid)
    assert rec is not None and rec.state == "complete" and rec.end == T0 + 4
    assert rec.size == 1234 and rec.trigger == "motion"
    again.close()


def test_index_query_by_time_range(tmp_path: Path) -> None:
    idx = SegmentIndex(tmp_path / "r.db")
    ids = []
    for i in range(10):
        sid = uuid.uuid4()
        ids.append(sid)
        idx.add_writing(sid, "main" if i % 2 == 0 else "sub", T0 + 4 * i, "continuous", f"{i}")
        idx.mark_complete(sid, T0 + 4 * i + 4, 10)
    idx.add_writing(uuid.uuid4(), "main", T0 + 40, "continuous", "w")
    got = idx.query(T0 + 5, T0 + 13)
    assert [r.id for r in got] == ids[1:4]  # overlapping [5, 13): 4-8, 8-12, 12-16
    assert [r.id for r in idx.query(T0 + 5, T0 + 13, "main")] == [ids[2]]
    assert len(idx.query()) == 10 and len(idx.query(include_writing=True)) == 11
    assert idx.total_size() == 100 and idx.total_size("sub") == 50
    idx.close()


def test_write_commit_read_back_private_files_no_plaintext(store: SegmentStore, clip: bytes):
    rec = write_segment(store, clip, T0, T0 + 2)
    path = store.path_of(rec)
    assert path.name == f"{rec.id}.seg" and path.exists()
    assert not list(store.segments_dir.rglob("*.partial"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    raw = path.read_bytes()
    assert clip[:64] not in raw and b"ftyp" not in raw and b"mdat" not in raw
    assert store.read_all(rec) == clip
    assert store.index.get(rec.id).size == len(raw)


def _torn_partial(store: SegmentStore, data: bytes, keep_bytes: int):
    """A segment whose writer died after ``keep_bytes`` of ciphertext reached the disk."""
    seg = store.open_segment("main", T0, "continuous")
    seg.write(data)
    store.index.set_end(seg.id, T0 + 2.0)  # the commit's order: end in the index, then seal
    seg._writer.finish(T0 + 2.0)
    os.close(seg._fd)
    seg._fd = None
    partial = store.path_of(seg.record).with_name(f"{seg.id}.seg.partial")
    blob = partial.read_bytes()
    partial.write_bytes(blob[:keep_bytes])
    return seg.record, partial, blob


def test_recover_repairs_a_torn_segment_to_its_complete_fragments(store, clip) -> None:
    rec, partial, blob = _torn_partial(store, clip, keep_bytes=int(len(clip) * 0.8))
    actions = store.recover()
    assert [a.kind for a in actions] == ["repaired"]
    assert not partial.exists()
    fixed = store.index.get(rec.id)
    assert fixed is not None and fixed.state == "complete"
    data = store.read_all(fixed)
    assert clip.startswith(data) and len(data) < len(clip)
    dur = fmp4_probe.duration_seconds(data)
    assert 0.4 <= dur < 2.0
    assert fixed.end == pytest.approx(T0 + dur)
    # re-encrypted under a new data key: the repaired file shares no chunk with the torn one
    new = store.path_of(fixed).read_bytes()
    assert blob[200:240] not in new
    assert store.recover() == []


def test_recover_completes_a_partial_whose_final_chunk_is_written(store, clip) -> None:
    rec, partial, blob = _torn_partial(store, clip, keep_bytes=10**9)
    actions = store.recover()
    assert [a.kind for a in actions] == ["completed"]
    assert store.read_all(store.index.get(rec.id)) == clip


def test_recover_completes_a_renamed_segment_the_index_missed(store, clip) -> None:
    rec, partial, _ = _torn_partial(store, clip, keep_bytes=10**9)
    partial.rename(store.path_of(rec))
    assert [a.kind for a in store.recover()] == ["completed"]
    got = store.index.get(rec.id)
    assert got.state == "complete" and got.end == pytest.approx(T0 + 2.0, abs=0.05)


def test_recover_discards_what_cannot_be_saved(store, clip) -> None:
    rec1, p1, _ = _torn_partial(store, clip, keep_bytes=300)  # init only, no fragment
    rec2 = store.open_segment("main", T0 + 10, "motion").record  # nothing written yet
    store.path_of(rec2).with_name(f"{rec2.id}.seg.partial").unlink()
    rec3, p3, _ = _torn_partial(store, clip, keep_bytes=10**9)
    p3.write_bytes(b"garbage that is not a segment" * 10)
    actions = {a.segment_id: a for a in store.recover()}
    assert {a.kind for a in actions.values()} == {"discarded"}
    assert "no complete fragment" in actions[rec1.id].detail
    assert "no file" in actions[rec2.id].detail
    assert "unreadable" in actions[rec3.id].detail
    assert store.index.all() == []
    assert not [p for p in store.segments_dir.rglob("*") if p.is_file()]


def test_recover_reports_missing_files_and_orphans(store, clip) -> None:
    a = write_segment(store, clip, T0, T0 + 2)
    b = write_segment(store, clip, T0 + 2, T0 + 4)
    store.path_of(a).unlink()
    orphan = store.path_of(b).with_name(f"{uuid.uuid4()}.seg")
    orphan.write_bytes(b"x")
    stray = store.path_of(b).with_name(f"{b.id}.seg.repair")
    stray.write_bytes(b"x")
    kinds = sorted(x.kind for x in store.recover())
    assert kinds == ["missing", "orphan_removed"]
    assert not orphan.exists() and not stray.exists()
    assert [r.id for r in store.index.all()] == [b.id]


def test_playback_skips_tampered_segments_and_plays_the_rest(store, clip) -> None:
    recs = [write_segment(store, clip, T0 + 2 * i, T0 + 2 * i + 2) for i in range(5)]
    # 1: flip a byte; 2: swap two chunks; 3: truncate; 4: replaced by another segment's file
    p = [store.path_of(r) for r in recs]
    hsize = 115 - 0  # header size for stream "main" (magic..wrapped key)
    raw = bytearray(p[1].read_bytes())
    raw[len(raw) // 2] ^= 0x10
    p[1].write_bytes(bytes(raw))
    raw = p[2].read_bytes()
    n = 4096 + TAG_SIZE
    c = [raw[hsize + i * n : hsize + (i + 1) * n] for i in range((len(raw) - hsize) // n + 1)]
    c[0], c[1] = c[1], c[0]
    p[2].write_bytes(raw[:hsize] + b"".join(c))
    p[3].write_bytes(p[3].read_bytes()[:-100])
    p[4].write_bytes(p[0].read_bytes())
    errors: dict[uuid.UUID, str] = {}
    played = list(iter_playback(store, T0, T0 + 100, on_error=lambda r, m: errors.__setitem__(r.id, m)))
    assert [s.record.id for s in played] == [recs[0].id]
    assert played[0].data == clip
    assert set(errors) == {r.id for r in recs[1:]}
    assert "failed authentication" in errors[recs[1].id]
    assert "failed authentication" in errors[recs[2].id]
    assert "failed authentication" in errors[recs[3].id]
    assert "files swapped" in errors[recs[4].id]
    assert all(m.startswith(f"segment {i} refused") for i, m in errors.items())


def test_wrong_master_key_refuses_every_segment_clearly(store, clip, tmp_path) -> None:
    rec = write_segment(store, clip, T0, T0 + 2)
    other = SegmentStore(store.root, os.urandom(32), store.index)
    with pytest.raises(SegmentAuthError, match="wrong master key"):
        other.read_all(rec)
    errors = []
    assert list(iter_playback(other, T0, T0 + 9, on_error=lambda r, m: errors.append(m))) == []
    assert "wrong master key" in errors[0]


def test_unsafe_index_path_is_refused(store) -> None:
    sid = uuid.uuid4()
    store.index.add_writing(sid, "main", T0, "continuous", "../../etc/passwd")
    with pytest.raises(ValueError, match="unsafe path"):
        store.path_of(store.index.get(sid))


def test_open_failure_leaves_no_row(store, monkeypatch) -> None:
    real_open = os.open

    def full(path, flags, mode=0o777):
        if str(path).endswith(".partial"):
            raise OSError(28, "No space left on device")
        return real_open(path, flags, mode)

    monkeypatch.setattr(os, "open", full)
    with pytest.raises(OSError):
        store.open_segment("main", T0, "continuous")
    monkeypatch.undo()
    assert store.index.all() == []


def test_index_file_holds_no_video(store, clip) -> None:
    write_segment(store, clip, T0, T0 + 2)
    store.index.close()
    db = sqlite3.connect(store.index.path)
    cols = [r[1] for r in db.execute("PRAGMA table_info(segments)")]
    db.close()
    assert cols == ["id", "stream", "start", "end", "size", "trigger", "path", "state", "seq"]


def test_open_store_layout_is_private_and_erasable(tmp_path, master_key, clip) -> None:
    from vigilcam.recording.erase import erase_all
    from vigilcam.recording.store import open_store

    st = open_store(tmp_path / "rec", master_key)
    assert st.recover() == []
    write_segment(st, clip, T0, T0 + 2)
    assert stat.S_IMODE((tmp_path / "rec").stat().st_mode) == 0o700
    assert (tmp_path / "rec" / "index.db").exists()
    rep = erase_all(st)
    assert rep.segments == 1
    assert [p.name for p in (tmp_path / "rec").iterdir()] == []
