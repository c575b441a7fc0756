"""HTTP request deadlines (slowloris, slow bodies): uvicorn's h11 protocol with one more timer.

Owns how long an HTTP(S) connection may take to send a request head, and then its body. Serves
IoT-1005-1 5.6.1.1 (a few clients that never finish their requests cannot keep the owner out)
and 5.5.2.1 (bounded time spent on untrusted input).

uvicorn enforces only ``timeout_keep_alive`` (idle between requests, cancelled by any byte) and
the head size (``h11_max_incomplete_event_size``, 16 KiB); it has no deadline for a head or a
body that arrives slowly or never. This protocol keeps two invariants:

- Whenever the server waits for a request head (h11's ``their_state`` is IDLE), either
  uvicorn's keep-alive timer runs (nothing received since the last response) or the head timer
  runs (a new connection, or any byte since the last response, bare CRLFs included). Bytes
  never re-arm it, so a head must be complete within ``head_timeout`` of the connection being
  ready (TLS done) or of its first byte.
- While the body is due (``SEND_BODY``), the body timer runs from the end of the head: the body
  must be complete within ``body_timeout``; bodies are small (``max_body_bytes``), so this only
  cuts a client that trickles. It does not fire while uvicorn itself paused reading (the app
  has not taken the data yet): then it looks again one ``body_timeout`` later.

When a timer fires the connection is aborted: nothing is sent to a client that sent nothing
usable in time.
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["HeadDeadlineProtocol"]


class HeadDeadlineProtocol(H11Protocol):
    def __init__(self, *args: Any, head_timeout: float, body_timeout: float = 30.0,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.head_timeout = head_timeout
        self.body_timeout = body_timeout
        self._timer: asyncio.TimerHandle | None = None
        self._waiting_for: type[h11.IDLE] | type[h11.SEND_BODY] | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(h11.IDLE)  # the first head: counted from the moment the connection is ready

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
        state = self.conn.their_state
        if self.transport.is_closing():
            self._disarm()
        elif state is h11.IDLE:
            if self.timeout_keep_alive_task is None or self.conn.trailing_data[0]:
                self._arm(h11.IDLE)
            elif self._waiting_for is not h11.IDLE:
                self._disarm()
        elif state is h11.SEND_BODY:
            self._arm(h11.SEND_BODY)
        else:
            self._disarm()  # the request is in: the app and keep-alive take over

    def _arm(self, state: type[h11.IDLE] | type[h11.SEND_BODY]) -> None:
        if self._waiting_for is state and self._timer is not None:
            return  # bytes never re-arm a running deadline
        self._disarm()
        self._waiting_for = state
        delay = self.head_timeout if state is h11.IDLE else self.body_timeout
        self._timer = self.loop.call_later(delay, self._overdue)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None
        self._waiting_for = None

    def _overdue(self) -> None:
        state, self._timer = self._waiting_for, None
        if self.transport.is_closing() or self.conn.their_state is not state:
            self._waiting_for = None
            return
        if state is h11.SEND_BODY and self.flow.read_paused:
            self._timer = self.loop.call_later(self.body_timeout, self._overdue)
            return  # our side stopped reading: not the client's delay
        self.transport.abort()
