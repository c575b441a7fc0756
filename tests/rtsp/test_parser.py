"""RTSP request parser: accepted shapes, every refusal status, and a hypothesis fuzz."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vigilcam.rtsp.parser import (
    Interleaved,
    Limits,
    RequestReader,
    RtspError,
    RtspRequest,
    build_response,
    request_path,
)


def one(data: bytes, limits: Limits = Limits()) -> RtspRequest | Interleaved | None:
    r = RequestReader(limits)
    r.feed(data)
    return r.next()


def refused(data: bytes, limits: Limits = Limits()) -> RtspError:
    with pytest.raises(RtspError) as info:
        r = RequestReader(limits)
        r.feed(data)
        while r.next() is not None:
            pass
    return info.value


def test_describe_parsed() -> None:
    req = one(b"DESCRIBE rtsps://h:1/main RTSP/1.0\r\nCSeq: 2\r\nAccept: application/sdp\r\n"
              b"User-Agent: x\r\n\r\n")
    assert isinstance(req, RtspRequest)
    assert (req.method, req.uri, req.cseq) == ("DESCRIBE", "rtsps://h:1/main", 2)
    assert req.header("ACCEPT") == "application/sdp" and req.header("x-none") is None


def test_incremental_bytes_and_pipelined_requests_with_body_and_interleaved() -> None:
    data = (b"SET_PARAMETER * RTSP/1.0\r\nCSeq: 1\r\nContent-Length: 5\r\n\r\nhello"
            b"$\x01\x00\x03abc" b"\r\nOPTIONS * RTSP/1.0\r\nCSeq: 2\r\n\r\n")
    r = RequestReader()
    got = []
    for i in range(len(data)):  # one byte at a time
        r.feed(data[i : i + 1])
        while (m := r.next()) is not None:
            got.append(m)
    assert isinstance(got[0], RtspRequest) and got[0].body == b"hello"
    assert got[1] == Interleaved(1, b"abc")
    assert isinstance(got[2], RtspRequest) and got[2].cseq == 2
    assert r.buffered == 0


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (b"OPTIONS * RTSP/1.0\r\n\r\n", 400),  # no CSeq
        (b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nCSeq: 2\r\n\r\n", 400),  # two CSeq
        (b"OPTIONS * RTSP/1.0\r\nCSeq: -1\r\n\r\n", 400),
        (b"OPTIONS * RTSP/1.0\r\nCSeq: 1234567890\r\n\r\n", 400),
        (b"OPTIONS  * RTSP/1.0\r\nCSeq: 1\r\n\r\n", 400),  # double space
        (b"options * RTSP/1.0\r\nCSeq: 1\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        (b"OPTIONS * RTSP/2.0\r\nCSeq: 1\r\n\r\n", 505),
        (b"RECORD * RTSP/1.0\r\nCSeq: 1\r\n\r\n", 501),
        (b"BREW * RTSP/1.0\r\nCSeq: 1\r\n\r\n", 501),
        (b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n folded\r\n\r\n", 400),
        (b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nBad Name: x\r\n\r\n", 400),
        (b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nX: a\x00b\r\n\r\n", 400),
        (b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nX: \xff\r\n\r\n", 400),
        (b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nContent-Length: 1x\r\n\r\n", 400),
        (b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nContent-Length: 99999\r\n\r\n", 413),
        (b"OPTIONS /" + b"a" * 3000 + b" RTSP/1.0\r\nCSeq: 1\r\n\r\n", 414),
        (b"OPTIONS /" + b"a" * 3000, 414),  # no line end yet: refused before it all arrives
        (b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n" + b"X: y\r\n" * 40 + b"\r\n", 431),
        (b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nX: " + b"y" * 3000 + b"\r\n\r\n", 431),
        (b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n" + b"X-Long: " + b"y" * 1900 + b"\r\n" * 1
         + (b"X-Long: " + b"y" * 1900 + b"\r\n") * 4, 431),  # head > 8 KiB without an end
    ],
)
def test_refusals(data: bytes, status: int) -> None:
    assert refused(data).status == status


def test_cseq_kept_for_answerable_errors() -> None:
    err = refused(b"RECORD * RTSP/1.0\r\nCSeq: 7\r\n\r\n")
    assert err.status == 501 and err.cseq == 7
    assert "RECORD" in err.message


def test_reader_stays_failed_after_an_error() -> None:
    r = RequestReader()
    r.feed(b"BAD\r\n\r\n")
    with pytest.raises(RtspError):
        r.next()
    r.feed(b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n")
    with pytest.raises(RtspError):
        r.next()


def test_request_path() -> None:
    assert request_path("rtsps://127.0.0.1:8554/main") == "/main"
    assert request_path("rtsp://[::1]:8554/main/trackID=0") == "/main/trackID=0"
    assert request_path("/sub?x=1") == "/sub"
    assert request_path("*") == "*"
    for bad in ("http://h/main", "rtsps://h/%2e%2e/../x", "rtsps://h/a%00b", "/%ff", "rtsp://[::1"):
        with pytest.raises(RtspError):
            request_path(bad)


def test_build_response_and_header_injection() -> None:
    out = build_response(200, 3, [("Public", "OPTIONS")], b"body")
    assert out.startswith(b"RTSP/1.0 200 OK\r\nCSeq: 3\r\n")
    assert out.endswith(b"Content-Length: 4\r\n\r\nbody")
    assert b"403 Privacy Mode On" in build_response(403, 1, reason="Privacy Mode On")
    with pytest.raises(ValueError):
        build_response(200, 1, [("X", "a\r\nInjected: 1")])


# -- fuzz ---------------------------------------------------------------------------------

_tokens = st.sampled_from([
    b"OPTIONS", b"DESCRIBE", b"SETUP", b"PLAY", b"TEARDOWN", b"GET_PARAMETER", b"$", b" ",
    b"\r\n", b"\r\n\r\n", b"RTSP/1.0", b"CSeq: 1", b"CSeq:", b"Content-Length: 3",
    b"Content-Length: 99999999999", b"*", b"rtsps://h/main", b":", b"\x00", b"\xff", b"\t",
    b"Session: ab", b"Transport: RTP/AVP/TCP;interleaved=0-1", b"a" * 300,
])
_messages = st.lists(st.one_of(_tokens, st.binary(max_size=64)), max_size=40).map(b"".join)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=_messages, cuts=st.lists(st.integers(0, 4000), max_size=6))
def test_fuzz_reader_never_crashes_and_stays_bounded(data: bytes, cuts: list[int]) -> None:
    """Any bytes, split anywhere: only requests, interleaved frames or RtspError come out."""
    limits = Limits(max_head=1024, max_request_line=256, max_headers=8, max_body=64)
    r = RequestReader(limits)
    points = sorted({0, len(data), *[c % (len(data) + 1) for c in cuts]})
    try:
        for a, b in zip(points, points[1:], strict=False):
            r.feed(data[a:b])
            while (m := r.next()) is not None:
                assert isinstance(m, RtspRequest | Interleaved)
                if isinstance(m, RtspRequest):
                    assert m.cseq >= 0 and len(m.body) <= limits.max_body
                    assert len(m.headers) <= limits.max_headers
                # held bytes are bounded by one head + one body, or one interleaved frame
            assert r.buffered <= max(limits.max_head + limits.max_body + 4, 65535 + 4)
    except RtspError as exc:
        assert exc.status in (400, 413, 414, 431, 501, 505)
        assert exc.message


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=200), st.text(alphabet="/%fF0a.:[]", max_size=40).map(
    lambda t: "rtsps://h" + t)))
def test_fuzz_request_path(uri: str) -> None:
    try:
        path = request_path(uri)
    except RtspError as exc:
        assert exc.status == 400
    else:
        assert path == "*" or path.startswith("/") or path == ""
