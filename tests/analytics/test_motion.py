"""Motion is detected inside a zone and not outside it; lighting and noise are not motion.

The background is a real frame from the benchmark footage (a still camera view); a person-sized
object walks through it and the sensor adds noise, at 5 frames per second.
"""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np
import pytest

from vigilcam.analytics import MotionDetector, MotionEvent, Zone

LEFT = Zone.rect("left", 0.0, 0.0, 0.5, 1.0)
RIGHT = Zone.rect("right", 0.5, 0.0, 0.5, 1.0)


@pytest.fixture(scope="module")
def background(dataset) -> np.ndarray:
    frame = dataset.load_scene("bikes/3").frames[0]
    return cv2.resize(frame, (320, 180), interpolation=cv2.INTER_AREA)


def walk(bg: np.ndarray, x0: float, x1: float, gain_at: float | None = None,
         seconds: float = 20.0, faint: float | None = None) -> Iterator[tuple[float, np.ndarray]]:
    """A dark 24x60 px walker going from x0 to x1 (fractions of width) during 4..10 s; a
    ``faint`` walker is only that many grey levels brighter than what it hides."""
    rng = np.random.default_rng(3)
    h, w = bg.shape
    for i in range(int(seconds * 5)):
        t = i / 5
        img = bg.astype(np.float32)
        if 4.0 <= t < 10.0:
            x = int((x0 + (x1 - x0) * (t - 4.0) / 6.0) * w)
            sl = np.s_[100:160, max(0, x - 12):x + 12]
            img[sl] = 30.0 if faint is None else img[sl] + faint
        if gain_at is not None and t >= gain_at:
            img *= 0.5
        img += rng.normal(0, 2.5, img.shape)
        yield t, np.clip(img, 0, 255).astype(np.uint8)


def run(det: MotionDetector, frames: Iterator[tuple[float, np.ndarray]]) -> list[MotionEvent]:
    return [e for t, f in frames if (e := det.update(f, t)) is not None]


def test_motion_in_zone_starts_and_ends_once(background) -> None:
    events = run(MotionDetector([LEFT, RIGHT]), walk(background, 0.1, 0.4))
    assert [e.phase for e in events] == ["started", "ended"]
    start, end = events
    assert start.zones == ("left",)
    assert 4.0 <= start.t <= 5.0
    assert 10.0 <= end.t <= 14.0
    assert start.score > 0


def test_motion_outside_every_zone_is_ignored(background) -> None:
    assert run(MotionDetector([LEFT]), walk(background, 0.6, 0.9)) == []
    # ...while the same walk is seen when its zone is configured.
    events = run(MotionDetector([LEFT, RIGHT]), walk(background, 0.6, 0.9))
    assert events[0].zones == ("right",)


def test_walk_across_zones_names_both(background) -> None:
    events = run(MotionDetector([LEFT, RIGHT]), walk(background, 0.1, 0.9))
    assert [e.phase for e in events] == ["started", "ended"]
    assert events[1].zones == ("left", "right")


def test_noise_and_a_lighting_step_are_not_motion(background) -> None:
    frames = ((t, f) for t, f in walk(background, 0.1, 0.4, gain_at=12.0) if not 3 < t < 11)
    assert run(MotionDetector([LEFT, RIGHT], sensitivity=0.8), frames) == []


def test_sensitivity_decides_small_changes(background) -> None:
    assert run(MotionDetector(sensitivity=0.0), walk(background, 0.1, 0.4, faint=25)) == []
    events = run(MotionDetector(sensitivity=1.0), walk(background, 0.1, 0.4, faint=25))
    assert [e.phase for e in events] == ["started", "ended"]
