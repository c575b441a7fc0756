"""Sources through PyAV: file loops with pass-through, loss and recovery events, RTSP upstream."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import av
import pytest

from vigilcam.media.capture import (
    SourceError,
    make_reader,
    rtsp_options,
    safe_error,
    tls_options,
    v4l2_options,
)
from vigilcam.media.fmp4 import FragmentTimeline, init_segment
from vigilcam.media.h264 import parse_avcc_record
from vigilcam.media.pipeline import MediaPipeline
from vigilcam.media.source_spec import UpstreamCredentials, UpstreamTls, parse_source
from vigilcam.media.testsrc import decode_burned_time
from vigilcam.platform.backoff import Backoff

from .conftest import write_h264_mp4
from .test_pipeline import decode, take

pytestmark = pytest.mark.timeout(60)

Event = tuple[str, str, dict[str, object]]


async def wait_for(pred, timeout: float) -> None:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > end:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


def file_sps(path: Path) -> bytes:
    with av.open(str(path)) as c:
        extra = c.streams.video[0].codec_context.extradata
    assert extra is not None
    return parse_avcc_record(extra)[1][0]


async def test_file_source_passthrough_loops(h264_file: Path) -> None:
    p = MediaPipeline(f"file:{h264_file}", width=640, height=360, fps=15, sub_width=160,
                      sub_height=120, sub_fps=5)
    assert p.passthrough
    p.start()
    try:
        got = await take(p.hubs["main"].subscribe(), 25, timeout=6)  # clip is 15 frames
        subs = await take(p.hubs["sub"].subscribe(), 2, timeout=6)
    finally:
        p.stop()
    info = p.hubs["main"].info
    assert info is not None
    # pass-through: the file's own parameter sets and size, not the configured 640x360
    assert info.sps == file_sps(h264_file)
    assert (info.width, info.height) == (320, 240)
    assert info.fps == 15
    assert got[0].keyframe and got[0].nals[0] == info.sps
    assert sum(p.keyframe for p in got) >= 2  # looped past the end at least once
    dts = [p.dts for p in got]
    assert all(b > a for a, b in zip(dts, dts[1:], strict=False))  # continuous across loops
    assert len(decode(got)) == 25
    sinfo = p.hubs["sub"].info
    assert sinfo is not None and (sinfo.width, sinfo.height) == (160, 120)
    assert subs[0].keyframe


async def test_bframes_pass_through_and_fmp4_keeps_order(tmp_path: Path) -> None:
    clip = write_h264_mp4(tmp_path / "bframes.mp4", seconds=2.0,
                          options={"preset": "veryfast", "bf": "2", "g": "15"})
    p = MediaPipeline(f"file:{clip}", width=640, height=360, fps=15, sub_width=160,
                      sub_height=120, sub_fps=5)
    p.start()
    try:
        got = await take(p.hubs["main"].subscribe(), 20, timeout=6)
    finally:
        p.stop()
    assert p.passthrough
    assert any(x.pts != x.dts for x in got)  # reordered frames forwarded as they are
    assert all(x.pts >= x.dts for x in got)
    info = p.hubs["main"].info
    assert info is not None and info.profile_idc == 100
    out = tmp_path / "out.mp4"
    out.write_bytes(init_segment(info) + FragmentTimeline(got[0].dts).fragment(got))
    with av.open(str(out)) as c:
        frames = list(c.decode(video=0))
    assert len(frames) == 20
    times = [f.time for f in frames]
    assert times == sorted(times)  # presentation order restored via composition offsets
    # the burned-in capture times come out in display order too
    stamps = [decode_burned_time(f.to_ndarray(format="gray")) for f in frames]
    assert all(s is not None for s in stamps)
    assert stamps == sorted(stamps)  # type: ignore[type-var]


async def test_non_h264_upstream_is_reencoded(tmp_path: Path) -> None:
    clip = write_h264_mp4(tmp_path / "hevc.mp4", codec="libx265",
                          options={"preset": "ultrafast", "x265-params": "log-level=none"})
    p = MediaPipeline(f"file:{clip}", width=640, height=360, fps=15, sub_width=160,
                      sub_height=90, sub_fps=5)
    assert p.passthrough  # would be tried
    p.start()
    try:
        got = await take(p.hubs["main"].subscribe(), 5, timeout=8)
    finally:
        p.stop()
    assert not p.passthrough  # HEVC cannot be forwarded as H.264: decoded and encoded
    info = p.hubs["main"].info
    assert info is not None and (info.width, info.height) == (640, 360)
    assert got[0].keyframe and len(decode(got)) == 5


async def test_file_reencoded_when_masked(h264_file: Path) -> None:
    p = MediaPipeline(f"file:{h264_file}", width=640, height=360, fps=15, sub_width=160,
                      sub_height=90, sub_fps=5, masks=[{"rect": [0, 0, 0.5, 0.5]}])
    assert not p.passthrough
    p.start()
    try:
        got = await take(p.hubs["main"].subscribe(), 5, timeout=6)
    finally:
        p.stop()
    info = p.hubs["main"].info
    assert info is not None and (info.width, info.height) == (640, 360)
    frame = decode(got)[-1]
    assert frame[:170, :310].max() < 40


async def test_file_vanishes_then_returns(h264_file: Path, tmp_path: Path) -> None:
    clip = tmp_path / "cam.mp4"
    shutil.copy(h264_file, clip)
    events: list[Event] = []
    p = MediaPipeline(f"file:{clip}", width=320, height=240, fps=15, sub_width=160,
                      sub_height=120, sub_fps=5, on_event=lambda *a: events.append(a),
                      backoff=Backoff(initial=0.1, maximum=0.3))
    p.start()
    try:
        main = p.hubs["main"].subscribe()
        await take(main, 3)
        clip.unlink()  # gone at the next loop (within the 1 s clip)
        await wait_for(lambda: len(events) == 1, 4)
        assert p.state == "signal_lost"
        assert [e[0] for e in events] == ["media.signal_lost"]
        action, result, details = events[0]
        assert result == "failure" and details["source"] == "file"
        await asyncio.sleep(0.5)  # several back-off retries: still one event
        assert len(events) == 1
        shutil.copy(h264_file, clip)
        await wait_for(lambda: len(events) == 2, 4)
        assert p.state == "live"
        assert [e[0] for e in events] == ["media.signal_lost", "media.signal_restored"]
        assert events[1][1] == "success"
        assert float(events[1][2]["down_seconds"]) > 0.4  # type: ignore[arg-type]
        await asyncio.sleep(0.3)
        backlog = [x for x in iter(main.get_nowait, None)]
        gaps = [i for i in range(1, len(backlog))
                if backlog[i].wallclock - backlog[i - 1].wallclock > 0.4]
        assert len(gaps) == 1 and backlog[gaps[0]].keyframe  # resumes at an IDR after the gap
    finally:
        p.stop()


async def test_missing_file_at_start_is_signal_lost(tmp_path: Path) -> None:
    events: list[Event] = []
    p = MediaPipeline(f"file:{tmp_path / 'none.mp4'}", on_event=lambda *a: events.append(a),
                      backoff=Backoff(initial=0.05, maximum=0.1))
    p.start()
    try:
        await wait_for(lambda: events, 3)
        assert p.state == "signal_lost"
        assert events[0][0] == "media.signal_lost"
        assert "cannot open file source" in str(events[0][2]["error"])
    finally:
        p.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_rtsp_upstream(port: int, tls: tuple[Path, Path] | None = None
                        ) -> subprocess.Popen[bytes]:
    # ffmpeg cannot serve RTSP (its "listen" flag is for receiving), so the upstream camera is
    # GStreamer's RTSP server, a real, independent RTSP implementation.
    extra = [str(tls[0]), str(tls[1])] if tls else []
    proc = subprocess.Popen(
        ["/usr/bin/python3", str(Path(__file__).with_name("gst_rtsp_upstream.py")), str(port),
         *extra],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == b"ready"
    return proc


def stop_proc(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
        proc.wait(5)


@pytest.mark.peer
async def test_rtsp_upstream_killed_and_restarted(tmp_path: Path) -> None:
    port = free_port()
    creds = UpstreamCredentials("camuser", "Upstream-Secret-42")
    events: list[Event] = []
    up = start_rtsp_upstream(port)
    p = MediaPipeline(f"rtsp://127.0.0.1:{port}/cam", width=640, height=360, fps=15,
                      sub_width=160, sub_height=120, sub_fps=5, credentials=creds,
                      on_event=lambda *a: events.append(a),
                      backoff=Backoff(initial=0.2, maximum=0.5), rtsp_timeout=2.0)
    p.start()
    try:
        main = p.hubs["main"].subscribe()
        got = await take(main, 10, timeout=15)
        assert p.passthrough
        info = p.hubs["main"].info
        # not re-encoded: the upstream's size (not the configured 640x360) and x264enc's
        # High-profile parameter sets (our encoder makes constrained baseline)
        assert info is not None and (info.width, info.height) == (320, 240)
        assert info.profile_idc == 100 and info.codec_string.startswith("avc1.64")
        assert got[0].keyframe
        assert len(decode(got)) == 10
        # the forwarded High-profile packets make a valid fMP4 (avcC with high-profile fields)
        mp4 = tmp_path / "pt.mp4"
        mp4.write_bytes(init_segment(info) + FragmentTimeline(got[0].dts).fragment(got))
        probe = subprocess.run(
            ["ffprobe", "-v", "error", "-count_frames", "-show_entries",
             "stream=profile,width,nb_read_frames", "-of", "csv=p=0", str(mp4)],
            capture_output=True, text=True, timeout=20,
        )
        assert probe.stderr == "" and probe.stdout.strip() == "High,320,10"
        await take(p.hubs["sub"].subscribe(), 1, timeout=5)
        # A hung camera (no RST, no data, like a pulled cable) is detected by the read timeout.
        up.send_signal(signal.SIGSTOP)
        t_stall = time.monotonic()
        await wait_for(lambda: len(events) == 1, 8)
        assert time.monotonic() - t_stall < 2.0 * 2 + 1
        stop_proc(up)
        assert p.state == "signal_lost"
        assert [e[0] for e in events] == ["media.signal_lost"]
        up = start_rtsp_upstream(port)
        await wait_for(lambda: len(events) == 2, 15)
        assert p.state == "live"
        assert [e[0] for e in events] == ["media.signal_lost", "media.signal_restored"]
        while main.get_nowait() is not None:
            pass
        again = await take(main, 3, timeout=5)
        assert again[0].keyframe or len(again) == 3
        for e in events:
            text = repr(e)
            assert "Upstream-Secret-42" not in text and "camuser" not in text
            assert e[2]["source"] == "rtsp"
    finally:
        p.stop()
        stop_proc(up)


def test_open_failure_carries_no_credentials() -> None:
    spec = parse_source(f"rtsp://127.0.0.1:{free_port()}/cam")
    creds = UpstreamCredentials("camuser", "Upstream-Secret-42")
    with pytest.raises(SourceError) as e:
        make_reader(spec, width=320, height=240, fps=15, passthrough=True, credentials=creds,
                    timeline_origin=time.monotonic(), rtsp_timeout=1.0)
    assert "cannot open rtsp source" in str(e.value)
    chain = [e.value, e.value.__context__, e.value.__cause__]
    text = " ".join(repr(x) + str(x) for x in chain if x is not None)
    assert "Upstream-Secret-42" not in text and "camuser" not in text
    assert e.value.__context__ is None  # the FFmpeg error (holding the URL) is not chained


def test_camera_that_never_answers_is_named_as_such() -> None:
    # A listener that accepts and stays silent, like a camera hung after accepting: FFmpeg calls
    # the unanswered request "invalid data"; the error names the wait instead.
    with socket.create_server(("127.0.0.1", 0)) as mute:
        spec = parse_source(f"rtsp://127.0.0.1:{mute.getsockname()[1]}/cam")
        started = time.monotonic()
        with pytest.raises(SourceError, match=r"cannot open rtsp source: no answer within 1 s"):
            make_reader(spec, width=320, height=240, fps=15, passthrough=True, credentials=None,
                        timeline_origin=time.monotonic(), rtsp_timeout=1.0)
        assert time.monotonic() - started < 5


def test_option_builders_and_safe_errors() -> None:
    o = rtsp_options(3.0)
    assert o["rtsp_transport"] == "tcp" and o["timeout"] == "3000000"
    assert v4l2_options(1280, 720, 15) == {"video_size": "1280x720", "framerate": "15"}
    err = av.error.ConnectionRefusedError(111, "Connection refused",
                                          "rtsp://u:Secret-99@h/x")  # type: ignore[call-arg]
    text = safe_error(err, ("Secret-99",))
    assert "Secret-99" not in text and "rtsp://" not in text and "refused" in text


async def test_v4l2_missing_device_is_signal_lost() -> None:
    dev = "/dev/video63"
    assert not os.path.exists(dev)
    events: list[Event] = []
    p = MediaPipeline(f"v4l2:{dev}", on_event=lambda *a: events.append(a),
                      backoff=Backoff(initial=0.05, maximum=0.1))
    p.start()
    try:
        await wait_for(lambda: events, 3)
        assert events[0][0] == "media.signal_lost" and events[0][2]["source"] == "v4l2"
    finally:
        p.stop()


def self_signed(tmp: Path, ip: str = "127.0.0.1") -> tuple[Path, Path]:
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "upstream-test-camera")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "up-cert.pem", tmp / "up-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.mark.peer
async def test_rtsps_upstream_certificate_is_verified(tmp_path: Path) -> None:
    port = free_port()
    cert, key = self_signed(tmp_path)
    up = start_rtsp_upstream(port, (cert, key))
    try:
        def open_with(url: str, tls: UpstreamTls) -> None:
            reader = make_reader(parse_source(url), width=320, height=240, fps=15,
                                 passthrough=True, credentials=None,
                                 timeline_origin=time.monotonic(), rtsp_timeout=2.0,
                                 upstream_tls=tls)
            reader.close()

        url = f"rtsps://127.0.0.1:{port}/cam"
        # default: verified against the system trust store -> a self-signed camera is refused
        with pytest.raises(SourceError, match="cannot open rtsp source"):
            await asyncio.to_thread(open_with, url, UpstreamTls())
        # pinned certificate but the wrong name in the URL -> refused
        with pytest.raises(SourceError):
            await asyncio.to_thread(open_with, f"rtsps://localhost:{port}/cam",
                                    UpstreamTls(ca_file=str(cert)))
        with pytest.raises(SourceError, match="does not exist"):
            await asyncio.to_thread(open_with, url, UpstreamTls(ca_file=str(tmp_path / "x")))
        # pinned certificate: video flows, passed through
        p = MediaPipeline(url, width=640, height=360, fps=15, sub_width=160, sub_height=120,
                          sub_fps=5, upstream_tls=UpstreamTls(ca_file=str(cert)),
                          rtsp_timeout=2.0)
        p.start()
        try:
            got = await take(p.hubs["main"].subscribe(), 5, timeout=10)
        finally:
            p.stop()
        assert got[0].keyframe and p.passthrough
        info = p.hubs["main"].info
        assert info is not None and (info.width, info.height) == (320, 240)
    finally:
        stop_proc(up)


def test_tls_options() -> None:
    assert tls_options(UpstreamTls(verify=False)) == {"tls_verify": "0"}
    with pytest.raises(SourceError, match="no CA bundle"):
        tls_options(UpstreamTls(), bundles=("/nonexistent/ca.pem",))
    opts = tls_options(UpstreamTls(), bundles=("/nonexistent/ca.pem", __file__))
    assert opts == {"tls_verify": "1", "ca_file": __file__}
