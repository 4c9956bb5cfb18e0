"""Findings that hold in every mask configuration: known answers on built-in scene pairs.

The renderer knows its masks, the photos have none: a given mask against an estimated one differs
by the estimator's error, which reads as object/background gaps that do not exist. By default
`compare` estimates the masks of both sides then (the given ones measure the estimator). These
tests run the shipped demo model on small built-in scenes; they rely only on known directions,
never on the model's exact numbers.
"""

from __future__ import annotations

import numpy as np
import pytest

import gapviz
from gapviz.inputs import estimate_mask
from gapviz.inputs._provenance import MASKED_STATISTICS, boundary_error, mask_iou
from gapviz.report._provenance import provenance_rows
from gapviz.scenes import render_pair, render_scene

SIZE = 96
N = 16
BASE = "dataset1"
CONFIGS = ("none", "synth", "real", "both")


@pytest.fixture(scope="module")
def model():
    return gapviz.demo_model()


def _stack(scenes):
    return np.stack([s.image for s in scenes]), np.stack([s.mask for s in scenes])


def _masks(config, real_masks, synth_masks):
    return {"none": None, "synth": {"synth": synth_masks}, "real": {"real": real_masks},
            "both": {"real": real_masks, "synth": synth_masks}}[config]  # fmt: skip


def _compare(model, real, synth, masks, **kw):
    return gapviz.compare(model, real, synth, masks=masks, progress=False, n_boot=300, examples=0, **kw)


def _above_low(result):
    return [(r["knob"], r["severity"], r["direction"]) for r in result.recommendations if r["severity"] != "low"]


@pytest.fixture(scope="module")
def null_sets():
    """Both sides from the same settings, different scenes (seeds 0.. vs 1000..): no gap exists."""
    real = _stack([render_scene(i, preset=BASE, size=SIZE) for i in range(N)])
    synth = _stack([render_scene(1000 + i, preset=BASE, size=SIZE) for i in range(N)])
    return real, synth


@pytest.fixture(scope="module")
def null_results(model, null_sets):
    (real, rm), (synth, sm) = null_sets
    return {c: _compare(model, real, synth, _masks(c, rm, sm)) for c in CONFIGS}


@pytest.mark.parametrize("config", CONFIGS)
def test_null_case_raises_nothing_above_low_in_every_mask_configuration(null_results, config):
    result = null_results[config]
    assert _above_low(result) == []
    prov = result.data["mask_provenance"]
    assert prov["mode"] == "match" and prov["warning"] is None
    # like with like: one source on both sides, recorded for every masked statistic
    expected = "given" if config == "both" else "estimated"
    assert prov["used"] == {"real": expected, "synth": expected}
    assert prov["statistics"]["image"]["illumination_cv"] == {"real": expected, "synth": expected}
    assert set(prov["statistics"]["layers"]) == set(MASKED_STATISTICS["layers"])
    measured = {side for side in ("real", "synth") if prov["estimator_quality"][side]}
    assert measured == ({config} if config in ("real", "synth") else set())


def test_estimator_quality_in_the_result_matches_a_direct_iou(null_results, null_sets):
    _, (synth, sm) = null_sets
    q = null_results["synth"].data["mask_provenance"]["estimator_quality"]["synth"]
    est = [estimate_mask(img) for img in synth]
    ious = [float((e & m).sum() / (e | m).sum()) for e, m in zip(est, sm, strict=True)]
    assert q["n"] == N
    assert q["iou_mean"] == pytest.approx(np.mean(ious), abs=1e-12)
    assert q["iou_p10"] == pytest.approx(np.percentile(ious, 10), abs=1e-12)
    assert q["boundary_px_mean"] == pytest.approx(np.mean([boundary_error(e, m) for e, m in zip(est, sm, strict=True)]))
    rows = dict(provenance_rows(null_results["synth"].data))
    assert f"{np.mean(ious):.2f}" in rows["mask estimator vs given masks, synthetic"]


