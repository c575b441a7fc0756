"""Motion zones and sensitivity: validated, saved, applied live, and they decide what alarms.

docs/detection.md 'Motion zones and sensitivity'; IoT-1005-1 5.5.2.1 (bad input gets a clear
422, nothing half-saved); TAICS 5.2.8.1 (every change is logged with who and from where).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.support import Api, admin_ready, read_log
from vigilcam import motion_settings
from vigilcam.app import Device
from vigilcam.detection import DetectionService

LEFT = {"name": "door", "rect": [0.0, 0.0, 0.5, 1.0]}


def test_round_trip_and_defaults(tmp_path) -> None:
    assert motion_settings.load(tmp_path) == motion_settings.MotionSettings()
    tri = {"name": "path", "polygon": [[0.5, 0.5], [1, 0.5], [1, 1]]}
    saved = motion_settings.validate({"sensitivity": 0.8, "zones": [LEFT, tri]})
    motion_settings.save(tmp_path, saved)
    again = motion_settings.load(tmp_path)
    assert again == saved
    assert again.as_json()["zones"] == [
        {"name": "door", "rect": [0.0, 0.0, 0.5, 1.0]},
        {"name": "path", "polygon": [[0.5, 0.5], [1.0, 0.5], [1.0, 1.0]]}]
    assert (tmp_path / "motion.json").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(("raw", "why"), [
    ({"sensitivity": 1.5}, "sensitivity"),
    ({"sensitivity": True}, "sensitivity"),
    ({"sensitivity": float("nan")}, "sensitivity"),
    ({"zones": [{"name": "a", "rect": [0.5, 0, 0.2, 1]}]}, "x0 < x1"),
    ({"zones": [{"name": "a", "rect": [0, 0, 1.2, 1]}]}, "0..1"),
    ({"zones": [{"name": "a", "polygon": [[0, 0], [1, 1]]}]}, "3.."),
    ({"zones": [{"name": "a"}]}, "either rect"),
    ({"zones": [LEFT, LEFT]}, "unique"),
    ({"zones": [LEFT] * 17}, "at most 16"),
    ({"zones": [{"name": "a", "rect": [0, 0, 1, 1], "colour": "red"}]}, "unknown zone"),
    ({"threshold": 3}, "unknown motion"),
    ([1, 2], "an object"),
])
def test_bad_settings_are_refused_with_a_reason(raw, why) -> None:
    with pytest.raises(ValueError, match=why):
        motion_settings.validate(raw)


def test_corrupt_file_is_named(tmp_path) -> None:
    (tmp_path / "motion.json").write_text('{"sensitivity": 7}')
    with pytest.raises(motion_settings.MotionSettingsError, match="motion.json"):
        motion_settings.load(tmp_path)


def _frames(x0: int, count: int, start_t: float):
    """A textured still scene with a bright square walking down a column starting at x0."""
    rng = np.random.default_rng(3)
    base = rng.integers(60, 120, (180, 320), dtype=np.uint8)
    for i in range(count):
        img = base.copy()
        y = 10 + (i * 7) % 120
        img[y:y + 40, x0:x0 + 40] = 250
        yield img, start_t + i * 0.2


def _motion_events(device: Device) -> list[dict]:
    return [e for e in read_log(device.paths.root) if e["action"] == "motion.started"]


def test_zones_decide_what_counts_and_changes_apply_live(device: Device) -> None:
    service = DetectionService(device, pipeline=None,  # type: ignore[arg-type]
                               motion_settings=motion_settings.validate({"zones": [LEFT]}))
    t = 0.0
    for img, t in _frames(220, 40, 0.0):  # motion in the right half only
        service.analyse(img, t)
    assert _motion_events(device) == []
    for img, t in _frames(40, 15, t + 5):  # now in the door zone
        service.analyse(img, t)
    events = _motion_events(device)
    assert len(events) == 1 and events[0]["details"]["zones"] == ["door"]
    service.configure_motion(motion_settings.MotionSettings())  # whole picture
    for img, t in _frames(220, 15, t + 10):
        service.analyse(img, t)
    assert len(_motion_events(device)) == 2
    assert service.status()["motion_zones"] == []


def test_api_sets_validates_and_logs(api: Api, provisioned) -> None:
    paths, secret = provisioned
    admin_ready(api, secret)
    assert api.get("/api/v1/motion").json() == {"sensitivity": 0.5, "zones": [],
                                                "applied": False}
    body = {"sensitivity": 0.75, "zones": [LEFT]}
    r = api.send("PUT", "/api/v1/motion", body)
    assert r.status_code == 200, r.text
    assert r.json() == {**body, "applied": False}
    assert json.loads((paths.root / "motion.json").read_text())["zones"] == [LEFT]
    for bad in ({"sensitivity": 2, "zones": []},
                {"sensitivity": 0.5, "zones": [{"name": "x", "rect": [0, 0, 0.5]}]},
                {"sensitivity": 0.5, "zones": [LEFT, LEFT]},
                {"sensitivity": 0.5, "zones": [{"name": "x", "rect": [0.9, 0, 0.1, 1]}]},
                {"sensitivity": 0.5, "zones": [], "extra": 1}):
        r = api.send("PUT", "/api/v1/motion", bad)
        assert r.status_code == 422, (bad, r.text)
        assert "error" in r.json() and "Traceback" not in r.text
    assert api.get("/api/v1/motion").json()["zones"] == [LEFT]  # nothing half-saved
    changed = [e for e in read_log(paths.root) if e["action"] == "config.motion_changed"]
    assert len(changed) == 1
    assert changed[0]["user"] == "admin" and changed[0]["details"]["zones"] == ["door"]


def test_unreadable_file_at_start_is_logged_and_the_whole_picture_watched(device: Device) -> None:
    from vigilcam.runtime import load_motion_settings

    (device.paths.root / "motion.json").write_text("{not json")
    settings = load_motion_settings(device)
    assert settings == motion_settings.MotionSettings()
    (event,) = [e for e in read_log(device.paths.root)
                if e["action"] == "config.motion_unreadable"]
    assert event["result"] == "failure" and "motion.json" in event["details"]["reason"]
