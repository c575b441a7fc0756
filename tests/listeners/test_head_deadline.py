"""The HTTP request deadlines on uvicorn (plain listener, real sockets): a head must be
complete within the deadline of the connection being ready or of its first byte; bare CRLFs
do not keep a connection alive; a body that trickles is cut; an idle keep-alive connection is
uvicorn's (5.6.1.1)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from tests.support import free_port
from vigilcam.platform.config import ListenerSettings
from vigilcam.web.server import GuardedServer, _uvicorn_config

HEAD = 0.5
BODY = 0.8
REQUEST = b"GET / HTTP/1.1\r\nHost: camera\r\n\r\n"


@pytest.fixture
async def port() -> AsyncIterator[int]:
    async def hello(_request):  # type: ignore[no-untyped-def]
        return PlainTextResponse("ok")

    async def echo(request):  # type: ignore[no-untyped-def]
        return PlainTextResponse(str(len(await request.body())))

    app = Starlette(routes=[Route("/", hello), Route("/echo", echo, methods=["POST"])])
    limits = ListenerSettings(head_timeout_s=HEAD, body_timeout_s=BODY, keep_alive_s=5)
    config = _uvicorn_config(app, "127.0.0.1", free_port(), limits)
    config.load()
    server = GuardedServer(config, limits, 64)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    yield config.port
    server.should_exit = True
    with contextlib.suppress(Exception):
        await asyncio.wait_for(task, 5)


async def _closed_after(reader: asyncio.StreamReader, limit: float = 5.0) -> float:
    t0 = time.monotonic()
    with contextlib.suppress(ConnectionError):
        while await asyncio.wait_for(reader.read(4096), limit):
            pass
    return time.monotonic() - t0


async def _one_response(reader: asyncio.StreamReader) -> bytes:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 3)
    assert head.startswith(b"HTTP/1.1 200")
    return await asyncio.wait_for(reader.readexactly(2), 3)


async def test_partial_first_head_is_cut(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET / HTTP/1.1\r\nHost: ca")
    t0 = time.monotonic()
    for _ in range(5):  # trickling bytes do not re-arm the deadline
        await asyncio.sleep(0.1)
        with contextlib.suppress(ConnectionError):
            writer.write(b"m")
    await _closed_after(reader)
    assert HEAD - 0.1 < time.monotonic() - t0 < HEAD + 1
    writer.close()


async def test_partial_second_head_and_bare_crlfs_are_cut(port: int) -> None:
    for trickle in (b"GET / HT", b"\r\n"):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(REQUEST)
        assert await _one_response(reader) == b"ok"
        t0 = time.monotonic()
        for _ in range(8):
            with contextlib.suppress(ConnectionError):
                writer.write(trickle if trickle == b"\r\n" else b"T")
            await asyncio.sleep(0.1)
            if reader.at_eof():
                break
        await _closed_after(reader)
        assert time.monotonic() - t0 < HEAD + 1, trickle
        writer.close()


async def test_idle_keep_alive_is_left_to_uvicorn(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(REQUEST)
    assert await _one_response(reader) == b"ok"
    await asyncio.sleep(HEAD * 3)
    writer.write(REQUEST)  # still open: the head deadline runs only while a head is due
    assert await _one_response(reader) == b"ok"
    writer.close()


async def test_trickling_body_is_cut_and_a_prompt_one_is_served(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"POST /echo HTTP/1.1\r\nHost: camera\r\nContent-Length: 100\r\n\r\n")
    t0 = time.monotonic()
    for _ in range(30):  # one byte every 0.1 s: would take 10 s
        with contextlib.suppress(ConnectionError):
            writer.write(b"x")
        await asyncio.sleep(0.1)
        if reader.at_eof():
            break
    await _closed_after(reader)
    assert BODY - 0.1 < time.monotonic() - t0 < BODY + 2.5  # cut by the deadline, not at 10 s
    writer.close()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"POST /echo HTTP/1.1\r\nHost: camera\r\nContent-Length: 4\r\n\r\nabcd")
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 3)
    assert head.startswith(b"HTTP/1.1 200")
    assert await asyncio.wait_for(reader.readexactly(1), 3) == b"4"
    writer.close()
