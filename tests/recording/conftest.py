"""Fixtures for recording tests: a test pattern encoded once per session, stores in tmp dirs."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from rec_support import encode_pattern  # noqa: E402

from vigilcam.media.types import EncodedPacket, StreamInfo  # noqa: E402
from vigilcam.recording.index import SegmentIndex  # noqa: E402
from vigilcam.recording.store import SegmentStore  # noqa: E402


@pytest.fixture(scope="session")
def pattern() -> tuple[StreamInfo, list[EncodedPacket]]:
    """4 s of a known pattern at 30 fps, a keyframe every 0.5 s."""
    return encode_pattern(frames=120, fps=30, gop=15)


@pytest.fixture
def master_key() -> bytes:
    return os.urandom(32)


@pytest.fixture
def store(tmp_path: Path, master_key: bytes):
    index = SegmentIndex(tmp_path / "data" / "recordings.db")
    st = SegmentStore(tmp_path / "data" / "recordings", master_key, index, chunk_size=4096)
    yield st
    try:
        index.close()
    except Exception:
        pass
