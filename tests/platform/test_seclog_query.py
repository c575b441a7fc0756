"""Security-log queries read the archive index, not every archive (TAICS 5.2.8.x availability).

The answer is the same as a full scan's; the work is not: a query for the newest records or a
time window decrypts only the archive files that can hold them.
"""

from __future__ import annotations

import datetime as dt

import pytest

from vigilcam.platform import seclog as seclog_module
from vigilcam.platform.seclog import SecurityLog

T0 = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def _fill(folder) -> SecurityLog:
    clock = iter(T0 + dt.timedelta(minutes=i) for i in range(10_000))
    real = seclog_module.utc_timestamp
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(seclog_module, "utc_timestamp", lambda now=None: real(now or next(clock)))
        mp.setattr(seclog_module.os, "fsync", lambda fd: None)  # speed; not under test here
        log = SecurityLog(folder, "dev-1", b"k" * 32, b"a" * 32, rotate_bytes=6000)
        log.open()
        for i in range(300):
            log.record("user.added" if i % 50 == 0 else "auth.login", result="failure",
                       user=f"u{i % 7}", source="127.0.0.1")
        while len(log.current_file.read_text().splitlines()) < 10:
            log.record("auth.login", user="late")
    return log


@pytest.fixture(scope="module")
def shared_log(tmp_path_factory) -> SecurityLog:
    """Read-only queries share one log."""
    return _fill(tmp_path_factory.mktemp("q") / "seclog")


@pytest.fixture
def log(tmp_path) -> SecurityLog:
    return _fill(tmp_path / "seclog")


def full_scan(log: SecurityLog, **kw) -> list[int]:
    out = [e for e in log.records()
           if (not kw.get("since") or e.ts >= kw["since"])
           and (not kw.get("until") or e.ts <= kw["until"])
           and (not kw.get("action") or e.action.startswith(kw["action"]))
           and (not kw.get("user") or e.user == kw["user"])
           and (kw.get("before_seq") is None or e.seq < kw["before_seq"])]
    out.reverse()
    return [e.seq for e in out[: kw.get("limit", 1000)]]


def ts(minutes: int) -> str:
    return seclog_module.utc_timestamp(T0 + dt.timedelta(minutes=minutes))


@pytest.mark.parametrize("kw", [
    {"limit": 5}, {"limit": 1000}, {"action": "user."}, {"user": "u3", "limit": 7},
    {"since": ts(100), "until": ts(130)}, {"until": ts(20)}, {"since": ts(290)},
    {"before_seq": 150, "limit": 10}, {"before_seq": 1}, {"limit": 0},
])
def test_query_answers_like_a_full_scan(shared_log: SecurityLog, kw) -> None:
    assert len(list(shared_log.archive_dir.glob("*.enc"))) >= 5
    assert [e.seq for e in shared_log.query(**kw)] == full_scan(shared_log, **kw)


def test_newest_page_and_old_window_decrypt_only_what_they_need(log: SecurityLog,
                                                                monkeypatch) -> None:
    archives = sorted(log.archive_dir.glob("*.enc"))
    log.query(limit=1)  # the index is there (written at rotation)
    opened: list[str] = []
    real = SecurityLog._records_of

    def counting(self, path):
        opened.append(path.name)
        return real(self, path)

    monkeypatch.setattr(SecurityLog, "_records_of", counting)
    log.query(limit=10)
    assert not [n for n in opened if n.endswith(".enc")], opened  # the current file suffices
    opened.clear()
    got = log.query(until=ts(3))
    assert [e.seq for e in got] == [4, 3, 2, 1]
    assert [n for n in opened if n.endswith(".enc")] == [archives[0].name], opened


def test_lost_or_forged_index_is_rebuilt_from_the_archives(log: SecurityLog) -> None:
    expected = full_scan(log, until=ts(40))
    log.index_file.write_text(log.index_file.read_text().replace('"max_ts": "2026', '"max_ts": "1999'))
    assert [e.seq for e in log.query(until=ts(40))] == expected  # forged lines ignored
    log.index_file.unlink()
    assert [e.seq for e in log.query(until=ts(40))] == expected
    assert log.index_file.exists()
