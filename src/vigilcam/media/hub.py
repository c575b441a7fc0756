"""Fan-out of one encoded stream to many asyncio consumers ("one encode, many viewers").

Owns the rule that a slow viewer never slows the others and never grows memory without bound
(IoT-1005-1 5.6.1.1: the camera keeps serving under load). Invariants:

- The producer (encoder thread) calls :meth:`StreamHub.publish` from any thread; delivery to
  subscribers happens on each subscriber's own event loop (``call_soon_threadsafe``), one hop
  per loop and packet, never per subscriber.
- Every subscription starts at a keyframe (IDR with SPS/PPS) and its queue is bounded by
  ``max_queue`` packets.
- When a subscriber's queue is full, its queued packets are discarded and it resumes at the
  next keyframe (``dropped`` counts what it missed). If it overflows again without having
  consumed anything since the last overflow, it is hopeless and closed
  (``close_reason == "slow"``).
"""

from __future__ import annotations

import asyncio
import collections
import threading
from collections.abc import Callable

from .types import EncodedPacket, StreamInfo

__all__ = ["StreamHub", "Subscription", "DEFAULT_MAX_QUEUE"]

DEFAULT_MAX_QUEUE = 90
"""Default queue bound in packets: about 3 s at 30 fps, 6 s at 15 fps."""

_GOP_CACHE_MAX_PACKETS = 600
_GOP_CACHE_MAX_BYTES = 16 * 1024 * 1024


class Subscription:
    """Async iterator of :class:`EncodedPacket` for one consumer of one stream."""

    def __init__(self, hub: StreamHub, loop: asyncio.AbstractEventLoop, max_queue: int) -> None:
        if max_queue < 2:
            raise ValueError("max_queue must be at least 2 packets")
        self._hub = hub
        self._loop = loop
        self.max_queue = max_queue
        self._queue: collections.deque[EncodedPacket] = collections.deque()
        self._waiter: asyncio.Future[None] | None = None
        self._need_keyframe = True
        self._consumed_since_overflow = True
        self._last_seq = 0
        self.dropped = 0
        """Packets this subscriber never received (overflow or waiting for a keyframe)."""
        self.delivered = 0
        self.overflows = 0
        self.closed = False
        self.close_reason: str | None = None
        """None while open; "closed" (by the consumer), "slow" (hopeless), "hub" (hub closed)."""

    @property
    def stream(self) -> str:
        return self._hub.name

    @property
    def info(self) -> StreamInfo | None:
        return self._hub.info

    @property
    def queued(self) -> int:
        return len(self._queue)

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> EncodedPacket:
        while True:
            if self._queue:
                self._consumed_since_overflow = True
                self.delivered += 1
                return self._queue.popleft()
            if self.closed:
                raise StopAsyncIteration
            self._waiter = self._loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None

    def get_nowait(self) -> EncodedPacket | None:
        """The next queued packet, or None when nothing is queued."""
        if not self._queue:
            return None
        self._consumed_since_overflow = True
        self.delivered += 1
        return self._queue.popleft()

    def close(self) -> None:
        """Stop receiving; pending packets are discarded. Safe to call more than once."""
        self._finish("closed")

    # -- called on this subscription's loop by the hub ---------------------------------------

    def _finish(self, reason: str) -> None:
        if self.closed:
            return
        self.closed = True
        self.close_reason = reason
        self._queue.clear()
        self._hub._forget(self)
        self._wake()

    def _wake(self) -> None:
        w = self._waiter
        if w is not None and not w.done():
            w.set_result(None)

    def _resync(self) -> None:
        """The stream was interrupted: wait for the next keyframe, keep what is queued."""
        self._need_keyframe = True

    def _offer(self, seq: int, pkt: EncodedPacket) -> None:
        # seq guards against a packet arriving twice (GOP backlog + an in-flight fan-out).
        if self.closed or seq <= self._last_seq:
            return
        self._last_seq = seq
        if self._need_keyframe:
            if not pkt.keyframe:
                self.dropped += 1
                return
            self._need_keyframe = False
        if len(self._queue) >= self.max_queue:
            self.overflows += 1
            if not self._consumed_since_overflow:
                self.dropped += len(self._queue) + 1
                self._finish("slow")
                return
            self._consumed_since_overflow = False
            self.dropped += len(self._queue)
            self._queue.clear()
            if not pkt.keyframe:
                self.dropped += 1
                self._need_keyframe = True
                return
        self._queue.append(pkt)
        self._wake()


