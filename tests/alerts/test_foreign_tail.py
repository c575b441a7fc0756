"""The log tail that finds other processes' events: own writes never doubled, a racing write
held one poll, torn lines skipped, a rotated file read from its start."""

from __future__ import annotations

import json
import os

from vigilcam.alerts.foreign_tail import ForeignTail


def _line(seq: int, action: str = "user.added") -> bytes:
    return json.dumps({"seq": seq, "ts": "2026-01-01T00:00:00Z", "device_id": "d",
                       "action": action, "result": "ok"}).encode() + b"\n"


def test_own_foreign_race_torn_and_rotation(tmp_path) -> None:
    log = tmp_path / "current.jsonl"
    log.write_bytes(_line(1) + _line(2))
    tail = ForeignTail(log, after_seq=2)  # what exists at start is the catch-up's business
    with open(log, "ab") as fh:
        fh.write(_line(3) + _line(4) + b'{"seq": 5, "ts": ')  # 5 is still being written
    tail.note_own(3)
    assert tail.poll() == []  # 4 is held one poll: it may be ours, announced late
    tail.note_own(4)
    assert tail.poll() == []  # it was ours
    with open(log, "ab") as fh:
        fh.write(b'"2026-01-01T00:00:00Z", "device_id": "d", "action": "x", "result": "ok"}\n')
        fh.write(b"garbage\n" + _line(6))
    assert tail.poll() == []
    assert [e.seq for e in tail.poll()] == [5, 6]  # foreign, each once
    assert tail.poll() == []
    rotated = tmp_path / "new.jsonl"
    rotated.write_bytes(_line(7, "seclog.rotated") + _line(8))
    os.replace(rotated, log)
    tail.poll()
    assert [e.seq for e in tail.poll()] == [7, 8]
