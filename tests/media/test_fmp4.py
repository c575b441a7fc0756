"""fMP4: init + fragments decode (ffprobe and PyAV) to the right count, size and rate; the one
fragment timeline (numbering, decode times, read-back) the live view, recorder and playback use."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import av
import pytest

from vigilcam.media.encoder import H264Encoder
from vigilcam.media.fmp4 import Fmp4Error, FragmentTimeline, fragment, init_segment, iter_boxes
from vigilcam.media.testsrc import TestPattern
from vigilcam.media.types import EncodedPacket, StreamInfo

pytestmark = pytest.mark.timeout(60)


def encode(n: int, width: int = 320, height: int = 240, fps: float = 15) -> tuple[
    StreamInfo, list[EncodedPacket]
]:
    enc = H264Encoder("main", width, height, fps)
    pat = TestPattern(width, height)
    out: list[EncodedPacket] = []
    for i in range(n):
        out += enc.encode(pat.render(i), round(i * 90000 / fps), 0.0)
    enc.close()
    assert enc.info is not None
    return enc.info, out


def ffprobe(path: Path) -> dict[str, object]:
    res = subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
         "stream=codec_name,width,height,avg_frame_rate,r_frame_rate,nb_read_frames,profile",
         "-of", "json", str(path)],
        capture_output=True, text=True, timeout=30, check=True,
    )
    assert res.stderr.strip() == "", res.stderr
    streams = json.loads(res.stdout)["streams"]
    assert len(streams) == 1
    return streams[0]  # type: ignore[no-any-return]


@pytest.mark.peer
@pytest.mark.parametrize("per_fragment", [1, 15])
def test_fmp4_decodes_with_ffprobe(tmp_path: Path, per_fragment: int) -> None:
    assert shutil.which("ffprobe")
    info, packets = encode(45)
    assert len(packets) == 45 and packets[0].keyframe
    assert info.codec_string.startswith("avc1.42")
    timeline = FragmentTimeline(packets[0].dts)
    data = init_segment(info)
    for i in range(0, len(packets), per_fragment):
        data += timeline.fragment(packets[i : i + per_fragment], last_duration=6000)
    path = tmp_path / "out.mp4"
    path.write_bytes(data)
    s = ffprobe(path)
    assert s["codec_name"] == "h264"
    assert (s["width"], s["height"]) == (320, 240)
    assert s["nb_read_frames"] == "45"
    assert s["avg_frame_rate"] == "15/1"
    # PyAV decodes every frame with the right timestamps and sizes
    with av.open(str(path)) as c:
        frames = list(c.decode(video=0))
    assert len(frames) == 45
    assert all((f.width, f.height) == (320, 240) for f in frames)
    assert [round(float(f.time), 3) for f in frames[:3]] == [0.0, 0.067, 0.133]


def test_structure_and_sync_flags() -> None:
    info, packets = encode(16)
    init = init_segment(info)
    assert init[4:8] == b"ftyp" and b"moov" in init and b"avcC" in init and b"trex" in init
    assert info.avcc() in init
    f = fragment(packets[:2], 7, 1234)
    assert f[4:8] == b"moof"
    assert (7).to_bytes(4, "big") in f[:40]  # mfhd sequence number
    mdat_at = f.index(b"mdat") - 4
    moof_len = int.from_bytes(f[:4], "big")
    assert mdat_at == moof_len
    # trun data offset points just past the mdat header
    trun = f.index(b"trun")
    data_offset = int.from_bytes(f[trun + 12 : trun + 16], "big", signed=True)
    assert data_offset == moof_len + 8
    # SPS/PPS are not duplicated into samples: first sample starts with its IDR/SEI NAL
    first_nal_type = f[moof_len + 8 + 4] & 0x1F
    assert first_nal_type in (5, 6)
    with pytest.raises(ValueError):
        fragment([], 1, 0)
    with pytest.raises(ValueError):
        fragment(packets[:1], 0, 0)


def test_stream_info_validation_and_avcc() -> None:
    info, _ = encode(1)
    rec = info.avcc()
    assert rec[0] == 1 and rec[1:4] == info.sps[1:4] and rec[4] == 0xFF
    with pytest.raises(ValueError, match="sequence parameter set"):
        StreamInfo("main", 1, 1, 1.0, sps=b"\x68abc", pps=info.pps)


def _pkt(dts: int, keyframe: bool = False) -> EncodedPacket:
    return EncodedPacket("main", (b"\x65" if keyframe else b"\x41", b"x" * 7), dts, dts,
                         keyframe, 0.0)


def _moof_fields(data: bytes) -> list[tuple[int, int]]:
    """(mfhd sequence number, tfdt decode time) of each fragment in ``data``."""
    out = []
    for kind, start, end in iter_boxes(data):
        if kind == b"moof":
            seq = int.from_bytes(data[start + 20 : start + 24], "big")
            at = data.index(b"tfdt", start, end) + 8
            out.append((seq, int.from_bytes(data[at : at + 8], "big")))
    return out


def test_timeline_numbers_fragments_and_places_decode_times() -> None:
    timeline = FragmentTimeline(origin=90_000)
    a = timeline.fragment([_pkt(90_000, True), _pkt(93_000)], last_duration=3000)
    b = timeline.fragment([_pkt(96_000), _pkt(99_000)], last_duration=3000)
    assert _moof_fields(a + b) == [(1, 0), (2, 6000)]
    assert timeline.end == 12_000
    with pytest.raises(ValueError):  # a fragment that cannot be made changes nothing
        timeline.fragment([])
    # a new init segment: decode time zero again, the numbering goes on
    timeline.restart(500_000)
    c = timeline.fragment([_pkt(503_000)])
    assert _moof_fields(c) == [(3, 3000)] and timeline.end == 3000 + 3000
    # the 32-bit sequence number wraps to 1, never 0
    timeline.sequence = 0xFFFFFFFF
    assert _moof_fields(timeline.fragment([_pkt(506_000)]))[0][0] == 1


def test_timeline_frame_lasts_the_spacing_before_it() -> None:
    """The live view's rule: the next frame is not known yet when a frame is sent."""
    timeline = FragmentTimeline(origin=0)
    timeline.frame(_pkt(0, True))
    assert timeline.end == 3000  # the first frame: 1/30 s
    timeline.frame(_pkt(6000))
    assert timeline.end == 12_000  # 6000 + the 6000 before it
    timeline.restart(100_000)
    timeline.frame(_pkt(100_000, True))
    assert timeline.end == 3000


def test_retime_moves_a_recorded_fragment_onto_the_timeline() -> None:
    recorded = FragmentTimeline(origin=0)
    frag = recorded.fragment([_pkt(0, True), _pkt(3000)], last_duration=3000)
    moof_end = iter_boxes(frag)[0][2]
    joined = FragmentTimeline()
    joined.fragment([_pkt(0, True)], last_duration=45_000)
    moved = joined.retime(frag[:moof_end], shift=joined.end)
    assert _moof_fields(moved + frag[moof_end:]) == [(2, 45_000)]
    assert joined.end == 45_000 + 6000
    bad = bytearray(frag[:moof_end])
    bad[bad.index(b"tfdt") + 4] = 0  # tfdt version 0: not this writer's layout
    with pytest.raises(Fmp4Error, match="version 0"):
        joined.retime(bytes(bad), shift=0)
    assert (joined.sequence, joined.end) == (2, 51_000)  # unchanged by the refusal
