"""Moving test pattern with a burned-in capture time, readable by people and by machines.

Owns the default ``testsrc`` picture and the time code used to measure glass-to-glass delay
(docs/performance.md 'Live video'). Drawing only (numpy/OpenCV); the pacing loop lives in
``capture.py``.

The machine-readable time code is a strip of 64 black/white cells across the bottom tenth of
the picture: ``1010`` sync, 48 bits of the capture time in milliseconds since the Unix epoch
(MSB first), a CRC-8 of those 6 bytes, and ``0101`` sync. The cells are large relative to the
picture (1/64 of its width, 1/10 of its height), so the code survives H.264 compression and
scaling to 640x360, 320x180 or a browser screenshot of the video element.
"""

from __future__ import annotations

import time

import cv2
import numpy as np
import numpy.typing as npt

__all__ = ["TestPattern", "decode_burned_time", "encode_time_bits", "CELLS"]

Frame = npt.NDArray[np.uint8]

CELLS = 64
_SYNC_HEAD = (1, 0, 1, 0)
_SYNC_TAIL = (0, 1, 0, 1)
_TIME_BITS = 48
_STRIP_FRACTION = 10  # strip height = height // 10


def _crc8(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def encode_time_bits(ms: int) -> list[int]:
    """The 64 cell values (1 = white) that encode ``ms``."""
    if not 0 <= ms < 1 << _TIME_BITS:
        raise ValueError("time code out of range")
    raw = ms.to_bytes(6, "big")
    bits = [(ms >> (_TIME_BITS - 1 - i)) & 1 for i in range(_TIME_BITS)]
    crc = _crc8(raw)
    bits += [(crc >> (7 - i)) & 1 for i in range(8)]
    return [*_SYNC_HEAD, *bits, *_SYNC_TAIL]


def _strip_rows(height: int) -> tuple[int, int]:
    strip_h = max(2, height // _STRIP_FRACTION)
    return height - strip_h, height


def decode_burned_time(frame: npt.NDArray[np.generic]) -> float | None:
    """Read the burned-in capture time (seconds since the epoch) back from a picture.

    ``frame`` is gray (H, W) or color (H, W, 3|4) in any channel order, as decoded from the
    stream or captured from a screenshot of the video element. Returns None when no valid code
    is found (sync or CRC mismatch, too little contrast).
    """
    if frame.ndim == 3:
        img = frame[..., :3].astype(np.float32).mean(axis=2)
    elif frame.ndim == 2:
        img = frame.astype(np.float32)
    else:
        return None
    height, width = img.shape
    if width < CELLS * 2 or height < 20:
        return None
    top, bottom = _strip_rows(height)
    strip_h = bottom - top
    y0, y1 = top + strip_h // 4, bottom - strip_h // 4
    cell_w = width / CELLS
    values = []
    for i in range(CELLS):
        x0 = int(i * cell_w + cell_w * 0.3)
        x1 = max(x0 + 1, int((i + 1) * cell_w - cell_w * 0.3))
        values.append(float(img[y0:y1, x0:x1].mean()))
    sync = list(zip(range(4), _SYNC_HEAD, strict=True)) + list(
        zip(range(CELLS - 4, CELLS), _SYNC_TAIL, strict=True)
    )
    ones = [values[i] for i, b in sync if b]
    zeros = [values[i] for i, b in sync if not b]
    if min(ones) - max(zeros) < 60:
        return None
    threshold = (sum(ones) / 4 + sum(zeros) / 4) / 2
    bits = [1 if v > threshold else 0 for v in values]
    payload = bits[4 : 4 + _TIME_BITS]
    crc_bits = bits[4 + _TIME_BITS : 4 + _TIME_BITS + 8]
    ms = 0
    for b in payload:
        ms = (ms << 1) | b
    crc = 0
    for b in crc_bits:
        crc = (crc << 1) | b
    if _crc8(ms.to_bytes(6, "big")) != crc:
        return None
    return ms / 1000.0


class TestPattern:
    """Renders frames of the moving test pattern (BGR, uint8, H x W x 3)."""

    __test__ = False  # not a pytest test class

    def __init__(self, width: int, height: int) -> None:
        if width < 160 or height < 90 or width % 2 or height % 2:
            raise ValueError("test pattern size must be even and at least 160x90")
        self.width = width
        self.height = height
        # Colour bars twice as wide as the picture: a moving window over them is a cheap slice.
        bars = np.array(
            [
                (192, 192, 192), (0, 192, 192), (192, 192, 0), (0, 192, 0),
                (192, 0, 192), (0, 0, 192), (192, 0, 0), (16, 16, 16),
            ],
            dtype=np.uint8,
        )
        xs = (np.arange(2 * width) * len(bars) // width) % len(bars)
        row = bars[xs]
        self._bg = np.ascontiguousarray(np.broadcast_to(row, (height, 2 * width, 3)))
        ramp = (np.arange(height, dtype=np.float32) / height * 0.5 + 0.5)[:, None, None]
        self._bg = (self._bg * ramp).astype(np.uint8)
        self._font_scale = height / 720 * 1.1
        self._thickness = max(1, round(height / 360))
        self._cells = np.array(
            [int(round(i * width / CELLS)) for i in range(CELLS + 1)], dtype=np.int64
        )

    def render(self, counter: int, wallclock: float | None = None) -> Frame:
        """Frame number ``counter`` showing ``wallclock`` (defaults to now)."""
        now = time.time() if wallclock is None else wallclock
        w, h = self.width, self.height
        off = (counter * max(2, w // 160)) % w
        frame = self._bg[:, off : off + w].copy()
        # A bouncing square: gives motion and makes frozen video obvious.
        side = h // 6
        span_x, span_y = w - side, h - h // 10 - side
        px = abs((counter * 7) % (2 * span_x) - span_x)
        py = abs((counter * 5) % (2 * span_y) - span_y)
        cv2.rectangle(frame, (px, py), (px + side, py + side), (255, 255, 255), -1)
        ms = int(round(now * 1000))
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ms // 1000))
        text = f"{stamp}.{ms % 1000:03d} UTC  #{counter:07d}"
        (tw, th), base = cv2.getTextSize(
            text, cv2.FONT_HERSHEY_SIMPLEX, self._font_scale, self._thickness
        )
        pad = max(4, h // 90)
        cv2.rectangle(frame, (0, 0), (tw + 2 * pad, th + base + 2 * pad), (0, 0, 0), -1)
        cv2.putText(
            frame, text, (pad, pad + th), cv2.FONT_HERSHEY_SIMPLEX, self._font_scale,
            (255, 255, 255), self._thickness, cv2.LINE_AA,
        )
        top, bottom = _strip_rows(h)
        for i, bit in enumerate(encode_time_bits(ms)):
            frame[top:bottom, self._cells[i] : self._cells[i + 1]] = 255 if bit else 0
        return frame
