"""The log tail that finds other processes' events: own writes never doubled, a racing write
held one poll, torn and forged lines skipped, records sealed by a rotation still found."""

from __future__ import annotations

import json

from vigilcam.alerts.foreign_tail import ForeignTail
from vigilcam.platform.events import Event
from vigilcam.platform.seclog import SecurityLog


def _log(tmp_path, **kw) -> SecurityLog:
    log = SecurityLog(tmp_path / "seclog", "dev-1", b"k" * 32, b"a" * 32, **kw)
    log.open()
    return log


def test_own_foreign_race_torn_forged_and_rotation(tmp_path) -> None:
    service = _log(tmp_path)
    cli = _log(tmp_path)  # another process writing the same log under its file lock
    service.record(Event.DEVICE_STARTED)
    cli.record(Event.USER_ADDED, target="before")
    tail = ForeignTail(service, service.tail_position())  # earlier: the catch-up's business
    own = service.record(Event.AUTH_LOGOUT)
    late = service.record(Event.AUTH_LOGOUT)
    tail.note_own(own.seq)
    assert tail.poll() == []  # ``late`` is held one poll: it may be ours, announced late
    tail.note_own(late.seq)
    assert tail.poll() == []  # it was ours
    first = cli.record(Event.USER_ADDED, target="a")
    with open(service.current_file, "ab") as fh:  # half a line: a writer mid-append
        fh.write(b'{"seq": 99, "ts": ')
    assert tail.poll() == []
    with open(service.current_file, "ab") as fh:  # the torn line completed as garbage
        fh.write(b'"x"}\n')
    forged = dict(json.loads(service.current_file.read_text().splitlines()[-2]))
    forged.update(seq=first.seq + 1, action="user.role_changed", mac="0" * 64)
    with open(service.current_file, "ab") as fh:  # no log key: refused, never alerted
        fh.write(json.dumps(forged).encode() + b"\n")
    second = cli.record(Event.USER_DISABLED, target="a")
    assert [e.seq for e in tail.poll()] == [first.seq]  # foreign, after one poll held
    assert [e.seq for e in tail.poll()] == [second.seq]
    assert tail.poll() == []


def test_records_sealed_by_a_rotation_between_polls_are_read_from_the_archive(tmp_path):
    service, cli = _log(tmp_path), _log(tmp_path)
    service.record(Event.DEVICE_STARTED)
    tail = ForeignTail(service, service.tail_position())
    sealed = cli.record(Event.TOKEN_CREATED, token_id="t")
    cli.rotate()
    after = cli.record(Event.USER_ENABLED, target="a")
    tail.poll()
    got = [e.action for e in tail.poll()]
    assert got == ["token.created", "seclog.rotated", "user.enabled"]
    assert tail.position.seq == after.seq > sealed.seq
    assert tail.poll() == []
