"""Recommendations: the injected knob ranks first, amounts are calibrated, the null case is quiet."""

from __future__ import annotations

import numpy as np
import pytest

import gapviz
from gapviz.recommend import RULES, CalibrationSample, calibrate, recommend

INJECTED = {
    "camera_focus": ("real.camera_focus=3", 3.0),
    "resolution": ("real.resolution=1.5", 1.5),
    "lighting": ("real.lighting=0.3", None),
    "sensor_noise": ("real.sensor_noise=6", 6.0),
    "compression": ("real.compression=40", None),
}


def _compare(model, folder, **kwargs):
    return gapviz.compare(
        model, folder / "real" / "images", folder / "synth" / "images",
        masks={"real": folder / "real" / "masks", "synth": folder / "synth" / "masks"},
        n_boot=300, progress=False, examples=0, **kwargs,
    )  # fmt: skip


@pytest.mark.parametrize("knob", list(INJECTED), ids=list(INJECTED))
def test_injected_knob_ranks_first(edge_model, scenes, knob):
    override, _ = INJECTED[knob]
    result = _compare(edge_model, scenes(f"inject-{knob}", override))
    recs = result.recommendations
    assert recs, f"no recommendation for an injected {knob}"
    assert recs[0]["knob"] == knob
    assert recs[0]["severity"] == "high"
    lo, hi = recs[0]["ci95"]
    assert lo > 0 or hi < 0
    assert recs[0]["evidence"] and all("statistic" in e for e in recs[0]["evidence"])
    for rec in recs:  # fixed vocabulary and JSON shape
        assert {"knob", "action", "severity", "effect_size", "ci95", "evidence", "suggested", "parameter",
                "unit"} <= rec.keys()  # fmt: skip
        assert rec["knob"] in {r.knob for r in RULES}


@pytest.mark.parametrize("knob", ["camera_focus", "sensor_noise"])
def test_suggested_amount_is_within_35_percent(edge_model, scenes, knob):
    override, injected = INJECTED[knob]
    result = _compare(edge_model, scenes(f"inject-{knob}", override))
    top = result.recommendations[0]
    assert top["parameter"] == knob and top["unit"]
    assert top["suggested"] == pytest.approx(injected, rel=0.35)


def test_null_case_recommends_nothing_above_low(edge_model, tmp_path):
    """Same preset on both sides, different scenes (seeds): nothing above low."""
    from gapviz.scenes import write_scenes

    a, b = tmp_path / "a", tmp_path / "b"
    write_scenes(a, preset="dataset1", n=16, seed=0, size=128)
    write_scenes(b, preset="dataset1", n=16, seed=500, size=128)
    result = gapviz.compare(edge_model, sorted((a / "images").iterdir()), sorted((b / "images").iterdir()),
                            pairing="order", n_boot=300, progress=False, examples=0)  # fmt: skip
    assert all(rec["severity"] == "low" for rec in result.recommendations)


def test_calibration_recovers_a_background_blur():
    """On generated images, a known background blur on the real side is found by calibration."""
    from gapviz import stats
    from gapviz.scenes import render_scene
    from gapviz.scenes._post import FinishedImage, apply_camera_knobs

    scenes = [render_scene(seed, preset="dataset1", size=128) for seed in range(8)]
    synth = [np.asarray(s.image) for s in scenes]
    masks = [np.asarray(s.mask) for s in scenes]
    real = [apply_camera_knobs(img, m, {"camera_focus": 2.0}) for img, m in zip(synth, masks, strict=True)]
    canny = stats.Canny.from_images(np.stack(real))

    def measure(images, ms, names):
        return stats.image_stats_batch(images, ms, canny=canny, stats=stats.REGISTRY.producers(names, kind="image"))

    real_values = measure(real, masks, ["coarse_sharpness.background"])
    sample = CalibrationSample(synth, masks, real_values)
    cal = calibrate(sample, ["camera_focus"], measure=measure, prepare=FinishedImage)
    assert cal.settings["camera_focus"] == pytest.approx(2.0, rel=0.2)
    assert cal.objective_after < 0.05 * cal.objective_before


