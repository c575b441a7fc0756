"""When to start, cut and stop recording segments: a pure state machine over packets.

Owns the recording modes (docs/privacy.md 'Inventory'): "continuous", "events" (pre-roll kept in
memory, post-roll after the last trigger) and "off". Segments start at a keyframe and are cut at the
first keyframe after ``segment_seconds`` of media, so every segment decodes alone. No IO: the
recorder turns the returned operations into file writes. Time is the packets' decode clock (90 kHz),
so a slow disk or a busy loop never shifts what is kept.

Serves IoT-1005-1 5.7.1.1 (record only what the owner chose: events mode keeps a few seconds
in memory and nothing on disk unless something happens; "off" keeps nothing).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Literal

from vigilcam.media.types import PTS_CLOCK, EncodedPacket

RecordMode = Literal["continuous", "events", "off"]
MODES: tuple[RecordMode, ...] = ("continuous", "events", "off")


@dataclass(frozen=True)
class OpenOp:
    """Start a segment with these packets (the first is a keyframe)."""

    trigger: str
    packets: tuple[EncodedPacket, ...]


@dataclass(frozen=True)
class WriteOp:
    packet: EncodedPacket


@dataclass(frozen=True)
class CloseOp:
    """Finish the open segment (durably)."""


Op = OpenOp | WriteOp | CloseOp


@dataclass(frozen=True)
class PlannerSettings:
    segment_seconds: float = 4.0
    preroll_seconds: float = 3.0
    postroll_seconds: float = 5.0
    max_preroll_packets: int = 2_000
    max_preroll_bytes: int = 32 * 1024 * 1024

    def __post_init__(self) -> None:
        if not 0.1 <= self.segment_seconds <= 600:
            raise ValueError("segment_seconds must be 0.1..600")
        if not 0 <= self.preroll_seconds <= 60:
            raise ValueError("preroll_seconds must be 0..60")
        if not 0 <= self.postroll_seconds <= 600:
            raise ValueError("postroll_seconds must be 0..600")


class RecordingPlanner:
    """Feed every packet to ``on_packet``; apply the operations it returns, in order."""

    def __init__(self, mode: RecordMode = "continuous", settings: PlannerSettings | None = None):
        if mode not in MODES:
            raise ValueError(f"recording mode must be one of {', '.join(MODES)}")
        self.settings = settings or PlannerSettings()
        self._mode: RecordMode = mode
        self._seg_len = int(self.settings.segment_seconds * PTS_CLOCK)
        self._preroll_len = int(self.settings.preroll_seconds * PTS_CLOCK)
        self._postroll_len = int(self.settings.postroll_seconds * PTS_CLOCK)
        self.recording = False
        self._seg_start = 0
        self._trigger = "continuous"
        self._pending: str | None = None
        self._event_until: int | None = None
        self._preroll: deque[EncodedPacket] = deque()
        self._preroll_bytes = 0

    @property
    def mode(self) -> RecordMode:
        return self._mode

    def set_mode(self, mode: RecordMode) -> list[Op]:
        if mode not in MODES:
            raise ValueError(f"recording mode must be one of {', '.join(MODES)}")
        ops: list[Op] = []
        if mode != self._mode:
            if self.recording:
                ops.append(CloseOp())
                self.recording = False
            self._event_until = None
            self._pending = None
            self._clear_preroll()
            self._mode = mode
        return ops

    def trigger(self, reason: str) -> None:
        """An event happened (motion, manual...): record from pre-roll until post-roll ends."""
        if not reason or len(reason) > 32:
            raise ValueError("trigger reason must be 1..32 characters")
        self._pending = reason

    def reset(self) -> None:
        """The open segment was lost (write failure): start again at the next keyframe."""
        self.recording = False

    def close(self) -> list[Op]:
        """Stop now (shutdown, source lost): finish the open segment."""
        ops: list[Op] = [CloseOp()] if self.recording else []
        self.recording = False
        self._clear_preroll()
        return ops

    # -- the machine --------------------------------------------------------------------------

    def on_packet(self, pkt: EncodedPacket, may_open: bool = True) -> list[Op]:
        if self._mode == "off":
            self._pending = None
            return self.close()
        if self._mode == "continuous":
            return self._continuous(pkt, may_open)
        return self._events(pkt, may_open)

    def _cut_due(self, pkt: EncodedPacket) -> bool:
        return pkt.keyframe and pkt.dts - self._seg_start >= self._seg_len

    def _continuous(self, pkt: EncodedPacket, may_open: bool) -> list[Op]:
        self._pending = None
        if self.recording:
            if self._cut_due(pkt):
                self._seg_start = pkt.dts
                return [CloseOp(), OpenOp("continuous", (pkt,))]
            return [WriteOp(pkt)]
        if pkt.keyframe and may_open:
            self.recording = True
            self._seg_start = pkt.dts
            return [OpenOp("continuous", (pkt,))]
        return []

    def _events(self, pkt: EncodedPacket, may_open: bool) -> list[Op]:
        if self._pending is not None:
            until = pkt.dts + self._postroll_len
            if self._event_until is not None:
                until = max(self._event_until, until)
            self._event_until = until
            if not self.recording:
                self._trigger = self._pending
            self._pending = None
        active = self._event_until is not None and pkt.dts < self._event_until
        if self.recording:
            if pkt.keyframe and not active:
                self.recording = False
                self._event_until = None
                self._remember(pkt)
                return [CloseOp()]
            if self._cut_due(pkt):
                self._seg_start = pkt.dts
                return [CloseOp(), OpenOp(self._trigger, (pkt,))]
            return [WriteOp(pkt)]
        self._remember(pkt)
        if not active:
            self._event_until = None
            return []
        if may_open and self._preroll:
            packets = tuple(self._preroll)
            self._clear_preroll()
            self.recording = True
            self._seg_start = packets[0].dts
            return [OpenOp(self._trigger, packets)]
        return []

    def _remember(self, pkt: EncodedPacket) -> None:
        """Keep whole GOPs covering at least ``preroll_seconds`` before now, bounded."""
        if not self._preroll and not pkt.keyframe:
            return
        self._preroll.append(pkt)
        self._preroll_bytes += pkt.size
        while True:
            second_key = next(
                (p for i, p in enumerate(self._preroll) if i > 0 and p.keyframe), None
            )
            if second_key is None:
                break
            too_big = (
                len(self._preroll) > self.settings.max_preroll_packets
                or self._preroll_bytes > self.settings.max_preroll_bytes
            )
            if pkt.dts - second_key.dts >= self._preroll_len or too_big:
                self._drop_first_gop()
            else:
                break
        if len(self._preroll) > self.settings.max_preroll_packets:
            # One GOP longer than the bound: keep nothing rather than grow without limit.
            self._clear_preroll()

    def _drop_first_gop(self) -> None:
        first = self._preroll.popleft()
        self._preroll_bytes -= first.size
        while self._preroll and not self._preroll[0].keyframe:
            self._preroll_bytes -= self._preroll.popleft().size

    def _clear_preroll(self) -> None:
        self._preroll.clear()
        self._preroll_bytes = 0
