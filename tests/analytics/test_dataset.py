"""The benchmark's tamper dataset is what it claims: real footage, labels where the tamper is."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.mark.slow  # decodes every clip, the 720p one included
def test_scenes_are_real_footage_of_the_expected_size(dataset) -> None:
    for name in dataset.TUNE_SCENES + dataset.HELD_OUT_SCENES:
        scene = dataset.load_scene(name)
        w, h = scene.out_size
        assert w <= 320 and h >= 100
        assert len(scene.frames) >= 40  # at least 1.6 s of real video per view
        assert scene.frames[0].dtype == np.uint8
        # Real video: consecutive frames differ, and not by noise alone.
        diff = np.abs(scene.frames[0].astype(int) - scene.frames[-1]).mean()
        assert diff > 2


def test_labels_cover_exactly_the_tamper(dataset) -> None:
    plan = dataset.short_plan("bikes/3", "moved", variant="shift")
    ep = plan.episodes[0]
    frames = list(dataset.render(plan))
    assert len(frames) == int(plan.duration * dataset.ANALYSIS_FPS)
    labelled = [f.t for f in frames if f.label == "moved"]
    assert labelled[0] >= ep.start and labelled[-1] < ep.end
    assert len(labelled) >= (ep.end - ep.start - 2 * ep.ramp) * dataset.ANALYSIS_FPS
    assert all(f.label is None for f in frames if not ep.start <= f.t < ep.end)


def test_long_plans_are_mostly_normal_with_hard_negatives(dataset) -> None:
    plan = dataset.make_plan("carphone_pristine", seed=3, normal_hours=1.0, episodes_per_kind=4)
    assert abs(plan.normal_seconds - 3600) < 1
    assert sorted({e.kind for e in plan.episodes}) == ["covered", "defocused", "moved"]
    assert len(plan.persons) > 10 and plan.light_steps and plan.noise_bursts
    ends = [e.end for e in plan.episodes]
    starts = [e.start for e in plan.episodes]
    assert all(b - a >= 60 for a, b in zip(ends, starts[1:]))
