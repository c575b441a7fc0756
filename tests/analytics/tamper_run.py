"""One way the tamper tests play a benchmark clip through a fresh detector."""

from __future__ import annotations

from collections.abc import Callable

from vigilcam.analytics import TamperDetector, TamperEvent


def run(dataset, plan, *, colour: bool = True,
        colour_of: Callable[[int, object], float | None] | None = None,
        detector: TamperDetector | None = None, start: float = 0.0,
        end: float | None = None) -> list[TamperEvent]:
    """Every event a ``TamperDetector`` (a fresh one unless given) raises over the rendered
    ``plan``, from ``start`` to ``end`` seconds (a slice of a long stream). With ``colour``
    it gets each frame's colour level too, as the live pipeline gives it;
    ``colour_of(index, frame)`` gives another one instead (a flickering picture, a cover
    that takes the colour away)."""
    det = detector or TamperDetector()
    events: list[TamperEvent] = []
    for i, fr in enumerate(dataset.render(plan, start, end)):
        level = colour_of(i, fr) if colour_of else (fr.colour if colour else None)
        events.extend(det.update(fr.gray, fr.t, level))
    return events
