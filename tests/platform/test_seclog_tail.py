"""SecurityLog.tail, the one reader of new records (TAICS 5.2.8.1 / IoT-1005-1 5.8.1.1: what
another process logged, or what was logged while alerts were down, still reaches the alerts):
from a position or a bare seq, across rotation, only MAC-verified whole records, each once."""

from __future__ import annotations

import json

from vigilcam.platform.events import Event
from vigilcam.platform.seclog import SecurityLog, TailPosition


def make_log(tmp_path, **kw) -> SecurityLog:
    log = SecurityLog(tmp_path / "seclog", "dev-1", b"k" * 32, b"a" * 32, **kw)
    log.open()
    return log


def test_from_a_bare_seq_the_archived_records_come_first(tmp_path):
    log = make_log(tmp_path)
    for i in range(5):
        log.record(Event.AUTH_LOGIN, user=f"u{i}")
    log.rotate()  # seq 6 seals 1..5 into the encrypted archive
    for i in range(3):
        log.record(Event.USER_ADDED, target=f"t{i}")
    read = log.tail(TailPosition(3))
    assert [e.seq for e in read.events] == [4, 5, 6, 7, 8, 9]
    assert read.events[2].action == "seclog.rotated" and read.refused == 0
    assert read.position == log.tail_position()
    assert log.tail(read.position).events == []


def test_a_burst_is_taken_in_several_calls_each_record_once(tmp_path):
    log = make_log(tmp_path)
    start = log.tail_position()
    for i in range(40):
        log.record(Event.AUTH_LOGIN, result="failure", user=f"u{i}", source="192.0.2.1")
    seqs, position = [], start
    for _ in range(100):
        read = log.tail(position, max_bytes=1024)  # a few records per call, cut mid-line
        seqs += [e.seq for e in read.events]
        if read.position == position:
            break
        position = read.position
    assert seqs == list(range(1, 41))


def test_a_record_written_without_the_key_is_refused(tmp_path):
    log = make_log(tmp_path)
    log.record(Event.DEVICE_STARTED)
    start = log.tail_position()
    real = json.loads(log.current_file.read_text().splitlines()[-1])
    forged = {**real, "seq": 2, "action": "user.role_changed", "user": "mallory"}
    with open(log.current_file, "a") as fh:  # a valid-looking line, no MAC from the log key
        fh.write(json.dumps(forged) + "\n")
    read = log.tail(start)
    assert read.events == [] and read.refused == 1
