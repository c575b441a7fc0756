"""Helpers for the RTSPS tests and benchmarks: a live H.264 source feeding StreamHubs."""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
import ssl
import threading
import time
from dataclasses import dataclass, field

from vigilcam.media.encoder import H264Encoder
from vigilcam.media.hub import StreamHub
from vigilcam.media.testsrc import TestPattern
from vigilcam.media.types import PTS_CLOCK
from vigilcam.platform.tls import client_context


class Feeder:
    """Encodes the moving test pattern in a thread and publishes it to a hub (real time)."""

    def __init__(self, hub: StreamHub, width: int, height: int, fps: float) -> None:
        self.hub = hub
        self.width, self.height, self.fps = width, height, fps
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"feeder-{hub.name}", daemon=True)
        self.frames = 0

    def start(self) -> Feeder:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        enc = H264Encoder(self.hub.name, self.width, self.height, self.fps, threads=1)
        pattern = TestPattern(self.width, self.height)
        period = 1.0 / self.fps
        start = time.monotonic()
        try:
            while not self._stop.is_set():
                now = time.time()
                frame = pattern.render(self.frames, now)
                pts = int(self.frames * PTS_CLOCK / self.fps)
                for pkt in enc.encode(frame, pts, now):
                    if enc.info is not None and self.hub.info is None:
                        self.hub.set_info(enc.info)
                    self.hub.publish(pkt)
                self.frames += 1
                delay = start + self.frames * period - time.monotonic()
                if delay > 0:
                    self._stop.wait(delay)
        finally:
            enc.close()


def start_feeders(specs: dict[str, tuple[int, int, float]]) -> tuple[dict[str, StreamHub], list[Feeder]]:
    hubs = {name: StreamHub(name) for name in specs}
    feeders = [Feeder(hubs[n], w, h, f).start() for n, (w, h, f) in specs.items()]
    return hubs, feeders


# -- a small RTSP client for the tests (real TLS, real sockets) -------------------------------


@dataclass
class Response:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes = b""

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def all(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]


def digest_header(challenge: str, user: str, secret: str, method: str, uri: str,
                  nc: int = 1, cnonce: str | None = None, algorithm: str | None = None) -> str:
    params = dict(re.findall(r'(\w+)="?([^",]*)"?', challenge.partition(" ")[2]))
    alg = algorithm or params.get("algorithm", "MD5")
    fn = hashlib.sha256 if alg.upper().startswith("SHA-256") else hashlib.md5
    h = lambda s: fn(s.encode()).hexdigest()  # noqa: E731
    ha1 = h(f"{user}:{params['realm']}:{secret}")
    ha2 = h(f"{method}:{uri}")
    cnonce = cnonce or secrets.token_hex(8)
    ncs = f"{nc:08x}"
    resp = h(f"{ha1}:{params['nonce']}:{ncs}:{cnonce}:auth:{ha2}")
    return (f'Digest username="{user}", realm="{params["realm"]}", nonce="{params["nonce"]}", '
            f'uri="{uri}", algorithm={alg}, qop=auth, nc={ncs}, cnonce="{cnonce}", '
            f'response="{resp}"')


@dataclass
class RtspClient:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    cseq: int = 0
    interleaved: list[tuple[int, bytes]] = field(default_factory=list)

    @classmethod
    async def connect(cls, port: int, host: str = "127.0.0.1") -> RtspClient:
        ctx = client_context(verify=False)
        reader, writer = await asyncio.open_connection(host, port, ssl=ctx)
        return cls(reader, writer)

    async def send_raw(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def request(self, method: str, uri: str, headers: dict[str, str] | None = None,
                      timeout: float = 10) -> Response:
        self.cseq += 1
        lines = [f"{method} {uri} RTSP/1.0", f"CSeq: {self.cseq}"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        await self.send_raw(("\r\n".join(lines) + "\r\n\r\n").encode())
        return await self.read_response(timeout)

    async def read_response(self, timeout: float = 10) -> Response:
        return await asyncio.wait_for(self._read_response(), timeout)

    async def _read_response(self) -> Response:
        while True:
            first = await self.reader.readexactly(1)
            if first == b"$":
                hdr = await self.reader.readexactly(3)
                size = int.from_bytes(hdr[1:3], "big")
                self.interleaved.append((hdr[0], await self.reader.readexactly(size)))
                continue
            head = first + await self.reader.readuntil(b"\r\n\r\n")
            lines = head.decode().split("\r\n")
            _, status, reason = lines[0].split(" ", 2)
            headers = []
            for line in lines[1:]:
                if line:
                    k, _, v = line.partition(":")
                    headers.append((k.strip(), v.strip()))
            resp = Response(int(status), reason, headers)
            length = int(resp.header("Content-Length") or 0)
            if length:
                resp.body = await self.reader.readexactly(length)
            return resp

    async def read_frame(self, timeout: float = 10) -> tuple[int, bytes]:
        async def one() -> tuple[int, bytes]:
            first = await self.reader.readexactly(4)
            assert first[:1] == b"$", first
            return first[1], await self.reader.readexactly(int.from_bytes(first[2:4], "big"))
        return await asyncio.wait_for(one(), timeout)

    async def closed(self, timeout: float = 10) -> bool:
        """True when the server closed the connection (EOF / reset) within ``timeout``."""
        try:
            while True:
                data = await asyncio.wait_for(self.reader.read(65536), timeout)
                if not data:
                    return True
        except (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError):
            return True
        except TimeoutError:
            return False

    async def authed(self, method: str, uri: str, user: str, secret: str,
                     headers: dict[str, str] | None = None, nc: int = 1) -> Response:
        """Request, answer the 401 challenge with Digest (qop=auth), return the final reply."""
        r = await self.request(method, uri, headers)
        if r.status != 401:
            return r
        self.challenge = [v for v in r.all("WWW-Authenticate") if v.startswith("Digest")][0]
        auth = digest_header(self.challenge, user, secret, method, uri, nc=nc)
        return await self.request(method, uri, {**(headers or {}), "Authorization": auth})

    def close(self) -> None:
        self.writer.transport.abort()
