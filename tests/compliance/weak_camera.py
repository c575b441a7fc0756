"""A deliberately insecure camera on loopback, for the remote audit tests.

Everything here is wrong on purpose, each weakness mapped to the clause the audit must fail:
HTTPS that accepts TLS 1.0 and CBC suites without forward secrecy and prefers AES-128-CBC
(ECDHE-RSA-AES128-SHA256, what a default client gets)
(IoT-1005-1 5.4.2.1, TAICS 5.3.1.2 / 5.5.2.3); the same web app on plaintext HTTP with a login
endpoint (5.4.2.1, 5.4.2.2, 5.2.2.1); admin/admin accepted (5.1.3.1); no throttling (5.1.2.2);
no security headers, a Server header with a version (TAICS 5.2.6.1 / 5.2.7.1); no security.txt
(5.2.3.1); plaintext RTSP answering DESCRIBE with an SDP without authentication (5.1.2.1,
5.2.2.1, 5.4.2.1, TAICS 5.5.2.3). It runs no telnet, so 5.5.1.1 / TAICS 5.1.1.1 pass.

OpenSSL 3.0 on Debian 12 still negotiates TLS 1.0 with ``@SECLEVEL=0`` (checked by
``test_weak_camera_really_speaks_tls10``).
"""

from __future__ import annotations

import datetime as dt
import json
import socketserver
import ssl
import threading
import time
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

SDP = (b"v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=Weak Camera\r\nt=0 0\r\n"
       b"m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=control:track1\r\n")
PAGE = b"<html><body><h1>WeakCam 2000</h1><form>user <input> pass <input></form></body></html>"


def make_cert(folder: Path) -> tuple[Path, Path]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "WeakCam 2000")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "weak-cert.pem", folder / "weak-key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.TraditionalOpenSSL,
                                           serialization.NoEncryption()))
    return cert_file, key_file


def weak_tls(cert_file: Path, key_file: Path) -> ssl.SSLContext:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers("ECDHE-RSA-AES128-SHA256:AES128-SHA:AES256-SHA:ALL:@SECLEVEL=0")
    ctx.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    ctx.load_cert_chain(str(cert_file), str(key_file))
    return ctx


ONVIF_ANSWER = (b'<?xml version="1.0"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-'
                b'envelope" xmlns:tds="http://www.onvif.org/ver10/device/wsdl"><s:Body>'
                b"<tds:OPResponse/></s:Body></s:Envelope>")


class WeakHandler(BaseHTTPRequestHandler):
    server_version = "WeakCamHTTP/1.0"
    timeout = 5
    sessions: set[str] = set()
    logins = 0

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def _send(self, status: int, body: bytes, ctype: str = "application/json",
              extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path == "/":
            self._send(200, PAGE, "text/html")
        elif self.path.startswith("/api/"):
            cookie = self.headers.get("Cookie", "")
            if cookie.removeprefix("sid=") in type(self).sessions:
                self._send(200, b'[{"username":"admin"}]')
            else:
                self._send(401, b'{"error":"login first"}')
        else:
            self._send(404, b'{"error":"not found"}')

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(min(length, 65536))
        if self.path == "/onvif/device_service":  # ONVIF as many cameras serve it: no auth
            op = "GetUsers" if b"GetUsers" in raw else "GetDeviceInformation"
            self._send(200, ONVIF_ANSWER.replace(b"OP", op.encode()),
                       "application/soap+xml; charset=utf-8")
            return
        if self.path != "/api/v1/session":
            self._send(404, b'{"error":"not found"}')
            return
        type(self).logins += 1
        try:
            body = json.loads(raw)
        except ValueError:
            self._send(400, b'{"error":"bad json"}')
            return
        if body.get("username") == "admin" and body.get("password") == "admin":
            sid = f"s{len(type(self).sessions)}"
            type(self).sessions.add(sid)
            self._send(200, b'{"ok":true}', extra={"Set-Cookie": f"sid={sid}"})
        else:
            self._send(401, b'{"error":"wrong password"}')  # no throttling, ever


class RacyThrottleHandler(WeakHandler):
    """Throttles guesses in a row, but asks the throttle before a slow password check and
    counts the failure after it: guesses sent at once all get checked."""

    failures: dict[str, int] = {}
    lock = threading.Lock()
    checked = 0

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(min(length, 65536))
        if self.path != "/api/v1/session":
            self._send(404, b'{"error":"not found"}')
            return
        try:
            user = str(json.loads(raw).get("username"))
        except (ValueError, AttributeError):
            self._send(400, b'{"error":"bad json"}')
            return
        cls = type(self)
        with cls.lock:
            refused = cls.failures.get(user, 0) >= 3
        if refused:
            self._send(429, b'{"error":"slow down"}', extra={"Retry-After": "30"})
            return
        time.sleep(0.3)  # the password hash
        with cls.lock:
            cls.checked += 1
            cls.failures[user] = cls.failures.get(user, 0) + 1
        self._send(401, b'{"error":"wrong password"}')


class _QuietHttp(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # sslyze's probes break handshakes on purpose


class RtspHandler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        self.request.settimeout(5)
        try:
            while True:
                lines = []
                while True:
                    line = self.rfile.readline(4096)
                    if not line:
                        return
                    if line in (b"\r\n", b"\n"):
                        break
                    lines.append(line.decode("latin-1").strip())
                if not lines:
                    continue
                method = lines[0].split(" ")[0]
                cseq = next((ln.split(":", 1)[1].strip() for ln in lines
                             if ln.lower().startswith("cseq:")), "0")
                if method == "DESCRIBE":  # the stream, to anyone, in clear
                    head = (f"RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\nContent-Type: application/sdp"
                            f"\r\nContent-Length: {len(SDP)}\r\n\r\n").encode()
                    self.wfile.write(head + SDP)
                else:
                    self.wfile.write(f"RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\nPublic: OPTIONS, "
                                     "DESCRIBE, SETUP, PLAY\r\n\r\n".encode())
        except OSError:
            return


class _QuietTcp(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass


class WeakCamera:
    """Three listeners on loopback, started and stopped explicitly by the test."""

    def __init__(self, folder: Path, handler: type[WeakHandler] = WeakHandler) -> None:
        cert, key = make_cert(folder)
        self.https = _QuietHttp(("127.0.0.1", 0), handler)
        self.https.socket = weak_tls(cert, key).wrap_socket(
            self.https.socket, server_side=True, do_handshake_on_connect=False)
        self.http = _QuietHttp(("127.0.0.1", 0), WeakHandler)
        self.rtsp = _QuietTcp(("127.0.0.1", 0), RtspHandler)
        self._threads: list[threading.Thread] = []

    @property
    def https_port(self) -> int:
        return int(self.https.server_address[1])

    @property
    def http_port(self) -> int:
        return int(self.http.server_address[1])

    @property
    def rtsp_port(self) -> int:
        return int(self.rtsp.server_address[1])

    def start(self) -> WeakCamera:
        for server in (self.https, self.http, self.rtsp):
            t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                                 daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def stop(self) -> None:
        for server in (self.https, self.http, self.rtsp):
            server.shutdown()
            server.server_close()
        for t in self._threads:
            t.join(timeout=5)
