"""Bad input to the detectors gives a clear FrameError/ValueError, never a crash."""

from __future__ import annotations

import numpy as np
import pytest

from vigilcam.analytics import (
    FrameError,
    MotionDetector,
    TamperConfig,
    TamperDetector,
    Zone,
)

GOOD = np.full((90, 160), 100, np.uint8)


@pytest.fixture(params=["tamper", "motion"])
def det(request: pytest.FixtureRequest) -> TamperDetector | MotionDetector:
    return TamperDetector() if request.param == "tamper" else MotionDetector()


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (np.zeros((90, 160), np.float32), "dtype uint8"),
        (np.zeros((90, 160), np.uint16), "dtype uint8"),
        (np.zeros((90, 160, 3), np.uint8), "2-D grey image"),
        (np.zeros((160,), np.uint8), "2-D grey image"),
        (np.zeros((10, 160), np.uint8), "outside the supported range"),
        (np.zeros((0, 0), np.uint8), "outside the supported range"),
        ([[1, 2], [3, 4]], "numpy array"),
        (None, "numpy array"),
    ],
)
def test_bad_frames_are_refused_clearly(det, frame, message) -> None:
    with pytest.raises(FrameError, match=message):
        det.update(frame, 0.0)


@pytest.mark.parametrize(("t", "message"), [(float("nan"), "finite"), (float("inf"), "finite"),
                                              ("1.0", "number"), (True, "number")])
def test_bad_timestamps_are_refused(det, t, message) -> None:
    with pytest.raises(FrameError, match=message):
        det.update(GOOD, t)


def test_time_must_not_run_backwards(det) -> None:
    det.update(GOOD, 5.0)
    with pytest.raises(FrameError, match="backwards"):
        det.update(GOOD, 4.0)


def test_frame_size_change_is_reported(det) -> None:
    det.update(GOOD, 0.0)
    with pytest.raises(FrameError, match="size changed"):
        det.update(np.full((100, 160), 100, np.uint8), 0.2)


def test_non_contiguous_views_are_accepted() -> None:
    big = np.random.default_rng(0).integers(0, 255, (180, 640), dtype=np.uint8)
    det = TamperDetector()
    assert det.update(big[:, ::2], 0.0) == []


@pytest.mark.parametrize(
    "kwargs",
    [{"analysis_width": 8}, {"hold_s": -1.0}, {"cover_fraction": 0.0},
     {"cover_fraction": 1.5}, {"learn_tau_s": float("nan")}, {"jpeg_quality": 100},
     {"mono_chroma": 2.0, "colour_chroma": 1.0}, {"switch_ncc": 0.0}, {"moved_doubt": 2.0},
     {"switch_interval_s": -1.0}, {"blind_s": 5.5}],
)
def test_bad_tamper_config_is_refused(kwargs) -> None:
    with pytest.raises(ValueError):
        TamperConfig(**kwargs)


@pytest.mark.parametrize("s", [-0.1, 1.1, float("nan"), "high", True])
def test_bad_sensitivity_is_refused(s) -> None:
    with pytest.raises(ValueError, match="sensitivity"):
        MotionDetector(sensitivity=s)


def test_bad_zones_are_refused() -> None:
    with pytest.raises(ValueError, match="0..1"):
        Zone.polygon("door", [[0, 0], [1.2, 0], [1, 1]])
    with pytest.raises(ValueError, match="3.."):
        Zone.polygon("door", [[0, 0], [1, 1]])
    with pytest.raises(ValueError, match="leaves the image"):
        Zone.rect("door", 0.5, 0.5, 0.6, 0.2)
    with pytest.raises(ValueError, match="unique"):
        MotionDetector([Zone.rect("a", 0, 0, 0.5, 0.5), Zone.rect("a", 0.5, 0.5, 0.5, 0.5)])


def test_blank_start_then_scene_is_not_a_tamper() -> None:
    """A camera starting in the dark learns the first real view instead of alarming on it."""
    rng = np.random.default_rng(5)
    scene = rng.integers(0, 255, (18, 32), dtype=np.uint8)
    scene = np.kron(scene, np.ones((10, 10), np.uint8))
    det = TamperDetector()
    events = []
    for i in range(100):
        t = i / 5
        frame = np.zeros((180, 320), np.uint8) if t < 6 else scene
        events += det.update(frame, t)
        assert det.last_scores is None or all(
            np.isfinite(v) for v in det.last_scores.as_dict().values())
    assert events == []
    assert det.ready


@pytest.mark.parametrize(("colour", "message"), [
    (float("nan"), "finite number >= 0"), (-1.0, "finite number >= 0"),
    (float("inf"), "finite number >= 0"), ("grey", "must be a number"), (True, "must be a number"),
])
def test_bad_colour_levels_are_refused(colour, message) -> None:
    with pytest.raises(FrameError, match=message):
        TamperDetector().update(GOOD, 0.0, colour)


def test_colour_level_of_grey_and_colour_pictures() -> None:
    # An IR picture has no colour, whatever tint the decoder's rounding puts on the grey; a
    # colour scene has plenty, even dimmed to a tenth.
    from vigilcam.analytics.frames import grey_and_colour

    rng = np.random.default_rng(1)
    scene = rng.integers(0, 255, (90, 160, 3), dtype=np.uint8)
    gray, level = grey_and_colour(scene)
    assert gray.shape == (90, 160) and gray.flags.c_contiguous and level > 10
    assert grey_and_colour((scene * 0.1).astype(np.uint8))[1] > 1.0
    tinted = np.repeat(gray[:, :, None], 3, axis=2)
    tinted[:, :, 0] = np.clip(tinted[:, :, 0].astype(np.int16) + 1, 0, 255)  # off by one
    assert grey_and_colour(tinted)[1] < 0.4
    assert grey_and_colour(np.repeat(gray[:, :, None], 3, axis=2))[1] == 0.0
