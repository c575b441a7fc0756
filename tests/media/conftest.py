"""Fixtures for media tests: small H.264 files made with PyAV, pipeline helpers."""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import pytest

from vigilcam.media.testsrc import TestPattern


def write_h264_mp4(path: Path, *, seconds: float = 1.0, width: int = 320, height: int = 240,
                   fps: int = 15, codec: str = "libx264",
                   options: dict[str, str] | None = None) -> Path:
    """An MP4 of the test pattern (default: H.264 constrained baseline, GOP = fps)."""
    pat = TestPattern(width, height)
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=fps)
        assert isinstance(stream, av.video.stream.VideoStream)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        opts: dict[str, object] = dict(
            options or {"preset": "ultrafast", "tune": "zerolatency", "g": str(fps)}
        )
        stream.options = opts
        stream.codec_context.time_base = Fraction(1, fps)
        for i in range(round(seconds * fps)):
            frame = av.VideoFrame.from_ndarray(pat.render(i, 1_700_000_000 + i / fps),
                                               format="bgr24")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


@pytest.fixture(scope="session")
def h264_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield write_h264_mp4(tmp_path_factory.mktemp("media") / "clip.mp4")
