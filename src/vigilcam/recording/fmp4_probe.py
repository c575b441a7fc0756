"""Reading decrypted fragmented MP4 in memory: where it can be cut, how long it plays.

Owns the repair rule for a torn segment (IoT-1005-1 5.6.1.1): keep the init segment and every
complete ``moof`` + ``mdat`` pair, drop the tail. Works on bytes in memory only; plaintext
never reaches the disk (IoT-1005-1 5.4.1.2).
"""

from __future__ import annotations

import io
import struct
from fractions import Fraction

import av


class Fmp4Error(Exception):
    """The bytes are not a playable fragmented MP4."""


def iter_boxes(
    data: bytes, offset: int = 0, end: int | None = None
) -> list[tuple[bytes, int, int]]:
    """Top-level boxes as (type, start, end); stops at the first incomplete box."""
    limit = len(data) if end is None else end
    out: list[tuple[bytes, int, int]] = []
    pos = offset
    while pos + 8 <= limit:
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        header = 8
        if size == 1:
            if pos + 16 > limit:
                break
            (size,) = struct.unpack(">Q", data[pos + 8 : pos + 16])
            header = 16
        elif size == 0:
            size = limit - pos
        if size < header or pos + size > limit:
            break
        out.append((kind, pos, pos + size))
        pos += size
    return out


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
