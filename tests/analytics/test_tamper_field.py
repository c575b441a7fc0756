"""Tamper detection in the conditions cameras really meet, on short clips of real footage.

A diffuser over the lens (the faintest of the benchmark: 40 % opaque, blurred by 3 % of the
width, light or dark) is a cover, raised within 3 s of settling and cleared when taken away;
at night (IR mode: grey, flatter, noisier, a bright centre) a cover, a defocus and a turn are
still raised as their kind; the switch between day and IR mode is not a tamper, nor are fog
rolling in, the end of a snowfall or headlights sweeping the view; a camera turned slowly is
raised once it has turned by 10 % of the view.

Serves TAICS TS 5100-2-1 5.1.2.1 (the lens covered or redirected is reported; no false alarms).
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.analytics.tamper_run import run
from vigilcam.analytics import TamperDetector, TamperEvent

pytestmark = pytest.mark.slow


def kinds(events: list[TamperEvent]) -> list[tuple[str, str]]:
    return [(e.kind, e.phase) for e in events]


@pytest.mark.parametrize("seed", [1, 2])  # seed 1: a dark diffuser, seed 2: a light one
@pytest.mark.parametrize("scene", ["bikes/3", "carphone_pristine", "bigbuckbunny"])
def test_faint_diffuser_is_a_cover(dataset, scene, seed) -> None:
    plan = dataset.short_plan(scene, "covered", seed=seed, variant="diffused", level=1.0)
    ep = plan.episodes[0]
    assert ep.params["opacity"] == pytest.approx(0.4) and ep.params["blur"] == pytest.approx(0.03)
    events = run(dataset, plan)
    assert kinds(events) == [("covered", "raised"), ("covered", "cleared")], (
        ep, [(e.kind, e.phase, e.t) for e in events])
    assert events[0].t <= ep.settled + 3.0
    assert ep.end <= events[1].t <= ep.end + 5.0


@pytest.mark.parametrize(("kind", "variant"), [("covered", "full"), ("covered", "translucent"),
                                               ("defocused", "gaussian"), ("moved", "shift")])
def test_tampers_at_night_are_raised_as_their_kind(dataset, kind, variant) -> None:
    plan = dataset.short_plan("bikes/4", kind, seed=1, variant=variant, night="ir")
    events = run(dataset, plan)
    assert kinds(events) == [(kind, "raised"), (kind, "cleared")]
    assert events[0].t <= plan.episodes[0].settled + 3.0


@pytest.mark.parametrize("scene", ["bikes/3", "carphone_pristine", "bigbuckbunny"])
def test_switch_to_ir_mode_and_back_is_not_a_tamper(dataset, scene) -> None:
    plan = dataset.short_plan(scene, None, seed=1, night="switch")
    assert run(dataset, plan) == []


def _still_plan(dataset, scene: str, duration: float):
    return dataset.Plan(scene, duration, 1, noise_sigma=2.0, day_period=3600.0,
                        day_depth=0.0, day_phase=0.0)


@pytest.mark.parametrize("scene", ["carphone_pristine", "bigbuckbunny"])
def test_fog_rolling_in_is_not_a_cover(dataset, scene) -> None:
    # The densest, fastest fog of the benchmark: 75 % in 20 s. The same veil put on in a
    # moment is a cover (the veil tests); over tens of seconds it is weather.
    cond = dataset.cond
    plan = _still_plan(dataset, scene, 120.0)
    fog = cond.Weather.draw("fog", 20.0, 110.0, np.random.default_rng(3))
    fog.params.update(density=0.75, ramp=20.0, value=200.0)
    plan.weather.append(fog)
    assert run(dataset, plan) == []


def test_end_of_a_snowfall_is_not_a_blur(dataset) -> None:
    # Two minutes of snow over a soft scene, stopping within 5 s: its flakes were fine detail
    # the reference saw every frame.
    cond = dataset.cond
    plan = _still_plan(dataset, "bigbuckbunny", 170.0)
    snow = cond.Weather.draw("snow", 20.0, 150.0, np.random.default_rng(4))
    snow.params.update(flakes=500.0, big=4.0, ramp=5.0)
    plan.weather.append(snow)
    assert run(dataset, plan) == []


def test_headlights_sweeping_the_view_are_not_a_tamper(dataset) -> None:
    # A dark street; strong headlights sweep across six times, the exposure answering them.
    cond = dataset.cond
    plan = _still_plan(dataset, "bikes/4", 140.0)
    plan.light_steps.append(dataset.Span(0.0, 140.0, 0.4))
    for i in range(6):
        plan.glares.append(cond.Glare(20.0 + 20 * i, 4.0, 0.25, 380.0, 0.6, bool(i % 2), 0.4))
    assert run(dataset, plan) == []


@pytest.mark.parametrize("scene", ["bikes/3", "carphone_distorted"])
def test_headlights_as_the_lights_go_down_are_not_a_cover(dataset, scene) -> None:
    # The learned view is still catching up after a bright spell; headlights sweep in, the
    # exposure answers them and the lights go down at the same moment: the rest of the view
    # lost three quarters of its contrast, a light added, like a veil (field run
    # carphone_distorted#473). A light shines into part of the view while it went darker:
    # headlights, held back as a blinding light is.
    cond = dataset.cond
    plan = _still_plan(dataset, scene, 50.0)
    plan.light_steps += [dataset.Span(0.0, 15.0, 1.56), dataset.Span(30.3, 1e9, 0.58)]
    plan.glares.append(cond.Glare(30.0, 2.12, 0.157, 195.0, 0.335, False, 0.47))
    assert kinds(run(dataset, plan)) == []


@pytest.mark.parametrize("scene", ["bikes/3", "carphone_pristine"])
def test_slow_turn_is_raised_once_it_has_turned_a_tenth(dataset, scene) -> None:
    # The faintest slow turn of the benchmark: 12 % of the width over 26 s.
    plan = dataset.short_plan(scene, "moved", seed=1, variant="slow", level=1.0)
    ep = plan.episodes[0]
    assert ep.ramp >= 20.0
    events = run(dataset, plan)
    assert kinds(events) == [("moved", "raised"), ("moved", "cleared")]
    assert events[0].t <= ep.settled + 3.0


@pytest.mark.parametrize("seed", [3, 6])
def test_slow_turn_of_a_small_noisy_view_is_raised_once(dataset, seed) -> None:
    # On the 132-px view the features are often too few to be sure; the key frame they are
    # matched against must not follow the turn (renewed every 10 s it did, and the turn was
    # never raised), and a turn once raised is not raised again while it goes on.
    plan = dataset.short_plan("carphone_distorted", "moved", seed=seed, variant="slow",
                              level=1.0)
    ep = plan.episodes[0]
    events = run(dataset, plan)
    assert kinds(events) == [("moved", "raised"), ("moved", "cleared")], (
        [(e.kind, e.phase, e.t) for e in events])
    assert events[0].t <= ep.settled + 3.0 and events[1].t <= ep.end + 10.0


# --- A small sub-stream (132 px, blocky: carphone_distorted) and night glare. On such a view the
# fine detail is faint against the sensor noise and the flakes, and three things passed for a
# defocus or a cover in a 33-h field run: the sharpness measured at another light level than
# the reference, the end of a snowfall, and headlights blinding the IR picture.


def _sharpness_at_gain(dataset, scene: str, gain: float) -> float:
    from vigilcam.analytics.tamper import TamperConfig
    from vigilcam.analytics.tamper_features import (
        Grid,
        Reference,
        compare,
        measure,
        weighted_quantile,
    )

    frames = [f.gray for f in dataset.render(_still_plan(dataset, scene, 12.0))]
    cfg = TamperConfig()
    h, w = frames[0].shape
    grid = Grid.for_shape(h, w, cfg.coarse_width, cfg.grid_cols, cfg.analysis_width)
    ref = Reference(measure(frames[0], grid))
    for i, f in enumerate(frames[1:50]):
        ref.learn(measure(f, grid), 1.0 / (i + 2))
    values = []
    for f in frames[50:60]:
        dim = np.clip(f.astype(np.float32) * gain, 0, 255).astype(np.uint8)
        c = compare(measure(dim, grid), ref, grid)
        values.append(weighted_quantile(c.sharp, c.weight, 0.5))
    return float(np.median(values))


@pytest.mark.parametrize("scene", ["carphone_distorted", "bikes/4"])
def test_sharpness_is_blind_to_the_light_level(dataset, scene) -> None:
    # The same view at a third of the light has the same sharpness: a reference learned in
    # the dark must not make the light coming back look like a blur.
    same = _sharpness_at_gain(dataset, scene, 1.0)
    dark = _sharpness_at_gain(dataset, scene, 0.3)
    assert dark == pytest.approx(same, abs=0.05), (same, dark)


def test_end_of_a_snowfall_on_a_small_substream_is_not_a_blur(dataset) -> None:
    # Dense fine flakes for 3.5 minutes over the 132-px view, stopping within 5 s: the flakes
    # carried more of the mid band than the scene does.
    cond = dataset.cond
    plan = _still_plan(dataset, "carphone_distorted", 245.0)
    snow = cond.Weather.draw("snow", 10.0, 225.0, np.random.default_rng(5))
    snow.params.update(flakes=500.0, big=1.0, veil=0.056, ramp=5.0)
    plan.weather.append(snow)
    assert kinds(run(dataset, plan)) == []


def test_headlights_blinding_the_ir_picture_are_not_a_cover(dataset) -> None:
    # At night strong headlights wash out most of the view for a second or two (clipped
    # white); a cover stays.
    cond = dataset.cond
    plan = _still_plan(dataset, "bikes/3", 50.0)
    plan.ir = cond.IRLook(level=133.0, contrast=0.78, gamma=0.78, hotspot=0.43, noise=3.06)
    plan.ir_spans.append(dataset.Span(0.0, 1e9, 1.0))
    for i in range(2):
        plan.glares.append(cond.Glare(15.0 + 15 * i, 4.0, 0.233, 372.0, 0.38, bool(i % 2), 0.05))
    assert kinds(run(dataset, plan)) == []


def test_light_cover_that_blinds_the_view_is_still_a_cover(dataset) -> None:
    # A white cover that clips the picture is held back while it could be headlights, then
    # raised: the blinding rule delays it, it does not hide it.
    plan = dataset.short_plan("bikes/3", "covered", seed=1, variant="full")
    ep = plan.episodes[0]
    ep.params.update(value=255.0, texture=20.0, opacity=1.0)
    events = run(dataset, plan)
    assert kinds(events) == [("covered", "raised"), ("covered", "cleared")]
    assert events[0].t <= ep.settled + 6.0


# --- The camera's own switch to IR mode, told by its colour: an IR picture has none. A harsh
# IR look (bright, flat, a strong hotspot, a tone curve) reads like a grey veil over the lens
# to measures of contrast alone; five of the six false alarms of a 57-h field run were such
# switches.

HARSH_IR = dict(level=140.0, contrast=0.5, gamma=0.75, hotspot=0.55, noise=3.5)


@pytest.mark.parametrize("scene", ["bikes/3", "carphone_pristine", "carphone_distorted"])
def test_harsh_switch_to_ir_mode_and_back_is_not_a_tamper(dataset, scene) -> None:
    plan = dataset.short_plan(scene, None, seed=2, night="switch")
    plan.ir = dataset.cond.IRLook(**HARSH_IR)
    plan.noise_sigma = 2.5
    assert [fr.colour for fr in dataset.render(plan, 20.0, 20.2)] == [0.0]
    assert kinds(run(dataset, plan)) == []


@pytest.mark.parametrize(("variant", "params"), [
    ("full", {"value": 220.0, "texture": 5.0}),
    ("translucent", {"value": 200.0, "opacity": 0.88}),
    ("diffused", {"value": 210.0, "opacity": 1.0}),
    ("diffused", {"value": 200.0, "opacity": 0.7}),
])
def test_cover_that_takes_the_colour_away_is_still_a_cover(dataset, variant, params) -> None:
    # A switch to grey that no longer shows the view is not the camera's IR mode: the
    # reference is not relearned on it.
    plan = dataset.short_plan("bikes/4", "covered", seed=1, variant=variant)
    ep = plan.episodes[0]
    ep.params.update(params)
    # every tampered frame without colour at all (a neutral cover, a codec that flattens
    # what chroma is left)
    events = run(dataset, plan, colour_of=lambda _, fr: 0.0 if fr.label else fr.colour)
    assert kinds(events) == [("covered", "raised"), ("covered", "cleared")], (
        [(e.kind, e.phase, e.t) for e in events])
    assert events[0].t <= ep.settled + 3.0


def test_cover_just_after_the_switch_to_ir_mode_is_raised(dataset) -> None:
    # The new levels are learned over the first seconds after a switch while detection goes
    # on: a cover a second after it is still a sudden cover.
    plan = dataset.short_plan("bikes/4", "covered", seed=1, variant="full")
    plan.ir = dataset.cond.IRLook(**HARSH_IR)
    plan.ir_spans.append(dataset.Span(14.0, 1e9, 1.0))
    ep = plan.episodes[0]
    events = run(dataset, plan)
    assert kinds(events) == [("covered", "raised"), ("covered", "cleared")], (
        [(e.kind, e.phase, e.t) for e in events])
    assert events[0].t <= ep.settled + 3.0


def test_picture_flickering_between_grey_and_colour_does_not_hide_a_slow_turn(dataset) -> None:
    # A light played on the camera's day/night sensor flips the picture between grey and
    # colour every second while the camera is turned slowly: were every flip learned as the
    # camera's own switch, the detector would forget the turn each second and never raise it.
    from vigilcam.analytics import TamperDetector

    plan = dataset.short_plan("carphone_pristine", "moved", seed=1, variant="slow", level=1.0)
    ep = plan.episodes[0]
    det = TamperDetector()
    events = run(dataset, plan, detector=det,
                 colour_of=lambda i, fr: 0.0 if (i // 5) % 2 else fr.colour)
    assert det.mode_switches <= plan.duration / det.config.switch_interval_s + 1
    assert kinds(events) == [("moved", "raised"), ("moved", "cleared")], (
        [(e.kind, e.phase, e.t) for e in events])
    assert events[0].t <= ep.settled + 3.0


@pytest.mark.parametrize(("kind", "variant"), [("defocused", "gaussian"), ("covered", "full")])
def test_same_tamper_again_right_after_it_cleared_is_raised_again(dataset, kind, variant) -> None:
    # Once a tamper clears, the levels of the view it cleared on are averaged afresh (the
    # reference was frozen while it was raised). Only clean frames are averaged in: the lens
    # defocused or covered again 2 s after the clear is a new tamper, not the new view.
    plan = dataset.short_plan("bigbuckbunny", kind, seed=1, variant=variant)
    first = plan.episodes[0]
    events = run(dataset, plan)
    cleared = [e.t for e in events if e.phase == "cleared"]
    assert kinds(events) == [(kind, "raised"), (kind, "cleared")] and cleared
    again = dataset.Episode(kind, variant, cleared[0] + 2.0, cleared[0] + 17.0, first.ramp,
                            dict(first.params))
    plan.episodes.append(again)
    plan.duration = again.end + 20.0
    events = run(dataset, plan)
    assert kinds(events) == [(kind, "raised"), (kind, "cleared")] * 2, (
        [(e.kind, e.phase, e.t) for e in events])
    assert events[2].t <= again.settled + 3.0


def test_defocus_after_a_cover_in_which_the_lights_came_on_is_raised(dataset) -> None:
    # The learned view is frozen while a tamper is raised. The lens is covered at dusk, the
    # lights come on (four times as bright) behind the cover, the cover is taken away and the
    # focus ring turned 4 s later: judged against the frozen levels the view looked flooded
    # with light, and the defocus went unraised for as long as the levels took to catch up.
    plan = _still_plan(dataset, "bikes/3", 100.0)
    plan.light_steps.append(dataset.Span(0.0, 40.0, 0.25))
    cover = dataset.short_plan("bikes/3", "covered", seed=1, variant="full").episodes[0]
    cover.start, cover.end = 20.0, 50.0
    defocus = dataset.Episode("defocused", "gaussian", 57.0, 80.0, 0.5, {"strength": 0.014})
    plan.episodes += [cover, defocus]
    events = run(dataset, plan)
    assert kinds(events) == [("covered", "raised"), ("covered", "cleared"),
                             ("defocused", "raised"), ("defocused", "cleared")], (
        [(e.kind, e.phase, e.t) for e in events])
    assert events[2].t <= defocus.settled + 3.0


def test_defocus_under_a_light_shining_into_the_view_is_raised(dataset) -> None:
    # A lamp shining into part of the view holds a defocus back as headlights do, but only
    # for ``blind_s``: the focus ring turned under it is still raised.
    plan = dataset.short_plan("bikes/3", "defocused", seed=1, variant="gaussian")
    ep = plan.episodes[0]
    plan.glares.append(dataset.cond.Glare(ep.start - 2.0, 40.0, 0.15, 200.0, 0.5, True, 0.0))
    events = run(dataset, plan)
    assert kinds(events) == [("defocused", "raised"), ("defocused", "cleared")]
    assert events[0].t <= ep.settled + 4.0 + 1.5


def test_light_flickered_at_the_camera_does_not_keep_a_cover_back(dataset) -> None:
    # An attacker covers most of the lens and flickers a torch at what is left: lit for
    # 0.75 s of every second, the exposure pulling the rest down. Each flash looks like
    # headlights coming; the code before held the cover back afresh at each one and never
    # raised it. Lights hold tampers back for ``blind_s`` in all, however often they come.
    plan = dataset.short_plan("bikes/3", "covered", seed=1, variant="partial")
    ep = plan.episodes[0]
    events: list = []
    det = TamperDetector()
    for fr in dataset.render(plan):
        gray = fr.gray
        if ep.start - 1.0 <= fr.t < ep.end and fr.t % 1.0 < 0.75:
            h, w = gray.shape
            yy, xx = np.mgrid[0:h, 0:w]
            torch = 230.0 * np.exp(-((xx - 0.8 * w) ** 2 + (yy - 0.25 * h) ** 2)
                                   / (2 * (0.12 * w) ** 2))
            gray = np.clip(gray * 0.55 + torch, 0, 255).astype(np.uint8)
        events.extend(det.update(gray, fr.t, fr.colour))
    assert kinds(events) == [("covered", "raised"), ("covered", "cleared")]
    assert events[0].t <= ep.settled + 4.0 + 1.5


def test_a_lamp_in_the_view_does_not_use_up_the_hold_for_headlights(dataset) -> None:
    # At night a lamp crosses part of the view for 20 s (a light shining in, nothing looking
    # covered or blurred), then headlights wash most of the view out twice. The hold lights
    # get is spent only while it holds back a view that looks tampered: the lamp leaves it
    # whole for the headlights.
    cond = dataset.cond
    plan = _still_plan(dataset, "bikes/3", 60.0)
    plan.ir = cond.IRLook(level=133.0, contrast=0.78, gamma=0.78, hotspot=0.43, noise=3.06)
    plan.ir_spans.append(dataset.Span(0.0, 1e9, 1.0))
    plan.glares.append(cond.Glare(5.0, 20.0, 0.12, 120.0, 0.7, True, 0.0))
    for i in range(2):
        plan.glares.append(cond.Glare(30.0 + 15 * i, 4.0, 0.233, 372.0, 0.38, bool(i % 2), 0.05))
    assert kinds(run(dataset, plan)) == []


@pytest.mark.parametrize("scene", ["bikes/3", "carphone_distorted"])
def test_faint_blur_after_the_lights_went_down_is_raised(dataset, scene) -> None:
    # The faintest Gaussian blur of the benchmark, 15 s after the lights went down to 0.6:
    # the view's clarity fell with the light, and is judged at today's light against the
    # sharpness (a faint blur keeps its coarse contrast; the end of a snowfall does not).
    plan = _still_plan(dataset, scene, 60.0)
    plan.light_steps.append(dataset.Span(20.0, 1e9, 0.6))
    ep = dataset.Episode("defocused", "gaussian", 35.0, 55.0, 0.5, {"strength": 0.007})
    plan.episodes.append(ep)
    events = run(dataset, plan)
    assert kinds(events) == [("defocused", "raised"), ("defocused", "cleared")]
    assert events[0].t <= ep.settled + 3.0


# --- Slices of the benchmark's own field streams (``make_plan`` with field conditions) in
# which the code before raised a tamper that was not one.

def _field_plan(dataset, scene: str, seed: int):
    return dataset.make_plan(scene, seed, 1.8, 1, field_conditions=True)


def _field_slice(dataset, scene: str, seed: int, start: float, end: float,
                 detector: TamperDetector | None = None):
    return run(dataset, _field_plan(dataset, scene, seed), start=start, end=end,
               detector=detector)


def test_headlights_filling_the_ir_picture_are_not_a_turn(dataset) -> None:
    # bigbuckbunny#653 at night, 35 s after the switch to IR mode: a car's headlights fill
    # most of the small view for a second or two, the whole picture 1.7 times brighter and
    # washed out, and its cells stop matching. Cells far brighter than they were say nothing
    # about where the camera looks, even when they are most of the view.
    assert kinds(_field_slice(dataset, "bigbuckbunny", 653, 4440.0, 4530.0)) == []


def test_sway_just_after_the_switch_to_ir_mode_in_the_rain_is_not_a_turn(dataset) -> None:
    # bigbuckbunny#654: the camera sways on its mount (the clip's slow dolly, about 5 % of
    # the width out and back every 10 s). Four seconds after the switch to IR mode in the
    # rain, the far end of a sway decorrelates the cells as a turn does; the features,
    # matched against a key frame taken since the switch, find the view within a sway.
    assert kinds(_field_slice(dataset, "bigbuckbunny", 654, 3046.0, 3100.0)) == []


def test_camera_started_at_one_end_of_a_sway_does_not_see_the_other_end_as_a_turn(
    dataset,
) -> None:
    # The same swaying camera started on a dark, rainy evening: the view learned in the first
    # seconds is one end of the sway, and the code before raised a turn at every other end
    # for the first minute and more (six times in this minute).
    assert kinds(_field_slice(dataset, "bigbuckbunny", 654, 3010.0, 3076.0)) == []


def test_headlights_glowing_into_a_dark_view_are_not_a_blur(dataset) -> None:
    # bigbuckbunny#691 at night, just after the lights went down: headlights sweep in, the
    # exposure answering them, and their broad glow takes the mid band's share of the energy
    # for two seconds as a blur would. A light shining into part of the view while it went
    # darker holds a defocus back as it holds a cover.
    assert kinds(_field_slice(dataset, "bigbuckbunny", 691, 6320.0, 6360.0)) == []


def test_headlight_glow_in_the_fog_at_night_is_not_a_blur(dataset) -> None:
    # bigbuckbunny#692 in IR mode and fog: headlights brighten the view by a fifth and their
    # glow takes its fine detail for a second; the view did not go darker (no exposure
    # answering them), so only a light shining in tells it from a turned focus ring.
    assert kinds(_field_slice(dataset, "bigbuckbunny", 692, 3885.0, 3950.0)) == []


def test_end_of_a_snowfall_in_fog_at_night_is_not_a_blur(dataset) -> None:
    # carphone_pristine#574 in IR mode: seven minutes of snow, fog rolling in under it. When
    # the flakes stop, their share of the fine detail goes and the view reads 0.88 sharp; but
    # their coarse energy, learned at full speed, goes too and leaves the clarity at half. A
    # focus ring turned that little keeps the coarse contrast.
    assert kinds(_field_slice(dataset, "carphone_pristine", 574, 5780.0, 5910.0)) == []


# carphone_distorted#791 by day, 4 minutes after IR mode: a Gaussian blur near the strongest
# of the benchmark. The small, blocky view keeps little fine detail, so the mid band's share
# reads 0.8 sharp, but the band ratio (0.73) and the clarity (0.42) show the blur. The code
# before took it for the end of a snowfall (a faint blur that lost its coarse contrast) and
# never raised it; a faint blur also keeps its band ratio.
STRONG_GAUSSIAN = ("carphone_distorted", 791, 760.0)
# carphone_pristine#731 by day: a faint disk blur (radius 1.8 px on the 176-px view) takes
# the mid band's share to 0.87 and the band ratio to 0.90-0.93, just over the band line of
# 0.9, in the light the view was learned in (40.9 against 41.9). There the band ratio is
# trusted up to 0.95; the code before never raised it.
FAINT_DISK_IN_LEARNED_LIGHT = ("carphone_pristine", 731, 1080.0)


@pytest.mark.parametrize("scene,seed,end", [STRONG_GAUSSIAN, FAINT_DISK_IN_LEARNED_LIGHT],
                         ids=["strong-gaussian", "faint-disk-in-learned-light"])
def test_blur_on_a_small_substream_is_raised(dataset, scene, seed, end) -> None:
    # Replayed from the stream's start, as the benchmark ran it.
    plan = _field_plan(dataset, scene, seed)
    ep = next(e for e in plan.episodes if e.kind == "defocused" and e.start < end)
    events = run(dataset, plan, start=0.0, end=end)
    assert kinds(events) == [("defocused", "raised"), ("defocused", "cleared")]
    assert events[0].t <= ep.settled + 3.0


# bikes/3#536 in IR mode: a Gaussian blur near the strongest of the benchmark (sigma 1.9 % of
# the width) leaves the view half its coarse contrast (median deviation ratio 0.45-0.52) and a
# band ratio of 0.33, with the brightness unchanged. The code before counted the cells left
# under half their deviation as behind a diffuser (57 % of the view) and raised a cover; a
# diffuser's veil leaves them under 0.4.
STRONG_NIGHT_BLUR = ("bikes/3", 536, "defocused", "gaussian")
# bikes/4#678 in IR mode: a light cover (85 % opaque, its own texture) makes the view 1.45
# times brighter and leaves half its cells 0.4-0.5 of their deviation, blurred-looking in the
# noise. Counted behind a diffuser only below 0.4, as in a view in its own light, too few
# cells were covered and the view was raised as a defocus; a focus ring adds no light.
BRIGHT_NIGHT_COVER = ("bikes/4", 678, "covered", "translucent")


@pytest.mark.parametrize("scene,seed,kind,variant", [STRONG_NIGHT_BLUR, BRIGHT_NIGHT_COVER],
                         ids=["strong-blur-is-a-defocus", "bright-cover-is-a-cover"])
def test_night_tamper_by_the_diffuser_line_is_raised_as_its_kind(dataset, scene, seed, kind,
                                                                  variant) -> None:
    # Replayed from four minutes before the tamper: the view learned over them.
    plan = _field_plan(dataset, scene, seed)
    ep = next(e for e in plan.episodes if e.condition == "night" and e.variant == variant)
    events = run(dataset, plan, start=ep.start - 240.0, end=ep.end + 5.0)
    assert kinds(events) == [(kind, "raised"), (kind, "cleared")]
    assert events[0].t <= ep.settled + 3.0


def test_lighting_step_in_a_dark_view_is_not_a_blur(dataset) -> None:
    # bigbuckbunny#974 (held out) at 2959 s: a lighting step in a dark view (brightness 49
    # against the learned 40.5) reads 0.88 sharp with a band ratio of 0.94. Away from the
    # learned light the band line stays at 0.9: a line of 0.95 everywhere raised this.
    plan = _field_plan(dataset, "bigbuckbunny", 974)
    events = run(dataset, plan, start=0.0, end=2975.0)
    assert [e for e in events if e.kind == "defocused"] == []
    raised = [e.t for e in events if e.phase == "raised"]
    assert all(any(ep.start <= t <= ep.end for ep in plan.episodes) for t in raised), raised


def test_lights_going_down_in_fog_are_not_a_cover(dataset) -> None:
    # carphone_distorted#831 by day: fog has rolled in for a minute (clarity 0.57) when the
    # lights go down to 0.56. The clarity halves at once with the light, which read as the
    # sudden onset of a cover; taken at the light of its moment it hardly moved (0.50 to
    # 0.43). A cover takes the contrast, not the light.
    assert kinds(_field_slice(dataset, "carphone_distorted", 831, 5900.0, 6100.0)) == []


@pytest.mark.parametrize("value", [20.0, 220.0])
def test_translucent_cover_in_fog_is_raised(dataset, value) -> None:
    # A cover that lets the picture show through (75 % opaque, dark or light), put on once fog
    # has taken half the view's contrast: taken at the light of its moment, the clarity still
    # drops at once (by 1.5 for the dark one), since the cover adds its own light. (A
    # perfectly black veil is dimmed lights, in fog as in the docstring of ``summarise``.)
    cond = dataset.cond
    plan = _still_plan(dataset, "carphone_pristine", 110.0)
    fog = cond.Weather.draw("fog", 10.0, 110.0, np.random.default_rng(3))
    fog.params.update(density=0.5, ramp=20.0, value=200.0)
    plan.weather.append(fog)
    ep = dataset.Episode("covered", "translucent", 70.0, 95.0, 0.5,
                         {"value": value, "texture": 10.0, "opacity": 0.75, "area": 1.0,
                          "side": 0.0})
    plan.episodes.append(ep)
    events = run(dataset, plan)
    assert kinds(events) == [("covered", "raised"), ("covered", "cleared")]
    assert events[0].t <= ep.settled + 3.0


def test_zoom_in_ir_mode_is_raised(dataset) -> None:
    # carphone_pristine#693 at night, 90 s after the switch to IR mode: the view zoomed in by
    # 1.36. In IR noise the stable cells' median correlation fell at once from a usual 0.97
    # to 0.4-0.5, with 35-45 % of their weight decorrelated: under both of the cells' lines,
    # and the features find too few corners to agree on the change. A view that matched as
    # usual and then, at once and for 2 s in settled light, far worse has changed. The code
    # before never raised it.
    plan = _field_plan(dataset, "carphone_pristine", 693)
    ep = next(e for e in plan.episodes if e.variant == "zoom" and 3300.0 < e.start < 3420.0)
    events = run(dataset, plan, start=3200.0, end=3420.0)
    assert kinds(events) == [("moved", "raised"), ("moved", "cleared")]
    assert events[0].t <= ep.settled + 3.5


# bikes/4#551 leaves IR mode at 5003.6 s in dense fog (its colour then 0.26 of a grey level).
FOG_SWITCH = ("bikes/4", 551, 4790.0, 5010.0)


def test_switch_from_ir_mode_in_dense_fog_is_not_a_turn(dataset) -> None:
    # In IR mode the fog is lit by the lamp's bright centre; by day it is flat. The cells,
    # filled with that shading, stop matching (0.05) though the view is the same: its
    # structure still correlates (0.4). The code before raised a turn 2 s after the switch,
    # and the learned view, frozen behind it, hid a real blur later in the stream.
    det = TamperDetector()
    assert kinds(_field_slice(dataset, *FOG_SWITCH, detector=det)) == []
    assert det.mode_switches == 1


@pytest.mark.parametrize("dx", [0.1, 0.2])
def test_camera_turned_at_the_switch_from_ir_mode_in_dense_fog_is_raised(dataset, dx) -> None:
    # Guard: the structure of a view turned by a tenth of its width or more does not match,
    # so a turn timed with that switch is not learned as the camera's own.
    scene, seed, start, end = FOG_SWITCH
    plan = _field_plan(dataset, scene, seed)
    plan.episodes.append(dataset.Episode("moved", "shift", 5003.2, 5100.0, 0.4,
                                         {"angle": 0.0, "zoom": 1.0, "dx": dx, "dy": 0.0}))
    det = TamperDetector()
    events = run(dataset, plan, start=start, end=end, detector=det)
    assert kinds(events) == [("moved", "raised")], [(e.kind, e.phase, e.t) for e in events]
    assert events[0].t <= 5003.6 + 3.0
    assert det.mode_switches == 0


def test_switch_to_ir_mode_as_headlights_sweep_in_is_not_a_turn(dataset) -> None:
    # bikes/4#634: headlights sweep in (a third of the view lit) at the instant of the switch
    # to IR mode at dusk; the cells do not match then. Their glow learned as the view's new
    # shading read as a turn once they had gone (a first version of the structure rule).
    assert kinds(_field_slice(dataset, "bikes/4", 634, 300.0, 700.0)) == []
