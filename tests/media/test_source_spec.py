"""--source parsing: accepted kinds, refusals with clear messages, no credential ever echoed."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vigilcam.media.source_spec import (
    FileSource,
    RtspSource,
    TestSource,
    UpstreamCredentials,
    V4l2Source,
    parse_source,
)


def test_accepted_kinds() -> None:
    assert parse_source("testsrc") == TestSource()
    assert parse_source("file:/tmp/a b.mp4") == FileSource("/tmp/a b.mp4")
    assert parse_source("v4l2:/dev/video0") == V4l2Source("/dev/video0")
    r = parse_source("rtsp://cam.lan/stream1")
    assert r == RtspSource("rtsp", "cam.lan", 554, "/stream1")
    assert parse_source("rtsps://10.0.0.5:8322/a/b?ch=1") == RtspSource(
        "rtsps", "10.0.0.5", 8322, "/a/b?ch=1"
    )
    v6 = parse_source("rtsp://[::1]:8554/x")
    assert isinstance(v6, RtspSource) and v6.host == "::1"
    assert v6.redacted() == "rtsp://[::1]:8554/x"
    assert parse_source("rtsps://cam") == RtspSource("rtsps", "cam", 322, "/")


@pytest.mark.parametrize(
    "spec, fragment",
    [
        ("", "unsupported source"),
        ("exec:ffmpeg -i x", "unsupported source"),
        ("echo hi | ffmpeg", "unsupported source"),
        ("http://cam/x", "unsupported source"),
        ("file:", "needs a path"),
        ("file://etc/passwd", "local path"),
        ("v4l2:/dev/sda", "v4l2:/dev/video0"),
        ("v4l2:/dev/video0;rm", "v4l2:/dev/video0"),
        ("rtsp://", "needs a host"),
        ("rtsp://cam:0/x", "port"),
        ("rtsp://cam:99999/x", "port"),
        ("rtsp://cam:abc/x", "port"),
        ("rtsp://bad_host!/x", "host"),
        ("rtsp://[::zz]/x", "IPv6"),
        ("rtsp://cam/x#frag", "fragment"),
        ("rtsp://cam/x y", "not allowed"),
        ("testsrc\n", "control characters"),
        ("rtsp://" + "a" * 3000, "longer than"),
    ],
)
def test_refusals_have_clear_messages(spec: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        parse_source(spec)


@pytest.mark.parametrize(
    "spec",
    [
        "rtsp://admin:s3cretPW@cam.lan/live",
        "rtsps://admin@cam.lan:322/live",
        "rtsp://admin:s3/cretPW@cam.lan/live",
        "RTSP://admin:s3cretPW@[::1]/x",
    ],
)
def test_embedded_credentials_refused_without_echo(spec: str) -> None:
    with pytest.raises(ValueError) as e:
        parse_source(spec)
    msg = str(e.value)
    assert "vault" in msg
    assert "s3cret" not in msg and "admin" not in msg and "cretPW" not in msg


def test_credentials_are_kept_out_of_repr_and_redacted_url() -> None:
    spec = parse_source("rtsp://cam.lan:8554/live")
    assert isinstance(spec, RtspSource)
    creds = UpstreamCredentials("ad min", "p@ss:w/rd")
    assert "p@ss" not in repr(creds)
    assert spec.url(creds) == "rtsp://ad%20min:p%40ss%3Aw%2Frd@cam.lan:8554/live"
    assert spec.redacted() == "rtsp://cam.lan:8554/live"
    assert "p@ss" not in repr(spec)
    with pytest.raises(ValueError, match="control"):
        UpstreamCredentials("a", "b\r\nc")


@given(st.text(max_size=200))
def test_fuzz_parse_never_crashes_and_never_echoes_userinfo(text: str) -> None:
    try:
        spec = parse_source(text)
    except ValueError as e:
        if "@" in text and "://" in text:
            secret = text.split("://", 1)[1].split("@", 1)[0]
            if len(secret) >= 6:
                assert secret not in str(e)
        return
    assert spec.kind in {"testsrc", "file", "v4l2", "rtsp"}
