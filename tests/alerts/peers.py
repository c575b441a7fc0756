"""Real loopback peers for the alert tests: a test CA, an HTTPS webhook receiver that checks the
signature and refuses replays, an aiosmtpd SMTP server (STARTTLS required, or implicit TLS,
with AUTH), and a Mosquitto broker over TLS with a password file."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import json
import os
import secrets
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support import free_port
from vigilcam.alerts.signature import HEADER, SignatureError, verify
from vigilcam.platform.tls import server_context


@dataclass
class TestCA:
    ca_pem: str
    cert_file: Path
    key_file: Path
    ca_file: Path

    def server_ctx(self) -> ssl.SSLContext:
        return server_context(self.cert_file, self.key_file)


def make_ca(folder: Path) -> TestCA:
    folder.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "vigilcam test CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                       critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_pem = ca.public_bytes(serialization.Encoding.PEM).decode()
    (folder / "ca.pem").write_text(ca_pem)
    (folder / "server.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "server.key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    (folder / "server.key").chmod(0o644)  # mosquitto may drop privileges
    return TestCA(ca_pem, folder / "server.pem", folder / "server.key", folder / "ca.pem")


# -- HTTPS webhook / ntfy receiver ------------------------------------------------------------
@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    at: float
    path: str

    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    """A tiny HTTPS server. With ``key`` set it checks X-Vigilcam-Signature and refuses a
    stale timestamp or an alert ID it has seen (replay) with 401/409."""

    ca: TestCA
    port: int = 0
    key: bytes | None = None
    fail_with: int | None = None  # answer this status instead (channel "down")
    received: list[Received] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    seen_ids: set[str] = field(default_factory=set)
    _server: asyncio.base_events.Server | None = None
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self) -> WebhookReceiver:
        self.port = self.port or free_port()
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port,
                                                  ssl=self.ca.server_ctx())
        return self

    async def stop(self) -> None:
        if self._server:
            self._server.close()
            await self._server.wait_closed()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}/hook"

    async def wait_for(self, count: int, timeout: float = 20.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            self.arrived.clear()
            try:
                await asyncio.wait_for(self.arrived.wait(), max(0.01, deadline - time.monotonic()))
            except TimeoutError:
                break
        return self.received

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                _method, path, _ = line.decode().split(" ", 2)
                headers: dict[str, str] = {}
                while True:
                    h = await reader.readline()
                    if h in (b"\r\n", b"\n", b""):
                        break
                    name, _, value = h.decode().partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                status = self._judge(headers, body, path)
                writer.write(f"HTTP/1.1 {status} X\r\nContent-Length: 0\r\n\r\n".encode())
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError, ValueError,
                asyncio.CancelledError):
            pass
        finally:
            writer.close()

    def _judge(self, headers: dict[str, str], body: bytes, path: str) -> int:
        if self.fail_with:
            return self.fail_with
        if self.key is not None:
            try:
                verify(self.key, headers.get(HEADER.lower()), body, time.time())
            except SignatureError as exc:
                self.rejected.append(str(exc))
                return 401
            alert_id = json.loads(body)["alert_id"]
            if alert_id in self.seen_ids:
                self.rejected.append("replayed alert id")
                return 409
            self.seen_ids.add(alert_id)
        self.received.append(Received(headers, body, time.time(), path))
        self.arrived.set()
        return 200


class ThreadedReceiver:
    """A WebhookReceiver on its own loop in a thread, for sync callers (the TestClient)."""

    def __init__(self, ca: TestCA) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.rx = asyncio.run_coroutine_threadsafe(self._make(ca), self.loop).result(10)

    async def _make(self, ca: TestCA) -> WebhookReceiver:
        return await WebhookReceiver(ca).start()

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.rx.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


# -- SMTP ---------------------------------------------------------------------------------------
class SmtpPeer:
    """aiosmtpd on loopback with AUTH; STARTTLS required, or implicit TLS."""

    def __init__(self, ca: TestCA, *, implicit: bool, user: str, password: str) -> None:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        self.messages: list[tuple[str, list[str], bytes]] = []
        self.event = threading.Event()
        self.port = free_port()
        peer = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802
                peer.messages.append((envelope.mail_from, list(envelope.rcpt_tos),
                                      envelope.original_content or envelope.content))
                peer.event.set()
                return "250 OK"

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (auth_data.login == user.encode() and auth_data.password == password.encode())
            return AuthResult(success=ok)

        ctx = ca.server_ctx()
        kwargs: dict = dict(hostname="127.0.0.1", port=self.port, authenticator=authenticator,
                            auth_required=True, server_hostname="localhost")
        if implicit:
            kwargs.update(ssl_context=ctx, auth_require_tls=False)
        else:
            kwargs.update(tls_context=ctx, require_starttls=True)
        self.controller = Controller(Handler(), **kwargs)

    def start(self) -> SmtpPeer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()


# -- Mosquitto ------------------------------------------------------------------------------------
class MosquittoPeer:
    def __init__(self, ca: TestCA, folder: Path, user: str, password: str) -> None:
        self.port = free_port()
        self.folder = folder
        pw_file = folder / "passwd"
        subprocess.run(["mosquitto_passwd", "-b", "-c", str(pw_file), user, password],
                       check=True, capture_output=True)
        pw_file.chmod(0o644)
        conf = folder / "mosquitto.conf"
        conf.write_text(
            f"listener {self.port} 127.0.0.1\n"
            f"cafile {ca.ca_file}\ncertfile {ca.cert_file}\nkeyfile {ca.key_file}\n"
            "tls_version tlsv1.2\n"
            "allow_anonymous false\n"
            f"password_file {pw_file}\n"
            "persistence false\n"
            + ("user root\n" if os.geteuid() == 0 else "")
        )
        self.conf = conf
        self.proc: subprocess.Popen | None = None

    def start(self) -> MosquittoPeer:
        import socket

        self.log = open(self.folder / "mosquitto.log", "wb")
        self.proc = subprocess.Popen(["/usr/sbin/mosquitto", "-c", str(self.conf)],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError((self.folder / "mosquitto.log").read_text())
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.log.close()


def random_password() -> str:
    return secrets.token_urlsafe(18)