class StreamHub:
    """One per stream ("main", "sub"): the single producer publishes, subscribers read."""

    def __init__(self, name: str, *, gop_cache: bool = True) -> None:
        self.name = name
        self.info: StreamInfo | None = None
        """Known after the first keyframe (set by the producer before publishing it)."""
        self.published = 0
        self.last_wallclock: float | None = None
        self._lock = threading.Lock()
        self._subs: dict[asyncio.AbstractEventLoop, list[Subscription]] = {}
        self._gop_enabled = gop_cache
        self._gop: list[tuple[int, EncodedPacket]] = []
        self._gop_bytes = 0
        self._closed = False
        self._info_listeners: list[Callable[[StreamInfo], None]] = []

    # -- consumer side (on an event loop) ---------------------------------------------------

    def subscribe(
        self, max_queue: int = DEFAULT_MAX_QUEUE, *, from_last_keyframe: bool = False
    ) -> Subscription:
        """Subscribe from the running event loop.

        The subscription starts at the next keyframe, or, with ``from_last_keyframe``, at the
        most recent one (the packets since then are queued at once: faster first frame, at the
        cost of starting up to one GOP behind live; consumers may skip to the live edge).
        """
        loop = asyncio.get_running_loop()
        sub = Subscription(self, loop, max_queue)
        with self._lock:
            if self._closed:
                sub.closed = True
                sub.close_reason = "hub"
                return sub
            self._subs.setdefault(loop, []).append(sub)
            backlog = list(self._gop) if from_last_keyframe else []
        if len(backlog) <= max_queue:
            for seq, pkt in backlog:
                sub._offer(seq, pkt)
        return sub

    @property
    def subscriber_count(self) -> int:
        with self._lock:
            return sum(len(v) for v in self._subs.values())

    # -- producer side (any thread) ---------------------------------------------------------

    def set_info(self, info: StreamInfo) -> None:
        """Record the stream description (call before publishing its keyframe)."""
        self.info = info

    def publish(self, pkt: EncodedPacket) -> None:
        """Hand one packet to every subscriber. Thread-safe and non-blocking."""
        with self._lock:
            if self._closed:
                return
            self.published += 1
            seq = self.published
            self.last_wallclock = pkt.wallclock
            if self._gop_enabled:
                self._remember(seq, pkt)
            loops = list(self._subs)
        for loop in loops:
            self._call(loop, self._fanout, loop, seq, pkt)

    def interrupt(self) -> None:
        """The stream is discontinuous (source lost, privacy): subscribers resume at a keyframe."""
        with self._lock:
            self._gop.clear()
            self._gop_bytes = 0
            loops = list(self._subs)
        for loop in loops:
            self._call(loop, self._resync_all, loop)

    def close(self) -> None:
        """End every subscription (queued packets are discarded); later publishes are ignored."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._gop.clear()
            loops = list(self._subs)
        for loop in loops:
            self._call(loop, self._close_all, loop)

    # -- internals ----------------------------------------------------------------------------

    def _remember(self, seq: int, pkt: EncodedPacket) -> None:
        if pkt.keyframe:
            self._gop = [(seq, pkt)]
            self._gop_bytes = pkt.size
            return
        if not self._gop:
            return
        self._gop.append((seq, pkt))
        self._gop_bytes += pkt.size
        if len(self._gop) > _GOP_CACHE_MAX_PACKETS or self._gop_bytes > _GOP_CACHE_MAX_BYTES:
            self._gop = []
            self._gop_bytes = 0

    def _call(
        self, loop: asyncio.AbstractEventLoop, fn: Callable[..., None], *args: object
    ) -> None:
        try:
            loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:  # loop closed: its subscribers are gone with it
            with self._lock:
                self._subs.pop(loop, None)

    def _subs_of(self, loop: asyncio.AbstractEventLoop) -> list[Subscription]:
        with self._lock:
            return list(self._subs.get(loop, ()))

    def _fanout(self, loop: asyncio.AbstractEventLoop, seq: int, pkt: EncodedPacket) -> None:
        for sub in self._subs_of(loop):
            sub._offer(seq, pkt)

    def _resync_all(self, loop: asyncio.AbstractEventLoop) -> None:
        for sub in self._subs_of(loop):
            sub._resync()

    def _close_all(self, loop: asyncio.AbstractEventLoop) -> None:
        for sub in self._subs_of(loop):
            sub._finish("hub")

    def _forget(self, sub: Subscription) -> None:
        with self._lock:
            subs = self._subs.get(sub._loop)
            if subs is not None and sub in subs:
                subs.remove(sub)
                if not subs:
                    del self._subs[sub._loop]
