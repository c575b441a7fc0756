"""Evidence thumbnails: small in-memory JPEGs of the view before and after a tamper.

Owns thumbnail sizing and encoding. Serves TAICS TS 5100-2-1 5.1.2.1 (each tamper alert
carries evidence: a snapshot from before). Nothing is written to disk here; the security
event/alert layers decide where evidence goes.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt


def thumbnail(gray: npt.NDArray[np.uint8], width: int) -> npt.NDArray[np.uint8]:
    """Area-downscale to ``width`` pixels wide (no upscaling); returns a copy."""
    h, w = gray.shape
    if w <= width:
        return gray.copy()
    out = cv2.resize(gray, (width, max(1, round(h * width / w))), interpolation=cv2.INTER_AREA)
    return np.asarray(out, np.uint8)


def jpeg(gray: npt.NDArray[np.uint8], quality: int) -> bytes:
    ok, buf = cv2.imencode(".jpg", gray, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("JPEG encoding of an evidence thumbnail failed")
    return bytes(buf.tobytes())
