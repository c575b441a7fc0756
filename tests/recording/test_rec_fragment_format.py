"""The fMP4 inside recorded segments stays byte for byte what earlier releases wrote.

Segments already on disk must still play, and a player must see the same stream after the
fragment timeline changed homes (``media/fmp4.FragmentTimeline``). Synthetic packets (fixed
bytes, jittered decode times, composition offsets, a keyframe every 15 frames) go through the
recorder's sink into a real encrypted store and are read back; the SHA-256 of each decrypted
segment, its indexed duration and the joined playback stream are pinned to what the recorder and
joiner produced before the timeline moved; only a deliberate change of the format may change them.
"""

from __future__ import annotations

import hashlib

import pytest

from vigilcam.media.fmp4 import iter_boxes
from vigilcam.media.types import EncodedPacket, StreamInfo
from vigilcam.recording.planner import CloseOp, Op, OpenOp, WriteOp
from vigilcam.recording.playback import PlaybackJoiner
from vigilcam.recording.recorder import SegmentSink

SPS = b"\x67\x42\xc0\x1e\xd9\x00\xa0\x47\xfe\xc8"
PPS = b"\x68\xce\x3c\x80"
INFO = StreamInfo("main", 320, 240, 15.0, SPS, PPS)

SEGMENTS = [
    ("ff272621c6a58864c01f38c641b1a51dfe06e6923651ac54cd8a2488d2c5c4b8", 1.97),
    ("5e1015448e8263db318418826770a9d05b6079f70e12a7b8becfd70330123f31", 1.976667),
    ("5df7798cba133de678357213e8c9ba3edb910ee3c90b0a06b1ee3c8fa1124730", 0.983333),
]
JOINED = "407eabce43b51d208ed8940bfa14466fa4d0605f8bdd4c3d06ff6c0f2f70bff9"


def _packets() -> list[EncodedPacket]:
    out, dts = [], 10_000
    for i in range(75):
        key = i % 15 == 0
        nals = (SPS, PPS, b"\x65" + bytes([i]) * 40) if key else (b"\x41" + bytes([i]) * 9,)
        out.append(EncodedPacket("main", nals, dts + (3000 if i % 3 == 1 else 0), dts, key,
                                 1_700_000_000.0 + (dts - 10_000) / 90_000))
        dts += 6000 + (i % 4) * 150 - 300
    return out


def _ops(packets: list[EncodedPacket]) -> list[Op]:
    """A segment every 30 packets, as the planner cuts them."""
    ops: list[Op] = []
    for i, p in enumerate(packets):
        if i % 30 == 0:
            ops += [CloseOp()] if i else []
            ops.append(OpenOp("continuous", (p,)))
        else:
            ops.append(WriteOp(p))
    return ops + [CloseOp()]


def test_segments_and_playback_are_the_bytes_earlier_releases_wrote(store) -> None:
    SegmentSink(store, "main", fragment_seconds=0.5).apply(_ops(_packets()), INFO)
    records = store.index.all()
    plain = [store.read_all(r) for r in records]
    assert [k for k, _, _ in iter_boxes(plain[0])][:4] == [b"ftyp", b"moov", b"moof", b"mdat"]
    got = [(hashlib.sha256(d).hexdigest(), r.end - r.start) for r, d in zip(records, plain,
                                                                            strict=True)]
    assert [g[0] for g in got] == [s[0] for s in SEGMENTS]
    assert [g[1] for g in got] == pytest.approx([s[1] for s in SEGMENTS], abs=1e-6)
    joiner = PlaybackJoiner()
    assert hashlib.sha256(b"".join(joiner.feed(d) for d in plain)).hexdigest() == JOINED
