"""The accept path shared by every listener: budget first, then a bounded TLS handshake.

Owns accepting connections on a bound socket. Serves IoT-1005-1 5.6.1.1 (availability under
connection floods and slow clients) and 5.4.2.1 (TLS from ``platform.tls``, passed in).

Invariants:
- Each accepted socket is admitted by the listener's :class:`ConnectionBudget` before any TLS
  work: over budget, it is reset at once (SO_LINGER 0: no TIME_WAIT, no handshake, no fd kept).
- An admitted connection must finish its TLS handshake within ``handshake_timeout`` or it is
  aborted (asyncio's ``ssl_handshake_timeout``); after that the protocol from ``factory``
  owns it (that protocol sets the request-head / authentication deadlines).
- The budget ticket is given back exactly when the connection ends: a failed handshake, a
  close by either side, an abort, and also after the protocol on the transport was replaced
  (uvicorn swaps HTTP for WebSocket with ``transport.set_protocol``): the protocol sees a
  transport view whose ``set_protocol`` swaps the protocol behind the tracker, so the tracker
  always sees ``connection_lost``.
- The accept loop yields to the event loop every ``_ACCEPT_BATCH`` accepts, so a connect flood
  cannot starve the connections already open, and it survives EMFILE / ENFILE by pausing.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
import ssl
import struct
from collections.abc import Callable
from typing import Any

from .budget import ConnectionBudget, Ticket

__all__ = ["GuardedListener", "bind_listening_socket"]

log = logging.getLogger(__name__)

_ACCEPT_BATCH = 32
_OUT_OF_RESOURCES = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}
_LINGER_RESET = struct.pack("ii", 1, 0)


def bind_listening_socket(host: str, port: int, backlog: int) -> socket.socket:
    """A non-blocking listening TCP socket (IPv6 only when ``host`` is IPv6, as asyncio does)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.create_server((host, port), family=family, backlog=backlog)
    sock.setblocking(False)
    return sock


def _reset(conn: socket.socket) -> None:
    with contextlib.suppress(OSError):
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
    conn.close()


class _TransportView(asyncio.Transport):
    """The transport as the served protocol sees it: all calls go to the real one, except
    that replacing the protocol replaces it behind the tracker, not on the real transport."""

    def __init__(self, real: asyncio.Transport, tracker: _Tracked) -> None:
        super().__init__()
        self._real = real
        self._tracker = tracker

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._tracker.inner = protocol  # type: ignore[assignment]

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._tracker.inner

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._real.get_extra_info(name, default)

    def is_closing(self) -> bool:
        return self._real.is_closing()

    def close(self) -> None:
        self._real.close()

    def abort(self) -> None:
        self._real.abort()

    def is_reading(self) -> bool:
        return self._real.is_reading()

    def pause_reading(self) -> None:
        self._real.pause_reading()

    def resume_reading(self) -> None:
        self._real.resume_reading()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._real.set_write_buffer_limits(high, low)

    def get_write_buffer_size(self) -> int:
        return self._real.get_write_buffer_size()

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._real.get_write_buffer_limits()

    def write(self, data: Any) -> None:
        self._real.write(data)

    def writelines(self, list_of_data: Any) -> None:
        self._real.writelines(list_of_data)

    def write_eof(self) -> None:
        self._real.write_eof()

    def can_write_eof(self) -> bool:
        return self._real.can_write_eof()


class _Tracked(asyncio.Protocol):
    """Sits between the (TLS) transport and the served protocol; gives the ticket back."""

    def __init__(self, inner: asyncio.Protocol, ticket: Ticket) -> None:
        self.inner = inner
        self.ticket = ticket

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.inner.connection_made(_TransportView(transport, self))

    def data_received(self, data: bytes) -> None:
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received()

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        self.ticket.release()
        self.inner.connection_lost(exc)


class GuardedListener:
    """Accepts on ``sock``; admits per source; serves admitted ones with ``factory()``.

    Has the ``close()`` / ``wait_closed()`` / ``sockets`` of an ``asyncio.Server``, so uvicorn
    and the RTSPS server stop it the same way.
    """

    def __init__(self, sock: socket.socket, factory: Callable[[], asyncio.Protocol],
                 budget: ConnectionBudget, *, ssl_context: ssl.SSLContext | None,
                 handshake_timeout: float) -> None:
        self.sockets = [sock]
        self.factory = factory
        self.budget = budget
        self.ssl_context = ssl_context
        self.handshake_timeout = handshake_timeout
        self._accepting: asyncio.Task[None] | None = None
        self._handshakes: set[asyncio.Task[None]] = set()
        self._closed = False

    async def start(self) -> None:
        self._accepting = asyncio.create_task(self._accept_loop())

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._accepting is not None:
            self._accepting.cancel()
        for task in list(self._handshakes):
            task.cancel()
        for sock in self.sockets:
            sock.close()

    async def wait_closed(self) -> None:
        tasks = [t for t in (self._accepting, *self._handshakes) if t is not None]
        if tasks:
            await asyncio.wait(tasks, timeout=5)

    async def _accept_loop(self) -> None:
        loop = asyncio.get_running_loop()
        sock = self.sockets[0]
        accepted = 0
        while not self._closed:
            try:
                conn, addr = await loop.sock_accept(sock)
            except OSError as exc:
                if self._closed:
                    return
                if exc.errno in _OUT_OF_RESOURCES:  # the backlog keeps them; try again soon
                    log.warning("accept paused: %s", exc.strerror)
                    await asyncio.sleep(0.1)
                continue  # ECONNABORTED and the like: that peer is gone already
            ticket = self.budget.admit(str(addr[0]))
            if ticket is None:
                _reset(conn)
            else:
                conn.setblocking(False)
                task = loop.create_task(self._serve(conn, ticket))
                self._handshakes.add(task)
                task.add_done_callback(self._handshakes.discard)
            accepted += 1
            if accepted % _ACCEPT_BATCH == 0:
                await asyncio.sleep(0)  # sock_accept does not yield while the backlog is full

    async def _serve(self, conn: socket.socket, ticket: Ticket) -> None:
        loop = asyncio.get_running_loop()
        try:
            await loop.connect_accepted_socket(
                lambda: _Tracked(self.factory(), ticket), conn, ssl=self.ssl_context,
                ssl_handshake_timeout=self.handshake_timeout if self.ssl_context else None)
        except asyncio.CancelledError:
            ticket.release()
            _reset(conn)
            raise
        except (OSError, ssl.SSLError, TimeoutError, EOFError):
            ticket.release()  # handshake failed or timed out: asyncio closed the transport
            _reset(conn)
        except Exception:  # never let one connection end the listener: log, free, go on
            log.exception("connection setup failed")
            ticket.release()
            _reset(conn)
