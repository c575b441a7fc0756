"""Snapshots: a decoded frame to JPEG bytes, off the event loop.

Owns the still-image encoding used by ``GET /api/v1/snapshot.jpg`` (TAICS 5.5.1.1: a snapshot
is a viewing like any other). The frame
comes from the pipeline after privacy masks were applied, so masks hold in snapshots too
(docs/privacy.md 'Privacy masks'). Nothing is written to disk (IoT-1005-1 5.4.1.2).
"""

from __future__ import annotations

import asyncio
from concurrent.futures import Executor

import cv2
import numpy as np
import numpy.typing as npt

__all__ = ["encode_jpeg", "encode_jpeg_async"]


def encode_jpeg(frame: npt.NDArray[np.uint8], quality: int = 85) -> bytes:
    """JPEG bytes of a BGR (H, W, 3) or gray (H, W) frame."""
    if not 1 <= quality <= 100:
        raise ValueError("JPEG quality must be within 1..100")
    if frame.dtype != np.uint8 or frame.ndim not in (2, 3):
        raise ValueError("snapshot frame must be a uint8 gray or BGR image")
    ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return bytes(buf.tobytes())


async def encode_jpeg_async(
    frame: npt.NDArray[np.uint8], quality: int = 85, executor: Executor | None = None
) -> bytes:
    """:func:`encode_jpeg` in ``executor`` (default: the loop's) so the loop never blocks."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(executor, encode_jpeg, frame, quality)
