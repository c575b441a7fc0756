"""The HTTP request-head deadline (slowloris): uvicorn's h11 protocol with one more timer.

Owns how long an HTTP(S) connection may take to send a request head. Serves IoT-1005-1
5.6.1.1 (a few clients that never finish their requests cannot keep the owner out) and
5.5.2.1 (bounded time spent on untrusted input).

uvicorn enforces only ``timeout_keep_alive`` (idle between requests, cancelled by any byte) and
the head size (``h11_max_incomplete_event_size``, 16 KiB); it has no deadline for a head that
arrives slowly or never. This protocol keeps one invariant: whenever the server waits for a
request head (h11's ``their_state`` is IDLE), either uvicorn's keep-alive timer runs (nothing
received since the last response) or the head timer runs (a new connection, or any byte since
the last response, bare CRLFs included). Bytes never re-arm the head timer, so a head must be
complete within ``head_timeout`` of the connection being ready (TLS done) or of its first byte.
When the timer fires the connection is aborted: nothing is sent to a client that sent nothing
usable. The body is bounded by ``max_body_bytes`` in the app and the per-source budget.
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["HeadDeadlineProtocol"]


class HeadDeadlineProtocol(H11Protocol):
    def __init__(self, *args: Any, head_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.head_timeout = head_timeout
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()  # the first head: counted from the moment the connection is ready

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._follow()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._follow()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _follow(self) -> None:
        if self.transport.is_closing():
            self._disarm()
        elif self.conn.their_state is h11.IDLE:
            if self.timeout_keep_alive_task is None or self.conn.trailing_data[0]:
                self._arm()
        else:
            self._disarm()  # a head arrived: the app, body limits and keep-alive take over

    def _arm(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.head_timeout, self._head_overdue)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_overdue(self) -> None:
        self._head_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.abort()