def test_matched_provenance_makes_identical_images_read_identical(model):
    """Identical images on both sides, true masks on the renders only: every masked statistic must
    agree exactly by default; used as given, the mask difference alone moves them."""
    scenes = [render_pair(i, BASE, BASE, size=SIZE) for i in range(8)]
    images = np.stack([s[0].image for s in scenes])
    masks = {"synth": np.stack([s[1].mask for s in scenes])}
    matched = _compare(model, images, images.copy(), masks, recommendations=False)
    given = _compare(model, images, images.copy(), masks, recommendations=False, mask_provenance="as_given")
    moved = 0
    for key in MASKED_STATISTICS["image"]:
        m, g = matched.image_stats[key], given.image_stats[key]
        assert m["diff"] == 0.0, key
        moved += g["diff"] not in (0.0, None)
    assert moved >= len(MASKED_STATISTICS["image"]) - 2
    assert matched.data["mask_provenance"]["warning"] is None
    warning = given.data["mask_provenance"]["warning"]
    assert warning and "can create object/background gaps" in warning
    assert ("warning", warning) in provenance_rows(given.data)
    assert given.parameters["mask_provenance"] == "as_given"


def test_mask_provenance_is_checked(null_sets, model):
    (real, _), (synth, _) = null_sets
    with pytest.raises(gapviz.GapvizError, match="mask_provenance"):
        _compare(model, real[:2], synth[:2], None, mask_provenance="given")


def test_iou_and_boundary_error_known_answers():
    a = np.zeros((40, 40), bool)
    a[10:30, 10:30] = True
    b = np.roll(a, 2, axis=1)
    assert mask_iou(a, b) == pytest.approx(360 / 440)
    assert boundary_error(a, a) == 0.0
    assert 0.9 < boundary_error(a, b) < 2.0  # the outlines are 2 px apart on two sides, 0 px on the other two


INJECTED = {"camera_focus": 3.0, "resolution": 1.0, "lighting": 0.5, "sensor_noise": 6.0}


def _injected(side, knob):
    over = {knob: INJECTED[knob]}
    pairs = [render_pair(i, BASE, BASE, size=SIZE, **{f"{side}_overrides": over}) for i in range(N)]
    real, synth = _stack([p[0] for p in pairs]), _stack([p[1] for p in pairs])
    return real, synth


@pytest.mark.parametrize("knob", list(INJECTED))
def test_injected_on_the_real_side_ranks_first_with_synth_only_masks(model, knob):
    (real, _), (synth, sm) = _injected("real", knob)
    recs = _compare(model, real, synth, {"synth": sm}).recommendations
    assert recs and recs[0]["knob"] == knob and recs[0]["direction"] == "add", recs[:2]


@pytest.mark.parametrize("knob", list(INJECTED))
def test_injected_on_the_synthetic_side_is_recognised_in_the_reverse_direction(model, knob):
    """Renders softer or noisier than the photos (or less evenly lit): the same knob, the other way."""
    (real, _), (synth, sm) = _injected("synth", knob)
    recs = _compare(model, real, synth, {"synth": sm}).recommendations
    assert recs and recs[0]["knob"] == knob and recs[0]["direction"] == "reverse", recs[:2]
    assert recs[0]["severity"] != "low"
    if knob in ("camera_focus", "resolution", "sensor_noise"):
        # the amount is the photos' blur/noise needed to match: the renders' excess, same order as injected
        assert recs[0]["suggested"] is not None
        assert 0.3 * INJECTED[knob] < recs[0]["suggested"] < 3 * INJECTED[knob], recs[0]
        assert "excess" in recs[0]["unit"]
    # nothing else above low: fewer edges in softer renders is not "use more cluttered backgrounds", and a
    # blurred render background's lower noise estimate is not "add sensor noise"
    assert all(r["severity"] == "low" for r in recs[1:]), recs[1:]
