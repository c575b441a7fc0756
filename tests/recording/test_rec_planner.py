"""Recording modes as a pure state machine: continuous, events with pre/post-roll, off."""

from __future__ import annotations

import pytest

from vigilcam.media.types import EncodedPacket
from vigilcam.recording.planner import (
    CloseOp,
    OpenOp,
    PlannerSettings,
    RecordingPlanner,
    WriteOp,
)

FPS = 10
STEP = 90_000 // FPS


def pkt(i: int, gop: int = 10) -> EncodedPacket:
    return EncodedPacket("main", (b"\x65" if i % gop == 0 else b"\x41",), i * STEP, i * STEP,
                         i % gop == 0, 1000.0 + i / FPS)


def run(pl: RecordingPlanner, frames: range, trig: dict[int, str] | None = None, gop: int = 10):
    segments: list[list[int]] = []
    triggers: list[str] = []
    current: list[int] | None = None
    for i in frames:
        if trig and i in trig:
            pl.trigger(trig[i])
        for op in pl.on_packet(pkt(i, gop)):
            if isinstance(op, OpenOp):
                assert current is None
                assert op.packets[0].keyframe
                current = [p.dts // STEP for p in op.packets]
                triggers.append(op.trigger)
            elif isinstance(op, WriteOp):
                assert current is not None
                current.append(op.packet.dts // STEP)
            elif isinstance(op, CloseOp):
                assert current is not None
                segments.append(current)
                current = None
    if current is not None:
        segments.append(current)
    return segments, triggers


def test_continuous_cuts_at_first_keyframe_after_segment_length() -> None:
    pl = RecordingPlanner("continuous", PlannerSettings(segment_seconds=2.5))
    segs, trig = run(pl, range(3, 75))  # starts mid-GOP: waits for keyframe 10
    assert [s[0] for s in segs] == [10, 40, 70]  # 2.5 s -> next keyframe at 3 s
    assert segs[0] == list(range(10, 40))
    assert all(s == list(range(s[0], s[0] + len(s))) for s in segs)
    assert set(trig) == {"continuous"}


def test_events_mode_records_preroll_and_postroll_only() -> None:
    pl = RecordingPlanner("events", PlannerSettings(segment_seconds=60, preroll_seconds=2,
                                                    postroll_seconds=3))
    segs, trig = run(pl, range(0, 150), trig={55: "motion"})
    assert trig == ["motion"]
    assert len(segs) == 1
    seg = segs[0]
    # pre-roll: whole GOPs covering >= 2 s before the trigger at 5.5 s -> from keyframe 30
    assert seg[0] == 30
    # post-roll: until 5.5 + 3 = 8.5 s, stopping at the next keyframe (9.0 s)
    assert seg[-1] == 89 and seg == list(range(30, 90))


def test_events_retrigger_extends_and_cuts_long_events_into_segments() -> None:
    pl = RecordingPlanner("events", PlannerSettings(segment_seconds=2, preroll_seconds=1,
                                                    postroll_seconds=2))
    segs, trig = run(pl, range(0, 200), trig={30: "manual", 45: "motion", 60: "motion"})
    flat = [i for s in segs for i in s]
    assert flat == list(range(20, 80))  # 1 s pre-roll, last trigger 6.0 s + 2 s post-roll
    assert [s[0] for s in segs] == [20, 40, 60]
    assert set(trig) == {"manual"}  # one event: the reason that started it


def test_events_without_trigger_keep_nothing_and_preroll_is_bounded() -> None:
    pl = RecordingPlanner("events", PlannerSettings(preroll_seconds=1))
    segs, _ = run(pl, range(0, 500))
    assert segs == []
    assert len(pl._preroll) <= 20  # at most one GOP beyond the pre-roll


def test_mode_off_closes_and_records_nothing() -> None:
    pl = RecordingPlanner("continuous")
    assert isinstance(pl.on_packet(pkt(0))[0], OpenOp)
    assert pl.set_mode("off") == [CloseOp()]
    assert all(pl.on_packet(pkt(i)) == [] for i in range(1, 50))
    pl.trigger("motion")
    assert pl.on_packet(pkt(50)) == []
    with pytest.raises(ValueError):
        pl.set_mode("sometimes")  # type: ignore[arg-type]


def test_reset_after_write_failure_restarts_at_next_keyframe() -> None:
    pl = RecordingPlanner("continuous")
    pl.on_packet(pkt(0))
    pl.reset()
    assert pl.on_packet(pkt(1)) == []
    assert pl.on_packet(pkt(10), may_open=False) == []
    assert isinstance(pl.on_packet(pkt(20))[0], OpenOp)


def test_bad_settings_and_trigger_are_refused() -> None:
    with pytest.raises(ValueError):
        PlannerSettings(segment_seconds=0)
    with pytest.raises(ValueError):
        RecordingPlanner("events").trigger("")
