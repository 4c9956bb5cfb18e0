"""One knob vocabulary: scenes, recommendations, report and CLI name the same knobs the same way."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from gapviz import stats, vocabulary
from gapviz._errors import GapvizError
from gapviz.recommend import CALIBRATED_KNOBS, KNOBS, OWN_STATISTIC, RULES, Recommendation, recommend
from gapviz.recommend._rules import REVERSE_CALIBRATED, REVERSE_UNITS, UNITS
from gapviz.scenes import PRESETS, render_scene
from gapviz.scenes._post import FinishedImage
from gapviz.stats import paired_stat

#: a value of each camera knob that visibly changes an image
_ACTIVE = {"camera_focus": 2.0, "resolution": 1.0, "exposure": 0.5, "color": 0.3, "sensor_noise": 6.0,
           "compression": 30}  # fmt: skip


def test_scenes_render_exactly_the_vocabulary_knobs():
    scene = render_scene(0, preset="dataset1", size=64)
    assert list(scene.settings) == list(vocabulary.KNOBS)
    for preset in PRESETS.values():
        assert list(preset) == list(vocabulary.KNOBS)
    assert KNOBS == tuple(vocabulary.KNOBS)  # the recommendations' knob order is the vocabulary's


def test_finished_image_takes_exactly_the_camera_knobs():
    image = np.asarray(render_scene(1, preset="dataset1", size=64).image)
    fin = FinishedImage(image, np.zeros(image.shape[:2], bool), seed=0)
    for knob in vocabulary.CAMERA_KNOBS:
        fin.apply({knob: _ACTIVE[knob]})
    for knob in set(vocabulary.KNOBS) - set(vocabulary.CAMERA_KNOBS):
        with pytest.raises(GapvizError, match="do not act on a finished image"):
            fin.apply({knob: vocabulary.KNOBS[knob].neutral or "plain"})


@pytest.mark.parametrize("knob", vocabulary.CAMERA_KNOBS)
def test_neutral_value_leaves_the_image_unchanged(knob):
    scene = render_scene(2, preset="dataset1", size=64)
    image, mask = np.asarray(scene.image), np.asarray(scene.mask)
    neutral = vocabulary.KNOBS[knob].neutral
    assert np.array_equal(FinishedImage(image, mask, seed=3).apply({knob: neutral}), image)
    # on top of another knob too: the neutral value adds nothing
    other = "exposure" if knob != "exposure" else "color"
    base = FinishedImage(image, mask, seed=3).apply({other: _ACTIVE[other]})
    assert np.array_equal(
        FinishedImage(image, mask, seed=3).apply({other: _ACTIVE[other], knob: neutral}), base
    )
    assert not np.array_equal(FinishedImage(image, mask, seed=3).apply({knob: _ACTIVE[knob]}), image)


def test_the_render_like_preset_sits_at_every_neutral_value():
    for name, knob in vocabulary.KNOBS.items():
        if knob.neutral is not None:
            assert PRESETS["dataset1"][name] == knob.neutral, name
            assert knob.validate(knob.neutral) == knob.neutral


def test_every_rule_names_a_vocabulary_knob_and_measured_statistics():
    assert sorted(rule.knob for rule in RULES) == sorted(vocabulary.KNOBS)
    image_keys = set(stats.REGISTRY.outputs(kind="image"))
    for rule in RULES:
        assert rule.primary in image_keys, rule
        for statistic, scope, _ in rule.support:
            assert scope is not None or statistic in image_keys, (rule.knob, statistic)
    primary = {rule.knob: rule.primary for rule in RULES}
    assert set(CALIBRATED_KNOBS) <= set(vocabulary.CAMERA_KNOBS)
    assert OWN_STATISTIC == {knob: primary[knob] for knob in CALIBRATED_KNOBS}
    assert set(vocabulary.COUPLED) <= set(CALIBRATED_KNOBS)
    # every calibrated amount has a unit; every amount of the other direction too
    assert set(UNITS) == set(CALIBRATED_KNOBS) and set(REVERSE_UNITS) == set(REVERSE_CALIBRATED)


def test_knob_validation_names_the_knob_and_the_valid_values():
    with pytest.raises(GapvizError, match=r"knob 'compression' got 101; expected an integer in \[0, 100\]"):
        vocabulary.KNOBS["compression"].validate(101)
    assert vocabulary.KNOBS["texture"].validate(" Rusty ") == "rusty"


def test_severities_rank_in_one_order():
    assert vocabulary.SEVERITIES == ("high", "medium", "low")
    assert sorted(["low", "medium", "high", "low"], key=vocabulary.severity_rank) == [
        "high",
        "medium",
        "low",
        "low",
    ]
    with pytest.raises(
        GapvizError, match="Argument 'severity' must be one of high, medium, low but got 'urgent'"
    ):
        vocabulary.severity_rank("urgent")


def test_warmth_is_red_minus_blue_of_each_image():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    out = stats.image_stats(image, np.zeros((32, 32), bool), canny=(0.1, 0.2, 1.0), stats=["rgb_relative"])
    assert out["warmth"] == out["rgb_relative.r"] - out["rgb_relative.b"]


def _colour_gap(seed: int, n_boot: int):
    rng = np.random.default_rng(3)
    r = rng.normal(1.05, 0.01, 24)
    b = rng.normal(0.95, 0.01, 24)
    synth_r, synth_b = (
        r - rng.normal(0.04, 0.01, 24),
        b + rng.normal(0.04, 0.01, 24),
    )  # renders cooler than photos
    values = {
        "rgb_relative.r": (r, synth_r),
        "rgb_relative.b": (b, synth_b),
        "warmth": (r - b, synth_r - synth_b),
    }
    image_stats = {
        key: paired_stat(real, synth, seed=seed, n_boot=n_boot) for key, (real, synth) in values.items()
    }
    return image_stats, values


def test_the_colour_recommendation_takes_the_callers_warmth_statistic():
    """The colour rule reads the warmth Stat it is given (the caller's seed and resamples), as every rule does."""
    image_stats, values = _colour_gap(seed=7, n_boot=200)
    recs, _ = recommend(image_stats=image_stats, pair_values=values)
    (rec,) = [r for r in recs if r.knob == "color"]
    assert (
        rec.ci95 == image_stats["warmth"]["ci95"] and rec.effect_size == image_stats["warmth"]["effect_size"]
    )
    assert paired_stat(*values["warmth"], seed=0, n_boot=1000)["ci95"] != rec.ci95
    assert [e["statistic"] for e in rec.evidence] == ["warmth", "rgb_relative.r", "rgb_relative.b"]
    assert rec.direction == "add" and "warm (orange)" in rec.action


def test_recommendations_are_frozen_mappings_of_their_json():
    image_stats, values = _colour_gap(seed=0, n_boot=200)
    (rec,) = recommend(image_stats=image_stats, pair_values=values)[0]
    assert isinstance(rec, Recommendation)
    assert dict(rec) == rec.to_dict() and rec["knob"] == rec.knob == "color"
    assert "impact" not in rec and rec.get("impact") is None and "severity_rank" not in rec.to_dict()
    item = json.loads(json.dumps(rec.to_dict()))
    assert Recommendation.from_dict(item) == rec == item
    ranked = rec.replace(severity_rank=1, renderer_settings={"engine": "blender"})
    assert list(ranked)[-2:] == ["severity_rank", "renderer_settings"] and "severity_rank" not in rec
    with pytest.raises(dataclasses.FrozenInstanceError):
        rec.severity = "low"
    with pytest.raises(TypeError):
        rec["severity"] = "low"
    with pytest.raises(GapvizError, match=r"Argument 'item' must have only the keys .* but got \['fog'\]"):
        Recommendation.from_dict({**item, "fog": 1})


def test_gap_result_holds_recommendation_objects_and_writes_the_same_json():
    from fake_result import make_fake_result

    result = make_fake_result(3)
    assert result.recommendations and all(isinstance(r, Recommendation) for r in result.recommendations)
    as_dicts = dataclasses.replace(result, recommendations=tuple(r.to_dict() for r in result.recommendations))
    assert as_dicts == result and as_dicts.to_json() == result.to_json()
    data = json.loads(result.to_json())
    assert [list(item) for item in data["recommendations"]] == [list(r) for r in result.recommendations]


def test_cli_help_lists_every_knob_with_its_meaning(capsys):
    from gapviz.cli import main

    with pytest.raises(SystemExit):
        main(["scenes", "--help"])
    text = capsys.readouterr().out
    for knob in vocabulary.KNOBS.values():
        assert f"{knob.name}  " in text and knob.meaning in text


def test_a_colour_fit_needs_the_real_partners_warmth():
    from gapviz.recommend import CalibrationSample, calibrate

    image = np.full((16, 16, 3), 128, np.uint8)
    mask = np.zeros((16, 16), bool)
    channels = {"rgb_relative.r": np.ones(1), "rgb_relative.b": np.ones(1)}
    sample = CalibrationSample([image], [mask], channels)
    with pytest.raises(GapvizError, match="Argument 'sample' must hold .* but lacks warmth"):
        calibrate(sample, ["color"], measure=lambda *a: {}, prepare=FinishedImage)
