"""Privacy mask geometry and validation (pure)."""

from __future__ import annotations

import numpy as np
import pytest

from vigilcam.media.masks import MAX_MASKS, MaskSet, PolygonMask, RectMask


def test_rect_and_polygon_cover_the_right_pixels() -> None:
    ms = MaskSet.from_config([{"rect": [0.0, 0.0, 0.5, 0.25]},
                              {"polygon": [[0.5, 0.5], [1.0, 0.5], [1.0, 1.0]]}])
    frame = np.full((100, 200, 3), 200, np.uint8)
    ms.apply(frame)
    assert frame[:25, :100].max() == 0
    assert frame[25:, :95].min() == 200 and frame[:25, 101:].min() == 200
    assert frame[95, 195].max() == 0  # inside the triangle
    assert frame[95, 105].min() == 200  # outside the triangle (below the diagonal)
    cover = ms.coverage(200, 100)
    assert 0.1 < cover.mean() < 0.3
    assert ms.coverage(200, 100) is cover  # cached per size


def test_rect_rounds_outward() -> None:
    ms = MaskSet([RectMask(0.101, 0.101, 0.199, 0.199)])
    c = ms.coverage(100, 100)
    assert c[10, 10] and c[19, 19] and not c[20, 20] and not c[9, 9]


@pytest.mark.parametrize(
    "items, fragment",
    [
        ([{"rect": [0, 0, 1.5, 1]}], "0..1"),
        ([{"rect": [0.5, 0, 0.4, 1]}], "x0 < x1"),
        ([{"rect": [0, 0, 1]}], r"\[x0, y0, x1, y1\]"),
        ([{"rect": ["a", 0, 1, 1]}], "number"),
        ([{"rect": [True, 0, 1, 1]}], "number"),
        ([{"polygon": [[0, 0], [1, 1]]}], "3 to"),
        ([{"polygon": [[0, 0], [1, 1], [0.5]]}], "pairs"),
        ([{"circle": [0, 0, 1]}], "unknown privacy mask kind"),
        ([{"rect": [0, 0, 1, 1], "polygon": []}], "each privacy mask"),
        ([{"rect": [0, 0, 1, 1]}] * (MAX_MASKS + 1), "at most"),
        ("rect", "must be a list"),
    ],
)
def test_bad_masks_refused(items: object, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        MaskSet.from_config(items)  # type: ignore[arg-type]


def test_value_types_validate() -> None:
    with pytest.raises(ValueError):
        PolygonMask(((0, 0), (1, 1)))
    assert not MaskSet()
    frame = np.ones((4, 4, 3), np.uint8)
    assert MaskSet().apply(frame).min() == 1
