"""Has the camera been turned? ORB feature matching against a key frame of the learned view.

Owns the geometric half of "moved/redirected" detection (TAICS TS 5100-2-1 5.1.2.1). The
cell correlation in ``tamper_features`` catches a view that no longer resembles the reference;
it misses a small turn or twist of a soft, smooth view, because coarse cells still correlate.
Sharp corner features do not: when the camera is knocked, the matches between the key frame
and the current view agree on one global similarity transform far from identity, and the
matches that stay put (identity) collapse.

The key frame is a clean frame at least ``key_age`` seconds old, so the first frames of a
slow turn never become the reference; and it is renewed only by a frame that shows the view
where the key frame did (its features agree on a shift below ``max_key_shift``), so a turn
slower than the renewals does not carry the key along with it.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

U8 = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class Match:
    """Result of matching a frame against the key frame."""

    keypoints: int  # features found in the current frame
    matches: int  # cross-checked descriptor matches
    still: int  # matches that did not move (< 3 px): the view is where it was
    inliers: int  # matches agreeing on one similarity transform
    displacement: float  # mean displacement of that transform over the frame, / width


NO_MATCH = Match(0, 0, 0, 0, 0.0)


class ViewMatcher:
    def __init__(self, features: int = 200, key_age: float = 10.0,
                 max_key_shift: float = 0.02, sure_inliers: int = 12) -> None:
        self._orb = cv2.ORB.create(
            nfeatures=features, scaleFactor=1.3, nlevels=3, edgeThreshold=15, patchSize=15,
            fastThreshold=10,
        )
        self._bf = cv2.BFMatcher(cv2.NORM_HAMMING, crossCheck=True)
        self.key_age = key_age
        self.max_key_shift = max_key_shift
        self.sure_inliers = sure_inliers
        self._key: tuple[np.ndarray, np.ndarray | None] | None = None
        self._pending: tuple[float, U8] | None = None

    @property
    def has_key(self) -> bool:
        return self._key is not None

    def _describe(self, gray: U8) -> tuple[np.ndarray, np.ndarray | None]:
        kp, des = self._orb.detectAndCompute(gray, None)
        pts = np.array([k.pt for k in kp], dtype=np.float32).reshape(-1, 2)
        return pts, des

    def offer_clean(self, gray: U8, t: float) -> None:
        """Offer a frame seen while nothing was wrong; it becomes the key after key_age."""
        if self._key is None:
            self._key = self._describe(gray)
        if self._pending is None:
            self._pending = (t, gray.copy())
        elif t - self._pending[0] >= self.key_age:
            candidate = self._describe(self._pending[1])
            shift = self._match(candidate, self._pending[1].shape)
            # Features sure of a shift since the key: the view is turning (or swaying out),
            # so the key stays. Unsure (another light, few features): renew it.
            if shift.inliers < self.sure_inliers or shift.displacement < self.max_key_shift:
                self._key = candidate
            self._pending = (t, gray.copy())

    def interrupt(self, t: float, onset: float = 3.0) -> None:
        """Something looks wrong since about now: a pending frame taken within ``onset``
        seconds may already show the start of it, so it will not become the key."""
        if self._pending is not None and t - self._pending[0] < onset:
            self._pending = None

    def reset(self) -> None:
        self._key = None
        self._pending = None

    def match(self, gray: U8) -> Match:
        """How ``gray`` lies against the key frame."""
        if self._key is None:
            return NO_MATCH
        return self._match(self._describe(gray), gray.shape)

    def _match(self, described: tuple[np.ndarray, np.ndarray | None], shape: tuple[int, ...]
               ) -> Match:
        if self._key is None:
            return NO_MATCH
        kpts, kdes = self._key
        pts, des = described
        if des is None or kdes is None or len(pts) < 6 or len(kpts) < 6:
            return Match(len(pts), 0, 0, 0, 0.0)
        m = self._bf.match(kdes, des)
        if len(m) < 6:
            return Match(len(pts), len(m), 0, 0, 0.0)
        p0 = kpts[[x.queryIdx for x in m]]
        p1 = pts[[x.trainIdx for x in m]]
        still = int((np.linalg.norm(p1 - p0, axis=1) < 3.0).sum())
        tf, inl = cv2.estimateAffinePartial2D(
            p0, p1, method=cv2.RANSAC, ransacReprojThreshold=3.0, maxIters=500
        )
        if tf is None or inl is None:
            return Match(len(pts), len(m), still, 0, 0.0)
        h, w = shape[:2]
        probe = np.array([[0, 0], [w, 0], [0, h], [w, h], [w / 2, h / 2]], dtype=np.float32)
        moved = probe @ tf[:, :2].T + tf[:, 2]
        disp = float(np.linalg.norm(moved - probe, axis=1).mean()) / w
        return Match(len(pts), len(m), still, int(inl.sum()), disp)
