"""Zones are resolution independent polygons."""

from __future__ import annotations

from vigilcam.analytics import Zone


def test_rect_mask_scales_with_frame_size() -> None:
    z = Zone.rect("left", 0.0, 0.0, 0.5, 1.0)
    for h, w in [(90, 160), (180, 320), (360, 640)]:
        m = z.mask(h, w)
        assert m.shape == (h, w)
        assert abs(m.mean() - 0.5) < 0.02
        assert m[:, 0].all() and not m[:, -1].any()


def test_polygon_triangle_covers_half_its_box() -> None:
    z = Zone.polygon("tri", [[0, 0], [1, 0], [0, 1]])
    assert abs(z.mask(200, 200).mean() - 0.5) < 0.02
