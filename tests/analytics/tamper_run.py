"""One way the tamper tests play a benchmark clip through a fresh detector."""

from __future__ import annotations

from vigilcam.analytics import TamperDetector, TamperEvent


def run(dataset, plan) -> list[TamperEvent]:
    """Every event a fresh ``TamperDetector`` raises over the rendered ``plan``."""
    det = TamperDetector()
    events: list[TamperEvent] = []
    for fr in dataset.render(plan):
        events.extend(det.update(fr.gray, fr.t))
    return events
