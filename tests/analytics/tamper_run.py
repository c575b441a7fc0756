"""One way the tamper tests play a benchmark clip through a fresh detector."""

from __future__ import annotations

from vigilcam.analytics import TamperDetector, TamperEvent


def run(dataset, plan, *, colour: bool = True) -> list[TamperEvent]:
    """Every event a fresh ``TamperDetector`` raises over the rendered ``plan``; with
    ``colour`` it gets each frame's colour level too, as the live pipeline gives it."""
    det = TamperDetector()
    events: list[TamperEvent] = []
    for fr in dataset.render(plan):
        events.extend(det.update(fr.gray, fr.t, fr.colour if colour else None))
    return events
