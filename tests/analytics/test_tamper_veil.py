"""Veil against blur, lighting and sensor noise: a translucent cover (the picture still shows
through) must be "covered", never "defocused"; a blur "defocused", never "covered"; lights
dimmed to a third nothing; and the end of a noise burst that the reference had learned must not look like a blur (the noise is estimated
and taken out of every band before comparing).

Serves TAICS TS 5100-2-1 5.1.2.1 (a covered lens is reported as covered; no false alarms).
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.analytics.tamper_run import run
from vigilcam.analytics import TamperDetector, TamperEvent
from vigilcam.analytics.tamper_features import Grid, noise_sigma


@pytest.mark.parametrize("seed", [2, 6, 1])  # a dark, a grey and a white veil
@pytest.mark.parametrize("scene", ["bikes/4", "carphone_pristine"])
def test_faint_translucent_cover_is_covered(dataset, scene, seed) -> None:
    # The faintest veil of the benchmark (70 % opaque): the picture still shows through and
    # matches the reference, its mid band is low like a blur's, but every scale lost alike.
    # (A black veil this faint is the same picture as dimmed lights; it is not in the list.)
    plan = dataset.short_plan(scene, "covered", seed=seed, variant="translucent", level=1.0)
    events = run(dataset, plan)
    assert [(e.kind, e.phase) for e in events] == [("covered", "raised"), ("covered", "cleared")]


def test_end_of_a_noise_burst_is_not_a_blur(dataset) -> None:
    # A dim scene, two minutes of heavy noise (long enough to be learned), then clean again:
    # the mid band loses the noise's energy, but the noise is taken out before comparing.
    plan = dataset.Plan("bikes/3", 180.0, 1, noise_sigma=2.0, day_period=3600.0,
                        day_depth=0.0, day_phase=0.0)
    plan.light_steps.append(dataset.Span(0.0, 180.0, 0.2))
    plan.noise_bursts.append(dataset.Span(10.0, 140.0, 2.5))
    assert run(dataset, plan) == []


@pytest.mark.parametrize("scene", ["bikes/3", "carphone_pristine"])
def test_lights_dimmed_to_a_third_are_not_a_veil(dataset, scene) -> None:
    # Two lighting steps on top of each other: contrast and brightness fall alike.
    plan = dataset.Plan(scene, 120.0, 1, noise_sigma=2.0, day_period=3600.0, day_depth=0.0,
                        day_phase=0.0)
    plan.light_steps.append(dataset.Span(0.0, 60.0, 1.0))
    plan.light_steps.append(dataset.Span(60.0, 120.0, 0.33))
    assert run(dataset, plan) == []


@pytest.mark.parametrize("sigma", [1.0, 3.0, 6.0])
def test_noise_estimate_on_a_textured_frame(sigma) -> None:
    rng = np.random.default_rng(5)
    h, w = 180, 320
    yy, xx = np.mgrid[0:h, 0:w]
    scene = 120 + 60 * np.sin(xx / 7.0) * (xx < w // 2) + 0.3 * yy  # texture, flat, slope
    frame = scene + rng.normal(0, sigma, (h, w))
    grid = Grid.for_shape(h, w, 96, 12)
    est = noise_sigma(np.clip(frame, 0, 255).astype(np.float32), grid)
    assert est == pytest.approx(sigma, rel=0.2)


@pytest.mark.parametrize(("name", "expected"), [("veil", "covered"), ("blur", "defocused")])
@pytest.mark.parametrize("scene_name", ["bikes/4", "carphone_pristine"])
def test_veil_and_blur_are_told_apart(dataset, scene_name, name, expected) -> None:
    # One still frame of real footage, then the same frame veiled or blurred: both keep the
    # picture (it still correlates) and lose fine detail; only the veil takes the coarse
    # contrast with it.
    scene = dataset.load_scene(scene_name).frames[0].astype(np.float32)
    tampered = {
        "veil": 0.3 * scene + 0.7 * 180.0,
        "blur": cv2.GaussianBlur(scene, (0, 0), 0.015 * scene.shape[1]),
    }[name]
    rng = np.random.default_rng(9)
    det = TamperDetector()
    events: list[TamperEvent] = []
    for i in range(60):
        img = scene if i < 40 else tampered
        frame = np.clip(img + rng.normal(0, 2, img.shape), 0, 255).astype(np.uint8)
        events.extend(det.update(frame, i / 5))
    assert [(e.kind, e.phase) for e in events] == [(expected, "raised")]


@pytest.mark.parametrize("scene", ["carphone_pristine", "carphone_distorted"])
def test_weak_blur_on_a_small_sub_stream_is_defocused(dataset, scene) -> None:
    # carphone is 132 px wide, below the analysis width: a faint lens defocus (a disk of about
    # 1.4 px) barely touches a mid band of fixed pixel size, so the bands scale with the frame.
    plan = dataset.short_plan(scene, "defocused", seed=1, variant="disk", level=0.85)
    events = run(dataset, plan)
    assert [(e.kind, e.phase) for e in events] == [("defocused", "raised"),
                                                  ("defocused", "cleared")]
    assert events[0].t <= plan.episodes[0].start + 3.0


def test_band_scale_follows_the_frame_width() -> None:
    assert Grid.band_scale_for(320, 320) == 1.0
    assert Grid.band_scale_for(640, 320) == 1.0
    assert 0.75 < Grid.band_scale_for(132, 320) < 0.85
    assert Grid.for_shape(108, 132, 96, 12, 320).band_scale < 1.0
