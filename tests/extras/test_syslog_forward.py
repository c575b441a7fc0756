"""TAICS 5.2.8.1: the security log forwarded to a remote syslog over TLS (RFC 5424/5425)."""

from __future__ import annotations

import json
import re
import secrets
import time
from pathlib import Path

import pytest

from tests.extras.certs import self_signed
from tests.extras.syslog_receiver import Receiver
from vigilcam.platform import tls
from vigilcam.platform.seclog import SecurityEvent, SecurityLog
from vigilcam.platform.syslog_forward import (
    Backoff,
    FrameError,
    SyslogForwarder,
    SyslogTarget,
    format_rfc5424,
    frame,
    read_frames,
)

# RFC 5424 section 6: HEADER SP STRUCTURED-DATA [SP MSG]
RFC5424 = re.compile(
    rb'^<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) (\[vigilcam@32473(?: [a-z_]+="(?:[^"\\\]]|'
    rb'\\["\\\]])*")*\]) \xef\xbb\xbf(.*)$', re.S)


def event(**kw: object) -> SecurityEvent:
    base: dict[str, object] = dict(seq=7, ts="2026-11-23T17:00:00.123Z", device_id="dev-1",
                                   action="auth.login", result="failure", user='ev"il]\\',
                                   source="198.51.100.7", details={"interface": "web"},
                                   prev="ab", mac="cd")
    base.update(kw)
    return SecurityEvent(**base)  # type: ignore[arg-type]


def test_rfc5424_message() -> None:
    msg = format_rfc5424(event(), "cam 1\n")
    m = RFC5424.match(msg)
    assert m, msg
    pri, ts, host, app, procid, msgid, sd, body = m.groups()
    assert int(pri) == 10 * 8 + 4  # authpriv.warning for a failed login
    assert (ts, host, app, procid, msgid) == (b"2026-11-23T17:00:00.123Z", b"cam1", b"vigilcam",
                                              b"-", b"auth.login")
    assert b'user="ev\\"il\\]\\\\"' in sd and b'seq="7"' in sd
    assert json.loads(body)["details"] == {"interface": "web"}
    assert int(RFC5424.match(format_rfc5424(event(result="ok"), "h")).group(1)) == 85  # type: ignore[union-attr]
    crit = format_rfc5424(event(action="seclog.write_failed", result="error"), "h")
    assert crit.startswith(b"<82>1 ")


def test_framing_round_trip_and_errors() -> None:
    buf = bytearray(frame(b"hello") + frame("h\u00e9 there".encode()) + b"12 partial")
    assert read_frames(buf) == [b"hello", "h\u00e9 there".encode()]
    assert buf == b"12 partial"
    for bad in (b"abc hello", b"01 x", b"1234567890 x", b"99999999"):
        with pytest.raises(FrameError):
            read_frames(bytearray(bad), max_size=1000)


def test_target_and_backoff() -> None:
    assert SyslogTarget.parse("logs.example:1514") == SyslogTarget("logs.example", 1514)
    assert SyslogTarget.parse("[::1]:6514") == SyslogTarget("::1", 6514)
    assert SyslogTarget.parse("10.0.0.1") == SyslogTarget("10.0.0.1", 6514)
    for bad in ("", ":1", "h:x", "h:70000"):
        with pytest.raises(ValueError):
            SyslogTarget.parse(bad)
    b = Backoff(0.5, 3)
    assert [b.next_delay() for _ in range(5)] == [0.5, 1, 2, 3, 3]
    b.reset()
    assert b.next_delay() == 0.5


@pytest.fixture
def cert(tmp_path: Path) -> tuple[Path, Path]:
    return self_signed(tmp_path / "tls")


def _log(tmp_path: Path) -> SecurityLog:
    log = SecurityLog(tmp_path / "seclog", "dev-1", secrets.token_bytes(32),
                      secrets.token_bytes(32))
    log.open()
    return log


def test_forwards_security_log_and_survives_collector_restart(
        tmp_path: Path, cert: tuple[Path, Path]) -> None:
    receiver = Receiver(*cert)
    port = receiver.port
    fwd = SyslogForwarder(SyslogTarget("127.0.0.1", port), tls.client_context(cafile=cert[0]),
                          hostname="cam-1", backoff=Backoff(0.05, 0.2))
    seclog = _log(tmp_path)
    fwd.attach(seclog)
    fwd.start()
    try:
        seclog.record("auth.login", user="admin", source="127.0.0.1", interface="web")
        seclog.record("auth.login", result="failure", user="mallory", source="198.51.100.7")
        got = receiver.wait_for(2)
        assert [json.loads(RFC5424.match(m).group(8))["seq"] for m in got] == [1, 2]  # type: ignore[union-attr]
        deadline = time.monotonic() + 5
        while fwd.status().sent < 2 and time.monotonic() < deadline:  # counted after sendall
            time.sleep(0.01)
        assert fwd.status().connected and fwd.status().sent == 2
        receiver.close()  # the collector restarts; events recorded meanwhile must arrive
        seclog.record("user.added", user="admin", target="bob")
        seclog.record("auth.logout", user="admin")
        receiver = Receiver(*cert, port=port)
        got = receiver.wait_for(2)
        seqs = sorted({json.loads(RFC5424.match(m).group(8))["seq"] for m in got})  # type: ignore[union-attr]
        assert seqs == [3, 4]
        assert receiver.connections >= 1
    finally:
        fwd.stop()
        receiver.close()
    assert not fwd.status().connected


def test_bounded_queue_drops_oldest_and_reports(tmp_path: Path, cert: tuple[Path, Path]) -> None:
    receiver = Receiver(*cert)
    port = receiver.port
    receiver.close()  # nothing listening yet
    fwd = SyslogForwarder(SyslogTarget("127.0.0.1", port), tls.client_context(cafile=cert[0]),
                          hostname="cam-1", queue_max=3, backoff=Backoff(0.05, 0.1))
    for seq in range(1, 11):
        fwd.offer(event(seq=seq), True)
    assert fwd.status().queued == 3 and fwd.dropped == 7
    fwd.start()
    receiver = Receiver(*cert, port=port)
    try:
        got = receiver.wait_for(4)
    finally:
        fwd.stop()
        receiver.close()
    seqs = [json.loads(RFC5424.match(m).group(8))["seq"] for m in got if b"dropped=" not in m]  # type: ignore[union-attr]
    assert seqs == [8, 9, 10]
    notice = [m for m in got if b"syslog.forward_dropped" in m]
    assert notice and b'dropped="7"' in notice[0]


def test_untrusted_collector_is_refused(tmp_path: Path, cert: tuple[Path, Path]) -> None:
    other_cert, _ = self_signed(tmp_path / "other", "impostor")
    receiver = Receiver(*cert)
    fwd = SyslogForwarder(SyslogTarget("127.0.0.1", receiver.port),
                          tls.client_context(cafile=other_cert), hostname="cam-1",
                          backoff=Backoff(0.05, 0.1))
    fwd.start()
    try:
        fwd.offer(event(), True)
        for _ in range(100):
            if fwd.status().last_error:
                break
            time.sleep(0.02)
    finally:
        fwd.stop(flush_timeout=0)
        receiver.close()
    assert "certificate verify failed" in fwd.status().last_error
    assert receiver.messages == [] and fwd.sent == 0
