"""Raw loopback clients for the attack tests and benchmarks: one TLS connection per attempt,
bound to a chosen source address (127.0.0.0/8 is all loopback), every wait bounded."""

from __future__ import annotations

import asyncio
import base64
import json
import ssl
import time


def insecure_tls() -> ssl.SSLContext:
    """The camera's self-signed certificate is not what these clients test."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


async def post_login(port: int, source: str, username: str, password: str,
                     ctx: ssl.SSLContext) -> int:
    """One login over its own TLS connection from ``source``; the status, 0 if cut off."""
    body = json.dumps({"username": username, "password": password}).encode()
    head = (f"POST /api/v1/session HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n").encode()
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(
            "127.0.0.1", port, ssl=ctx, local_addr=(source, 0)), 30)
    except (OSError, TimeoutError):
        return 0
    try:
        writer.write(head + body)
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), 60)
        parts = line.split()
        return int(parts[1]) if len(parts) >= 2 else 0
    except (OSError, TimeoutError, ValueError, ssl.SSLError):
        return 0
    finally:
        writer.close()


async def rtsps_bad_credential_flood(port: int, seconds: float, loops: int = 4) -> int:
    """Reconnect in ``loops`` loops for ``seconds``, each time a DESCRIBE with a wrong Basic
    credential; returns how many were answered 401 or 503."""
    ctx = insecure_tls()
    bad = base64.b64encode(b"admin:not-the-stream-credential").decode()
    request = (f"DESCRIBE rtsps://127.0.0.1:{port}/main RTSP/1.0\r\nCSeq: 1\r\n"
               f"Authorization: Basic {bad}\r\n\r\n").encode()
    answered = 0
    end = time.monotonic() + seconds

    async def loop() -> None:
        nonlocal answered
        while time.monotonic() < end:
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection("127.0.0.1", port, ssl=ctx), 5)
            except (OSError, TimeoutError):
                await asyncio.sleep(0.05)
                continue
            try:
                writer.write(request)
                await writer.drain()
                line = await asyncio.wait_for(reader.readline(), 5)
                if line.startswith((b"RTSP/1.0 401", b"RTSP/1.0 503")):
                    answered += 1
            except (OSError, TimeoutError, ssl.SSLError):
                pass
            finally:
                writer.close()

    await asyncio.gather(*(loop() for _ in range(loops)))
    return answered
