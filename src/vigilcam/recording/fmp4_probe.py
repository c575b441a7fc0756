"""Reading decrypted fragmented MP4 in memory: where it can be cut, how long it plays.

Owns the repair rule for a torn segment (IoT-1005-1 5.6.1.1): keep the init segment and every
complete ``moof`` + ``mdat`` pair, drop the tail. Boxes are read with ``media/fmp4``, the home
of the container. Works on bytes in memory only; plaintext never reaches the disk (IoT-1005-1
5.4.1.2).
"""

from __future__ import annotations

import io
from fractions import Fraction

import av

from vigilcam.media.fmp4 import Fmp4Error, iter_boxes


def usable_prefix(data: bytes) -> int:
    """Length of the longest prefix that is ``ftyp moov (moof mdat)+``; 0 when none."""
    boxes = iter_boxes(data)
    kinds = [b[0] for b in boxes]
    if len(kinds) < 2 or kinds[0] != b"ftyp" or b"moov" not in kinds[:3]:
        return 0
    cut = 0
    pending_moof = False
    for kind, _start, stop in boxes:
        if kind == b"moof":
            pending_moof = True
        elif kind == b"mdat" and pending_moof:
            cut = stop
            pending_moof = False
    return cut


def duration_seconds(data: bytes) -> float:
    """Play time of a (complete) MP4 / fMP4 held in memory, from its packet timestamps."""
    try:
        with av.open(io.BytesIO(data), mode="r", format="mp4") as container:
            if not container.streams.video:
                raise Fmp4Error("no video track")
            stream = container.streams.video[0]
            tb = stream.time_base or Fraction(1, 90_000)
            first: int | None = None
            last = 0
            count = 0
            for packet in container.demux(stream):
                if packet.pts is None:
                    continue
                count += 1
                first = packet.pts if first is None else min(first, packet.pts)
                last = max(last, packet.pts + (packet.duration or 0))
    except (av.FFmpegError, ValueError) as exc:
        raise Fmp4Error(f"not a playable MP4: {exc}") from exc
    if first is None or count == 0:
        raise Fmp4Error("no video frames")
    return float((last - first) * tb)
