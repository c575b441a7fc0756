"""The alert service: security events in, alerts out through every channel, none lost.

Owns the running delivery: the security-log subscription, the rules, the outbox workers (one
per channel, in order), retries with back-off and the "channel failing" warning. Serves
IoT-1005-1 5.8.1.1 (abnormal logins alert the owner with the device ID; queued and retried,
never silently dropped), TAICS TS 5100-2-1 5.5.1.1 / 5.1.2.1 (access, tamper, power and signal
alerts) and 5.2.8.2 (when the log store fails the alert still goes out: if the outbox cannot be
written either, the alert is held in memory and delivered directly).

Invariants:
- The security-log callback only appends to a thread-safe inbox and wakes the loop; rules,
  database writes and sends happen in the service's own asyncio tasks (DB calls in threads).
- An alert is written to the outbox before any send; a row leaves the outbox only after its
  channel confirmed it. The seclog sequence number the service has fully handled is stored,
  so events recorded while the service was down (or killed) are alerted at the next start.
- A channel whose deliveries have failed for ``failing_after_s`` is flagged in its status and
  a security event ``alerts.channel_failing`` is recorded (an alert to the other channels).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import threading
import time
from collections import deque
from typing import Any

from vigilcam import product
from vigilcam.alerts.channels import SEND_TIMEOUT_S, ChannelError, Sender
from vigilcam.alerts.foreign_tail import ForeignTail
from vigilcam.alerts.manager import ChannelManager, now_iso
from vigilcam.alerts.outbox import (
    BACKOFF_BASE_S,
    BACKOFF_CAP_S,
    ChannelRow,
    Outbox,
    StoreError,
    backoff_delay,
)
from vigilcam.alerts.ports import AlertDevice
from vigilcam.alerts.rules import Alert, AlertRules, RulePolicy, wants
from vigilcam.platform.events import Event
from vigilcam.platform.seclog import SecurityEvent, TailPosition

log = logging.getLogger("vigilcam.alerts")

WATERMARK = "seclog_seq"
MAX_INBOX = 100_000
MAX_MEMORY_PER_CHANNEL = 1_000
CATCH_UP_LIMIT = 5_000


class _MemoryQueue:
    """Alerts that could not be written to the outbox (disk full): delivered from memory."""

    def __init__(self) -> None:
        self.items: deque[Alert] = deque()
        self.attempts = 0
        self.next_attempt = 0.0
        self.dropped = 0

    def push(self, alert: Alert) -> None:
        if len(self.items) >= MAX_MEMORY_PER_CHANNEL:
            self.items.popleft()
            self.dropped += 1
        self.items.append(alert)


class AlertService:
    def __init__(
        self,
        device: AlertDevice,
        *,
        policy: RulePolicy | None = None,
        failing_after_s: float = 600.0,
        backoff_base_s: float = BACKOFF_BASE_S,
        backoff_cap_s: float = BACKOFF_CAP_S,
        poll_s: float = 2.0,
    ) -> None:
        self.device = device
        self.outbox = Outbox(device.paths.alerts_db)
        self.manager = ChannelManager(device, self.outbox)
        self.rules = AlertRules(device.identity.device_id, product.MODEL,
                                device.identity.serial, policy)
        self.failing_after_s = failing_after_s
        self.backoff_base_s, self.backoff_cap_s = backoff_base_s, backoff_cap_s
        self.poll_s = poll_s
        self._inbox: deque[tuple[SecurityEvent, bool]] = deque()
        self._inbox_lock = threading.Lock()
        self._overflow = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pump_wake: asyncio.Event | None = None
        self._stopping: asyncio.Event | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._wakes: dict[str, asyncio.Event] = {}
        self._senders: dict[str, Sender] = {}
        self._channels: dict[str, ChannelRow] = {}
        self._generation = 0
        self._watermark = 0
        self._failing: dict[str, bool] = {}  # cache of status.failing, to spare a query
        self._memory: dict[str, _MemoryQueue] = {}
        self._unmarked: dict[str, set[int]] = {}
        self.no_channel_alerts = 0
        self.delivered_total = 0
        # Events from now on arrive by subscription; older unhandled ones are read at start.
        start = device.seclog.tail_position()
        self._start_seq = start.seq
        try:
            if self.outbox.get_meta(WATERMARK) is None:
                self.outbox.set_meta(WATERMARK, str(self._start_seq))
        except StoreError:
            log.warning("alerts database not writable at start")
        self._foreign = ForeignTail(device.seclog, start)
        device.seclog.subscribe(self._on_event)

    # -- the security-log subscription (any thread) ------------------------------------------
    def _on_event(self, event: SecurityEvent, persisted: bool) -> None:
        self._foreign.note_own(event.seq)
        with self._inbox_lock:
            if len(self._inbox) >= MAX_INBOX:
                self._overflow += 1
                return
            self._inbox.append((event, persisted))
        loop, wake = self._loop, self._pump_wake
        if loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):  # loop closed during shutdown
                loop.call_soon_threadsafe(wake.set)

    # -- public API --------------------------------------------------------------------------
    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._pump_wake = asyncio.Event()
        self._stopping = asyncio.Event()
        await self._catch_up()
        await self._refresh_channels()
        self._tasks = [asyncio.create_task(self._pump(), name="alerts-pump"),
                       asyncio.create_task(self._supervise(), name="alerts-supervisor")]
        self._pump_wake.set()

    async def stop(self) -> None:
        """Stop workers; alerts still in the rules' windows are queued, so none is lost."""
        if self._stopping is None:
            return
        self._stopping.set()
        for task in [*self._tasks, *self._workers.values()]:
            task.cancel()
        for task in [*self._tasks, *self._workers.values()]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self._handle_batch(final=True)
        for sender in self._senders.values():
            with contextlib.suppress(Exception):
                await sender.close()
        self._senders.clear()
        self._workers.clear()
        self._tasks.clear()
        self._loop = None
        self._pump_wake = None

    def close(self) -> None:
        self.outbox.close()

    def add_channel(self, kind: str, url: str, **opts: Any) -> tuple[str, str | None]:
        channel_id, shown = self.manager.add_channel(kind, url, **opts)
        self._generation += 1
        row = self.outbox.channel(channel_id)
        if row is not None:  # alerts from now on go to it, even before its worker starts
            self._channels = {**self._channels, channel_id: row}
        self._kick_refresh()
        return channel_id, shown

    def remove_channel(self, channel_id: str, **opts: Any) -> bool:
        self._generation += 1
        removed = self.manager.remove_channel(channel_id, **opts)
        self._memory.pop(channel_id, None)
        self._channels = {k: v for k, v in self._channels.items() if k != channel_id}
        self._kick_refresh()
        return removed

    def list_channels(self) -> list[dict[str, Any]]:
        return self.manager.list_channels(
            {cid: len(q.items) for cid, q in self._memory.items()}
        )

    async def send_test(self, channel_id: str | None = None, **opts: Any) -> list[dict[str, Any]]:
        return await self.manager.send_test(channel_id, **opts)

    def status(self) -> dict[str, Any]:
        return {
            "running": self._stopping is not None and not self._stopping.is_set(),
            "channels": self.list_channels(),
            "alerts_without_channel": self.no_channel_alerts,
            "inbox": len(self._inbox),
            "inbox_overflow": self._overflow,
            "delivered": self.delivered_total,
        }

    # -- pump: inbox -> rules -> outbox ------------------------------------------------------
    async def _pump(self) -> None:
        assert self._pump_wake is not None
        while True:
            deadline = self.rules.next_deadline()
            timeout = self.poll_s if deadline is None else max(
                0.01, min(self.poll_s, deadline - time.monotonic()))
            await _wait_event(self._pump_wake, timeout)
            self._pump_wake.clear()
            if self._stopping is None or self._stopping.is_set():
                return
            try:
                await self._handle_batch()
            except Exception:  # noqa: BLE001 - the pump must survive; the next batch retries
                log.exception("alert pump failed a batch")

    async def _handle_batch(self, final: bool = False) -> None:
        while True:
            with self._inbox_lock:
                batch = [self._inbox.popleft() for _ in range(min(len(self._inbox), 500))]
                overflow, self._overflow = self._overflow, 0
            now = time.monotonic()
            alerts: list[Alert] = []
            top_seq = 0
            for event, _persisted in batch:
                alerts.extend(self.rules.feed(event, now))
                top_seq = max(top_seq, event.seq)
            alerts.extend(self.rules.flush(math.inf if final else now))
            if overflow:
                alerts.append(self._overflow_alert(overflow))
            if alerts:
                await self._dispatch(alerts)
            if top_seq or final:
                await self._save_watermark(top_seq)
            if not batch:
                return

    async def _save_watermark(self, top_seq: int) -> None:
        # Events folded into a still-open window are not yet in any alert: do not pass them.
        pending = self.rules.oldest_pending_seq()
        mark = top_seq if pending is None else min(top_seq, pending - 1)
        if mark <= 0:
            return
        if mark <= self._watermark:
            return
        try:
            await asyncio.to_thread(self.outbox.set_meta, WATERMARK, str(mark))
            self._watermark = mark
        except StoreError:
            pass  # disk full: the alerts went to memory; catch-up may repeat, never lose

    def _overflow_alert(self, count: int) -> Alert:
        alert = self.manager.test_alert(None, None)
        alert.event, alert.category, alert.severity = Event.ALERTS_OVERFLOW, "alerts", "critical"
        alert.title = "Alert inbox overflow"
        alert.summary = f"{count} security events arrived faster than alerts could be queued"
        alert.count = count
        return alert

    async def _dispatch(self, alerts: list[Alert]) -> None:
        for alert in alerts:
            targets = [
                cid for cid, row in self._channels.items()
                if wants(row.categories, alert)
                and not (alert.event == Event.ALERTS_CHANNEL_FAILING
                         and alert.details.get("channel_id") == cid)
            ]
            if not targets:
                self.no_channel_alerts += 1
                continue
            try:
                await asyncio.to_thread(self.outbox.enqueue, alert.alert_id, alert.to_json(),
                                        targets, time.time())
            except StoreError as exc:
                # TAICS 5.2.8.2: the disk may be full; keep it in memory and deliver directly.
                log.warning("alert outbox not writable (%s); holding %s in memory", exc,
                            alert.event)
                for cid in targets:
                    self._memory.setdefault(cid, _MemoryQueue()).push(alert)
            for cid in targets:
                wake = self._wakes.get(cid)
                if wake is not None:
                    wake.set()

    # -- catch-up of events recorded while the service was not listening ---------------------
    async def _catch_up(self) -> None:
        try:
            mark = int(await asyncio.to_thread(self.outbox.get_meta, WATERMARK) or 0)
        except StoreError:
            return
        self._watermark = mark
        if mark >= self._start_seq:
            return
        read = await asyncio.to_thread(self.device.seclog.tail, TailPosition(mark))
        missed = [e for e in read.events if e.seq <= self._start_seq][-CATCH_UP_LIMIT:]
        if missed:
            log.info("alerting %d security events recorded while alerts were not running",
                     len(missed))
            with self._inbox_lock:
                self._inbox.extendleft((e, True) for e in reversed(missed))

    # -- channels ----------------------------------------------------------------------------
    def _kick_refresh(self) -> None:
        loop = self._loop
        if loop is not None and self._stopping is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(
                    lambda: asyncio.ensure_future(self._refresh_channels()))

    async def _refresh_channels(self) -> None:
        while True:
            generation = self._generation
            try:
                rows = await asyncio.to_thread(self.outbox.channels)
            except StoreError:
                return
            if generation == self._generation:  # no add/remove raced with the read
                break
        fresh = {row.id: row for row in rows}
        for cid in list(self._channels):
            if cid not in fresh:
                task = self._workers.pop(cid, None)
                if task:
                    task.cancel()
                sender = self._senders.pop(cid, None)
                if sender:
                    with contextlib.suppress(Exception):
                        await sender.close()
                self._wakes.pop(cid, None)
        self._channels = fresh
        if self._stopping is None or self._stopping.is_set():
            return
        for cid in fresh:
            if cid not in self._workers or self._workers[cid].done():
                self._wakes[cid] = asyncio.Event()
                self._workers[cid] = asyncio.create_task(self._worker(cid),
                                                         name=f"alerts-{cid}")

    async def _supervise(self) -> None:
        while self._stopping is not None and not self._stopping.is_set():
            await asyncio.sleep(self.poll_s)
            await self._refresh_channels()
            await self._take_foreign()

    async def _take_foreign(self) -> None:
        """Events another process (a CLI run) wrote to the log reach the rules too."""
        events = await asyncio.to_thread(self._foreign.poll)
        if not events:
            return
        with self._inbox_lock:
            self._inbox.extend((e, True) for e in events)
        if self._pump_wake is not None:
            self._pump_wake.set()

    def _sender(self, cid: str) -> Sender:
        sender = self._senders.get(cid)
        if sender is None:
            sender = self._senders[cid] = self.manager.sender_for(self._channels[cid])
        return sender

    # -- one worker per channel: in order, once each, retried with back-off ------------------
    async def _worker(self, cid: str) -> None:
        wake = self._wakes[cid]
        while self._stopping is not None and not self._stopping.is_set():
            await self._retry_unmarked(cid)
            item = None
            try:
                item = await asyncio.to_thread(
                    self.outbox.head, cid, frozenset(self._unmarked.get(cid, ())))
            except StoreError:
                pass
            memory = self._memory.get(cid)
            if item is not None:
                attempts, next_at = item.attempts, item.next_attempt
                try:
                    alert = Alert.from_dict(json.loads(item.payload))
                except (ValueError, TypeError):
                    await self._drop_corrupt(cid, item.seq)
                    continue
            elif memory is not None and memory.items:
                alert, attempts, next_at = memory.items[0], memory.attempts, memory.next_attempt
            else:
                await self._check_failing(cid)
                await self._sleep(wake, self.poll_s)
                continue
            wait = next_at - time.time()
            if wait > 0:
                await self._check_failing(cid)
                await self._sleep(wake, min(wait, self.poll_s))
                continue
            error = await self._send(cid, alert)
            if error is None:
                await self._delivered(cid, item.seq if item else None, memory)
            else:
                await self._failed(cid, item.seq if item else None, memory, attempts, error)

    async def _drop_corrupt(self, cid: str, seq: int) -> None:
        """A row that is not an alert (disk corruption) must not block the queue forever."""
        log.error("alert outbox row %d of %s is not an alert; dropped", seq, cid)
        try:
            await asyncio.to_thread(self.outbox.mark_delivered, seq, cid, now_iso())
        except StoreError:
            self._unmarked.setdefault(cid, set()).add(seq)
        self.device.record(Event.ALERTS_CORRUPT_DROPPED, result="error", channel_id=cid,
                           outbox_seq=seq)

    async def _sleep(self, wake: asyncio.Event, seconds: float) -> None:
        await _wait_event(wake, seconds)
        wake.clear()

    async def _send(self, cid: str, alert: Alert) -> str | None:
        try:
            sender = self._sender(cid)
            async with asyncio.timeout(SEND_TIMEOUT_S + 5):
                await sender.send(alert)
        except (ChannelError, ValueError) as exc:
            return str(exc)
        except TimeoutError:
            return "timed out"
        except Exception as exc:  # noqa: BLE001 - a sender bug must not stop delivery
            log.exception("alert channel %s failed unexpectedly", cid)
            return f"{type(exc).__name__}: {exc}"
        return None

    async def _delivered(self, cid: str, seq: int | None, memory: _MemoryQueue | None) -> None:
        self.delivered_total += 1
        if seq is None and memory is not None:
            memory.items.popleft()
            memory.attempts, memory.next_attempt = 0, 0.0
        try:
            await asyncio.to_thread(self.outbox.mark_delivered, seq, cid, now_iso())
        except StoreError:
            if seq is not None:
                self._unmarked.setdefault(cid, set()).add(seq)
        await self._set_failing(cid, False)

    async def _failed(self, cid: str, seq: int | None, memory: _MemoryQueue | None,
                      attempts: int, error: str) -> None:
        delay = backoff_delay(attempts + 1, base=self.backoff_base_s, cap=self.backoff_cap_s)
        next_at = time.time() + delay
        log.info("alert channel %s: %s; retry in %.1f s", cid, error, delay)
        if seq is None and memory is not None:
            memory.attempts += 1
            memory.next_attempt = next_at
        try:
            await asyncio.to_thread(self.outbox.mark_failed, seq, cid, error, next_at,
                                    time.time(), now_iso())
        except StoreError:
            if memory is None:
                memory = self._memory.setdefault(cid, _MemoryQueue())
            memory.next_attempt = next_at
        await self._check_failing(cid)

    async def _retry_unmarked(self, cid: str) -> None:
        for seq in sorted(self._unmarked.get(cid, set())):
            try:
                await asyncio.to_thread(self.outbox.mark_delivered, seq, cid, now_iso())
            except StoreError:
                return
            self._unmarked[cid].discard(seq)

    async def _check_failing(self, cid: str) -> None:
        try:
            st = await asyncio.to_thread(self.outbox.status, cid)
        except StoreError:
            return
        if (st.failing or st.failing_since is None or not st.pending
                or time.time() - st.failing_since < self.failing_after_s):
            return
        await self._set_failing(cid, True, st.last_error, st.pending)

    async def _set_failing(self, cid: str, failing: bool, error: str | None = None,
                           pending: int = 0) -> None:
        if self._failing.get(cid) == failing:
            return
        try:
            st = await asyncio.to_thread(self.outbox.status, cid)
            self._failing[cid] = st.failing
            if st.failing == failing:
                return
            await asyncio.to_thread(self.outbox.set_failing, cid, failing)
            self._failing[cid] = failing
        except StoreError:
            return
        row = self._channels.get(cid)
        kind = row.kind if row else "?"
        if failing:
            log.warning("alert channel %s (%s) failing: %s; %d alerts waiting", cid, kind,
                        error, pending)
            self.device.record(Event.ALERTS_CHANNEL_FAILING, result="failure", channel_id=cid,
                               kind=kind, pending=pending, last_error=(error or "")[:300])
        else:
            self.device.record(Event.ALERTS_CHANNEL_RECOVERED, channel_id=cid, kind=kind)


async def _wait_event(event: asyncio.Event, seconds: float) -> None:
    """Wait for an event or a timeout. (asyncio.timeout, not wait_for: on Python 3.11 wait_for
    can swallow a cancellation that races with the event, and the task never stops.)"""
    try:
        async with asyncio.timeout(seconds):
            await event.wait()
    except TimeoutError:
        pass

