"""Hub fan-out: starts at a keyframe, slow subscriber dropped forward / closed, bounded memory."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from vigilcam.media.hub import StreamHub
from vigilcam.media.types import EncodedPacket

pytestmark = pytest.mark.timeout(20)


def pkt(i: int, key: bool) -> EncodedPacket:
    return EncodedPacket(
        stream="main",
        nals=(bytes([0x65 if key else 0x41]) + i.to_bytes(4, "big"),),
        pts=i * 3000,
        dts=i * 3000,
        keyframe=key,
        wallclock=time.time(),
    )


def gop_stream(n: int, gop: int = 10) -> list[EncodedPacket]:
    return [pkt(i, i % gop == 0) for i in range(n)]


async def drain(loop_rounds: int = 3) -> None:
    for _ in range(loop_rounds):
        await asyncio.sleep(0)


async def test_subscription_starts_at_keyframe() -> None:
    hub = StreamHub("main")
    sub = hub.subscribe(max_queue=50)
    for p in gop_stream(25)[3:]:  # starts with P frames 3..9, keyframe at 10 and 20
        hub.publish(p)
    await asyncio.sleep(0.01)
    got = list(iter(sub.get_nowait, None))
    assert got[0].keyframe and got[0].pts == 10 * 3000
    assert [p.pts // 3000 for p in got] == list(range(10, 25))
    assert sub.dropped == 7


async def test_fast_and_stalled_subscriber_from_producer_thread() -> None:
    hub = StreamHub("main")
    fast = hub.subscribe(max_queue=20)
    stalled = hub.subscribe(max_queue=20)
    packets = gop_stream(300, gop=15)
    max_seen_stalled_queue = 0
    received: list[int] = []

    async def consume() -> None:
        async for p in fast:
            received.append(p.pts // 3000)
            if len(received) == len(packets):
                break

    def produce() -> None:
        for p in packets:
            hub.publish(p)
            time.sleep(0.0005)

    task = asyncio.create_task(consume())
    t = threading.Thread(target=produce)
    t.start()
    while t.is_alive():
        max_seen_stalled_queue = max(max_seen_stalled_queue, stalled.queued)
        await asyncio.sleep(0.001)
    t.join()
    await asyncio.wait_for(task, 5)
    # the fast one got every packet, in order, undelayed by the stalled one
    assert received == list(range(300))
    assert fast.dropped == 0 and not fast.closed
    # the stalled one never held more than its bound, and was closed as hopeless
    assert max_seen_stalled_queue <= 20
    assert stalled.closed and stalled.close_reason == "slow"
    assert stalled.queued == 0
    assert hub.subscriber_count == 1
    # iterating a closed subscription ends cleanly
    assert [p async for p in stalled] == []


async def test_slow_subscriber_resumes_at_next_keyframe() -> None:
    hub = StreamHub("main")
    slow = hub.subscribe(max_queue=5)
    stream = gop_stream(40, gop=10)
    for p in stream[:5]:  # queue full: 0..4
        hub.publish(p)
    await drain()
    first = await slow.__anext__()  # the consumer makes some progress -> not hopeless
    assert first.pts == 0
    for p in stream[5:13]:  # 5 fits, 6 overflows: queue cleared, wait for keyframe 10
        hub.publish(p)
    await drain()
    assert slow.overflows == 1 and not slow.closed
    got = [p.pts // 3000 for p in [slow.get_nowait() for _ in range(slow.queued)] if p]
    assert got == [10, 11, 12]
    assert slow.dropped == 9  # 1..5 discarded from the queue, 6..9 skipped
    # a second overflow without any progress in between: hopeless, closed
    for p in stream[13:20]:
        hub.publish(p)
    await drain()
    for p in stream[20:30]:
        hub.publish(p)
    await drain()
    assert slow.closed and slow.close_reason == "slow"


async def test_interrupt_waits_for_keyframe_and_close_ends_iteration() -> None:
    hub = StreamHub("main")
    sub = hub.subscribe()
    stream = gop_stream(30, gop=10)
    for p in stream[:5]:
        hub.publish(p)
    hub.interrupt()
    for p in stream[5:15]:
        hub.publish(p)
    await drain()
    got = [p.pts // 3000 for p in [sub.get_nowait() for _ in range(sub.queued)] if p]
    assert got == [0, 1, 2, 3, 4, 10, 11, 12, 13, 14]
    hub.close()
    await drain()
    assert sub.closed and sub.close_reason == "hub"
    assert [p async for p in sub] == []
    late = hub.subscribe()
    assert late.closed


async def test_from_last_keyframe_backlog_without_duplicates() -> None:
    hub = StreamHub("main")
    stream = gop_stream(30, gop=10)
    for p in stream[:14]:
        hub.publish(p)  # no subscriber yet: fan-out calls are none
    sub = hub.subscribe(max_queue=30, from_last_keyframe=True)
    hub.publish(stream[14])
    await drain()
    got = [p.pts // 3000 for p in [sub.get_nowait() for _ in range(sub.queued)] if p]
    assert got == [10, 11, 12, 13, 14]


def test_closed_loop_subscribers_are_forgotten() -> None:
    hub = StreamHub("main")

    def other_thread() -> None:
        other = asyncio.new_event_loop()

        async def sub_on_other() -> None:
            hub.subscribe()

        other.run_until_complete(sub_on_other())
        other.close()

    t = threading.Thread(target=other_thread)
    t.start()
    t.join()
    assert hub.subscriber_count == 1
    hub.publish(pkt(0, True))  # must not raise
    assert hub.subscriber_count == 0