def test_rules_need_significance_and_respect_direction():
    rng = np.random.default_rng(0)
    real = rng.normal(0.5, 0.05, 30)
    same = real + rng.normal(0, 1e-3, 30)
    brighter = real + 0.1
    from gapviz.stats import paired_stat

    # within noise: nothing
    recs, _ = recommend(image_stats={"brightness": paired_stat(real, same)}, pair_values={"brightness": (real, same)})
    assert recs == []
    # renders brighter than photos: lower the exposure, high severity (2 real-set SDs)
    recs, _ = recommend(image_stats={"brightness": paired_stat(real, brighter)},
                        pair_values={"brightness": (real, brighter)})  # fmt: skip
    assert [r["knob"] for r in recs] == ["exposure"] and recs[0]["severity"] == "high"
    assert "Lower the exposure" in recs[0]["action"]
    # renders noisier than photos: the opposite gap is a "reverse" recommendation, never "add noise"
    noisy = real + 0.2
    recs, _ = recommend(image_stats={"noise_sigma.background": paired_stat(real, noisy)},
                        pair_values={"noise_sigma.background": (real, noisy)})  # fmt: skip
    assert [(r["knob"], r["direction"]) for r in recs] == [("sensor_noise", "reverse")]
    assert "noisier than the photos" in recs[0]["action"] and "Add" not in recs[0]["action"]
    # a one-way knob ignores the opposite gap: renders with more background edges is not "less clutter"
    busy = real + 0.2
    recs, _ = recommend(image_stats={"canny_edge_density.background": paired_stat(real, busy)},
                        pair_values={"canny_edge_density.background": (real, busy)})  # fmt: skip
    assert recs == []


def _blurred_sample(n=6, size=96):
    """Synthetic scenes and, as their real partners, the same scenes with a background blur and noise."""
    from gapviz import stats
    from gapviz.scenes import render_scene
    from gapviz.scenes._post import apply_camera_knobs

    scenes = [render_scene(seed, preset="dataset1", size=size) for seed in range(n)]
    synth = [np.asarray(s.image) for s in scenes]
    masks = [np.asarray(s.mask) for s in scenes]
    real = [apply_camera_knobs(img, m, {"camera_focus": 2.0, "sensor_noise": 3.0}, seed=50 + i)
            for i, (img, m) in enumerate(zip(synth, masks, strict=True))]  # fmt: skip
    canny = stats.Canny.from_images(np.stack(real))

    def measure(images, ms, names):
        return stats.image_stats_batch(images, ms, canny=canny, stats=stats.REGISTRY.producers(names, kind="image"))

    names = sorted({s for _, statistics in gapviz.recommend.CALIBRATED_KNOBS.values() for s in statistics})
    return CalibrationSample(synth, masks, measure(real, masks, names)), measure


def test_background_calibration_gives_the_fit_of_the_final_knob_set():
    """Fitted ahead for the right set, for a wrong set, or not at all: the same Calibration as
    `calibrate`; a wrong guess is cancelled and its evaluations serve the fit that follows."""
    from gapviz.recommend import BackgroundCalibration
    from gapviz.scenes._post import FinishedImage

    sample, measure = _blurred_sample()
    final = ["camera_focus", "resolution", "sensor_noise"]
    direct = calibrate(sample, final, measure=measure, prepare=FinishedImage, seed=4)
    assert direct.settings["camera_focus"] > 1.0

    with BackgroundCalibration(measure=measure, prepare=FinishedImage, seed=4) as right:
        right.begin(sample, final)
        assert right.result(final) == direct and right.used_ahead
    fresh = right.evaluations.count

    with BackgroundCalibration(measure=measure, prepare=FinishedImage, seed=4) as wrong:
        wrong.begin(sample, ["camera_focus", "resolution", "sensor_noise", "exposure"])
        wrong.start(["camera_focus", "resolution", "sensor_noise", "exposure", "color"])  # cancels the first fit
        assert wrong.result(final) == direct and not wrong.used_ahead
        assert wrong.started == [tuple(final + ["exposure"]), tuple(final + ["exposure", "color"])]

    with BackgroundCalibration(measure=measure, prepare=FinishedImage, seed=4) as shared:
        shared.begin(sample, final + ["exposure"])
        shared.result(final + ["exposure"])  # that fit runs to the end
        before = shared.evaluations.count
        assert shared.result(final) == direct
    # the first sweep over the coupled knobs (exposure still at 0) is common to both fits
    assert shared.evaluations.count - before < fresh

    with BackgroundCalibration(measure=measure, prepare=FinishedImage, seed=4) as never:
        never.begin(sample, ())
        assert never.started == [] and never.result(final) == direct

    idle = BackgroundCalibration(measure=measure, prepare=FinishedImage)
    with pytest.raises(RuntimeError, match="before begin"):
        idle.result(final)
    idle.close()


def test_knobs_to_calibrate_guesses_from_the_pairs_seen_so_far():
    rng = np.random.default_rng(1)
    real = rng.lognormal(3.0, 0.3, 24)
    sharper = real * 1.8  # renders' backgrounds far sharper than the photos'
    same = real * np.exp(rng.normal(0, 0.01, 24))
    values = {"coarse_sharpness.background": (real, sharper), "brightness": (real / 100, same / 100)}
    assert gapviz.recommend.knobs_to_calibrate(values) == ["camera_focus", "resolution", "sensor_noise"]
    assert gapviz.recommend.knobs_to_calibrate({"coarse_sharpness.background": (real, same)}) == []
    assert gapviz.recommend.knobs_to_calibrate({}) == []
