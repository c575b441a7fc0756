"""Helpers for attack tests: many sockets from chosen loopback addresses, bounded in time."""

from __future__ import annotations

import asyncio
import resource
import ssl
import time
from dataclasses import dataclass


def raise_fd_limit(wanted: int) -> int:
    """Raise this process's soft RLIMIT_NOFILE towards ``wanted`` (children inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def insecure_client_context() -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # the device's self-signed certificate; loopback only
    return ctx


_CLIENT_CONTEXT = insecure_client_context()


@dataclass
class Held:
    """A TLS connection the attacker holds open, and when the server ended it."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    opened: float
    source: str = ""
    closed: float | None = None
    watcher: asyncio.Task[None] | None = None

    def watch(self, timeout: float) -> None:
        """Note when the server ends this connection, from now on (for at most ``timeout``)."""
        self.watcher = asyncio.create_task(self.wait_closed_by_server(timeout))

    async def wait_closed_by_server(self, timeout: float) -> None:
        try:
            while await asyncio.wait_for(self.reader.read(4096), timeout):
                pass
        except TimeoutError:
            return
        except (OSError, ssl.SSLError, asyncio.IncompleteReadError):
            pass
        self.closed = time.monotonic()

    def abort(self) -> None:
        self.writer.transport.abort()


async def open_tls(port: int, source: str, first_bytes: bytes,
                   timeout: float = 10.0) -> Held | None:
    """A TLS connection from ``source`` that sent ``first_bytes``; None when refused."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(
            "127.0.0.1", port, ssl=_CLIENT_CONTEXT, local_addr=(source, 0),
            ssl_handshake_timeout=timeout), timeout)
    except (OSError, ssl.SSLError, TimeoutError):
        return None
    try:
        if first_bytes:
            writer.write(first_bytes)
            await asyncio.wait_for(writer.drain(), timeout)
    except (OSError, ssl.SSLError, TimeoutError):
        writer.transport.abort()
        return None
    return Held(reader, writer, time.monotonic(), source)


async def open_many(count: int, port: int, source: str, first_bytes: bytes,
                    parallel: int = 100, watch: float = 60.0) -> list[Held]:
    """Try ``count`` connections from ``source`` (``parallel`` at a time); return those held,
    each watched for the server's close from the moment it was opened."""
    gate = asyncio.Semaphore(parallel)

    async def one() -> Held | None:
        async with gate:
            held = await open_tls(port, source, first_bytes)
        if held is not None:
            held.watch(watch)
        return held

    results = await asyncio.gather(*(one() for _ in range(count)))
    return [h for h in results if h is not None]


def peak_open(held: list[Held]) -> int:
    """The most connections that were open at the same moment."""
    events = []
    for h in held:
        events.append((h.opened, 1))
        events.append((h.closed if h.closed is not None else float("inf"), -1))
    peak = now = 0
    for _, step in sorted(events):
        now += step
        peak = max(peak, now)
    return peak
