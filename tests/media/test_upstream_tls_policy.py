"""The upstream camera's TLS follows the one client policy (platform/tls.py), also in FFmpeg.

A real RTSPS camera on loopback: GStreamer's RTSP server behind a TLS front made with Python's
``ssl`` (OpenSSL), which offers exactly one protocol version and suite set per case and records
what each handshake negotiated. The capture reads through FFmpeg's own TLS (GnuTLS in the PyAV
wheel). A camera offering only TLS 1.0, 1.1, CBC-SHA1, RSA key exchange or a suite outside the
policy is refused during the handshake (nothing negotiated, no frame); one offering a policy
suite on TLS 1.2 or TLS 1.3 delivers video.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.extras.certs import self_signed
from vigilcam.media.capture import SourceError, make_reader
from vigilcam.media.source_spec import UpstreamTls, parse_source

from .test_capture import free_port, start_rtsp_upstream, stop_proc

pytestmark = [pytest.mark.timeout(90), pytest.mark.peer]

V = ssl.TLSVersion


class TlsFront:
    """A TLS listener that relays to a plain RTSP server; records every handshake's outcome."""

    def __init__(self, ctx: ssl.SSLContext, upstream_port: int) -> None:
        self.ctx = ctx
        self.upstream_port = upstream_port
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = int(self.sock.getsockname()[1])
        self.handshakes: list[tuple[str, str]] = []
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._conns: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                raw, _ = self.sock.accept()
            except TimeoutError:
                continue
            raw.settimeout(10)
            try:
                tls = self.ctx.wrap_socket(raw, server_side=True)
            except (ssl.SSLError, OSError) as exc:
                self.failures.append(str(exc))
                raw.close()
                continue
            cipher = tls.cipher()
            self.handshakes.append((str(tls.version()), cipher[0] if cipher else ""))
            up = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=10)
            self._conns += [tls, up]
            for src, dst in ((tls, up), (up, tls)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while not self._stop.is_set():
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()
        for s in self._conns:
            with contextlib.suppress(OSError):
                s.close()


def server_context(cert: tuple[Path, Path], versions: tuple[V, V], ciphers: str
                   ) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version, ctx.maximum_version = versions
    ctx.set_ciphers(ciphers)
    ctx.load_cert_chain(*map(str, cert))
    return ctx


@dataclass
class Camera:
    rtsp_port: int
    certs: dict[str, tuple[Path, Path]]


@pytest.fixture(scope="module")
def camera(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Camera]:
    """One plain RTSP camera (GStreamer) for every TLS front of this module."""
    tmp = tmp_path_factory.mktemp("upstream-tls")
    port = free_port()
    proc = start_rtsp_upstream(port)
    try:
        yield Camera(port, {"ec": self_signed(tmp, "ec-camera"),
                            "rsa": self_signed(tmp, "rsa-camera", rsa_key=True)})
    finally:
        stop_proc(proc)


def first_frames(port: int, cafile: Path) -> int:
    # The camera prepares its encoder when asked to DESCRIBE: on a loaded machine that takes
    # seconds, so the wait is the product's own (5 s), not a tighter one.  A refused handshake
    # fails at once whatever the wait.
    reader = make_reader(parse_source(f"rtsps://127.0.0.1:{port}/cam"), width=320, height=240,
                         fps=15, passthrough=True, credentials=None,
                         timeline_origin=time.monotonic(), rtsp_timeout=5.0,
                         upstream_tls=UpstreamTls(ca_file=str(cafile)))
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            frames = reader.read()
            if frames:
                return len(frames)
        return 0
    finally:
        reader.close()


# case -> certificate, versions offered, suites offered, why the handshake must fail
WEAK = {
    "TLS 1.0 only": ("ec", (V.TLSv1, V.TLSv1), "ALL:@SECLEVEL=0", "UNSUPPORTED_PROTOCOL"),
    "TLS 1.1 only": ("ec", (V.TLSv1_1, V.TLSv1_1), "ALL:@SECLEVEL=0", "UNSUPPORTED_PROTOCOL"),
    "TLS 1.2 CBC-SHA1": ("ec", (V.TLSv1_2, V.TLSv1_2), "ECDHE-ECDSA-AES128-SHA:@SECLEVEL=0",
                         "NO_SHARED_CIPHER"),
    "TLS 1.2 RSA key exchange": ("rsa", (V.TLSv1_2, V.TLSv1_2), "AES128-GCM-SHA256",
                                 "NO_SHARED_CIPHER"),
    "TLS 1.2 outside the suite list": ("ec", (V.TLSv1_2, V.TLSv1_2),
                                       "ECDHE-ECDSA-CHACHA20-POLY1305", "NO_SHARED_CIPHER"),
}


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # ssl.TLSVersion.TLSv1, on purpose
@pytest.mark.parametrize("case", sorted(WEAK))
def test_a_camera_below_the_policy_is_refused(camera: Camera, case: str) -> None:
    kind, versions, ciphers, reason = WEAK[case]
    cert = camera.certs[kind]
    front = TlsFront(server_context(cert, versions, ciphers), camera.rtsp_port)
    try:
        with pytest.raises(SourceError, match="cannot open rtsp source"):
            first_frames(front.port, cert[0])
        deadline = time.monotonic() + 3
        while not front.failures and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        front.close()
    assert front.handshakes == [], f"{case}: FFmpeg negotiated {front.handshakes}"
    assert front.failures, f"{case}: no handshake was attempted"
    assert all(reason in failure for failure in front.failures), front.failures


@pytest.mark.parametrize("case", ["TLS 1.2 ECDHE-ECDSA-AES256-GCM", "TLS 1.3"])
def test_a_camera_within_the_policy_delivers_video(camera: Camera, case: str) -> None:
    versions = (V.TLSv1_3, V.TLSv1_3) if case == "TLS 1.3" else (V.TLSv1_2, V.TLSv1_2)
    ctx = server_context(camera.certs["ec"], versions, "ECDHE-ECDSA-AES256-GCM-SHA384")
    front = TlsFront(ctx, camera.rtsp_port)
    try:
        assert first_frames(front.port, camera.certs["ec"][0]) > 0
    finally:
        front.close()
    assert front.handshakes and all(
        v == ("TLSv1.3" if case == "TLS 1.3" else "TLSv1.2") for v, _ in front.handshakes)
    if case != "TLS 1.3":
        assert {c for _, c in front.handshakes} == {"ECDHE-ECDSA-AES256-GCM-SHA384"}
