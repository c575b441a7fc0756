"""The shared accept path on real sockets: budget before TLS, handshake deadline, the ticket
given back however the connection ends (IoT-1005-1 5.6.1.1)."""

from __future__ import annotations

import asyncio
import ssl
import time

from vigilcam.listeners.budget import ConnectionBudget
from vigilcam.listeners.guarded import GuardedListener, bind_listening_socket
from vigilcam.platform.tls import client_context, server_context


class Echo(asyncio.Protocol):
    """Echoes; on b"swap" hands the transport to a new protocol, as uvicorn does for WSS."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if data == b"swap":
            nxt = Echo()
            nxt.connection_made(self.transport)
            self.transport.set_protocol(nxt)
            self.transport.write(b"swapped")
        else:
            self.transport.write(data)


async def _listener(budget: ConnectionBudget, tls: ssl.SSLContext | None,
                    handshake: float = 0.5) -> tuple[GuardedListener, int]:
    listener = GuardedListener(bind_listening_socket("127.0.0.1", 0, 64), Echo, budget,
                               ssl_context=tls, handshake_timeout=handshake)
    await listener.start()
    return listener, int(listener.sockets[0].getsockname()[1])


async def _eventually(predicate, timeout: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


async def test_over_budget_is_reset_before_tls_and_others_still_served(device) -> None:
    tls = server_context(device.tls.cert_file, device.tls.key_file, device.tls.key_password)
    budget = ConnectionBudget(per_source=2, max_total=8)
    listener, port = await _listener(budget, tls, handshake=5)
    try:
        ctx = client_context(verify=False)
        held = [await asyncio.open_connection("127.0.0.1", port, ssl=ctx,
                                              local_addr=("127.0.0.2", 0)) for _ in range(2)]
        t0 = time.monotonic()
        refused = 0
        for _ in range(5):
            try:
                await asyncio.open_connection("127.0.0.1", port, ssl=ctx,
                                              local_addr=("127.0.0.2", 0))
            except (OSError, ssl.SSLError):
                refused += 1
        assert refused == 5 and time.monotonic() - t0 < 2
        assert budget.refused["source"] == 5 and budget.total == 2
        r, w = await asyncio.open_connection("127.0.0.1", port, ssl=ctx,
                                             local_addr=("127.0.0.3", 0))
        w.write(b"hi")
        assert await asyncio.wait_for(r.read(2), 3) == b"hi"
        # Swapping the protocol on the transport (WebSocket upgrade) still gives it back.
        w.write(b"swap")
        assert await asyncio.wait_for(r.readexactly(7), 3) == b"swapped"
        w.close()
        for _, hw in held:
            hw.close()
        assert await _eventually(lambda: budget.total == 0), budget.total
    finally:
        listener.close()
        await listener.wait_closed()


async def test_silent_tls_handshake_is_cut_and_its_place_given_back(device) -> None:
    tls = server_context(device.tls.cert_file, device.tls.key_file, device.tls.key_password)
    budget = ConnectionBudget(per_source=2, max_total=8)
    listener, port = await _listener(budget, tls, handshake=0.5)
    try:
        t0 = time.monotonic()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)  # never says hello
        assert await _eventually(lambda: budget.total == 1)
        try:
            assert await asyncio.wait_for(reader.read(), 5) == b""
        except ConnectionResetError:
            pass
        assert 0.4 < time.monotonic() - t0 < 2.5
        assert await _eventually(lambda: budget.total == 0)
        writer.close()
    finally:
        listener.close()
        await listener.wait_closed()


async def test_ipv6_listener_counts_the_source_by_its_64() -> None:
    budget = ConnectionBudget(per_source=1, max_total=4)
    listener = GuardedListener(bind_listening_socket("::1", 0, 16), Echo, budget,
                               ssl_context=None, handshake_timeout=1)
    await listener.start()
    port = int(listener.sockets[0].getsockname()[1])
    try:
        r, w = await asyncio.open_connection("::1", port)
        w.write(b"one")
        assert await asyncio.wait_for(r.readexactly(3), 3) == b"one"
        assert budget.open_from("::1") == 1
        r2, w2 = await asyncio.open_connection("::1", port)  # same /64: reset at once
        try:
            assert await asyncio.wait_for(r2.read(), 3) == b""
        except ConnectionResetError:
            pass
        assert budget.refused["source"] == 1
        w.close()
        w2.close()
        assert await _eventually(lambda: budget.total == 0)
    finally:
        listener.close()
        await listener.wait_closed()
