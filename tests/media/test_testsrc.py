"""Burned-in time survives an H.264 round trip at 720p and 640x360, and scaling."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from vigilcam.media.encoder import H264Encoder
from vigilcam.media.testsrc import TestPattern, decode_burned_time, encode_time_bits

pytestmark = pytest.mark.timeout(60)


def test_time_bits_layout() -> None:
    bits = encode_time_bits(1_795_000_000_123)
    assert len(bits) == 64 and bits[:4] == [1, 0, 1, 0] and bits[-4:] == [0, 1, 0, 1]
    with pytest.raises(ValueError):
        encode_time_bits(-1)


@pytest.mark.parametrize("size", [(1280, 720), (640, 360)])
def test_burned_time_after_h264_round_trip(size: tuple[int, int]) -> None:
    import av

    w, h = size
    pat = TestPattern(w, h)
    enc = H264Encoder("main", w, h, 15, crf=30)  # harsher than the default quality
    dec = av.CodecContext.create("h264", "r")
    base = 1_795_452_446.0
    stamps = [base + i * 0.0667 for i in range(20)]
    decoded = []
    for i, t in enumerate(stamps):
        for p in enc.encode(pat.render(i, t), i * 6000, t):
            for f in dec.decode(av.Packet(p.annexb())):
                decoded.append(f.to_ndarray(format="rgb24"))
    assert len(decoded) >= 19
    for got_frame, t in zip(decoded, stamps, strict=False):
        got = decode_burned_time(got_frame)
        assert got is not None
        assert abs(got - t) <= 0.001  # the code carries milliseconds exactly
    # scaled like a browser screenshot of a smaller video element, gray
    small = cv2.resize(decoded[5], (427, 240), interpolation=cv2.INTER_AREA)
    assert decode_burned_time(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)) == pytest.approx(
        stamps[5], abs=0.001
    )


def test_no_code_is_none_not_garbage() -> None:
    assert decode_burned_time(np.zeros((360, 640, 3), np.uint8)) is None
    assert decode_burned_time(np.full((360, 640), 255, np.uint8)) is None
    noise = np.random.default_rng(1).integers(0, 256, (360, 640), dtype=np.uint8)
    assert decode_burned_time(noise) is None
    assert decode_burned_time(np.zeros((10, 10), np.uint8)) is None
    # one flipped payload cell is caught by the CRC
    frame = TestPattern(640, 360).render(1, 1_795_452_446.5)
    cell = 640 // 64
    x = 10 * cell + cell // 2
    frame[-20:, x - 2 : x + 2] = 255 - frame[-20:, x - 2 : x + 2]
    frame[-36:, 10 * cell : 11 * cell] = 255 - frame[-36, 10 * cell + 5]
    assert decode_burned_time(frame) is None
