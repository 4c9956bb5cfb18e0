"""gapviz.compare end to end on built-in scenes with one knob changed on one side (known answers)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import gapviz
from conftest import SCENE_N as N_PAIRS
from conftest import SCENE_SIZE as SIZE
from gapviz import GapvizError
from json_equal import assert_same


def _run(model, folder, **kwargs):
    kwargs.setdefault("masks", {"real": folder / "real" / "masks", "synth": folder / "synth" / "masks"})
    kwargs.setdefault("n_boot", 300)
    kwargs.setdefault("progress", False)
    kwargs.setdefault("examples", 2)
    return gapviz.compare(model, folder / "real" / "images", folder / "synth" / "images", **kwargs)


def _assert_same(a, b) -> None:
    assert_same(a, b, rel=1e-7, abs_=1e-12)


def _ci_excludes_zero(stat) -> bool:
    lo, hi = stat["ci95"]
    return lo is not None and (lo > 0 or hi < 0)


def test_defocused_background_on_real(edge_model, scenes):
    result = _run(edge_model, scenes("focus", "real.camera_focus=3"))
    lap = result.image_stats["laplacian_var.background"]
    assert lap["real"] < lap["synth"] and _ci_excludes_zero(lap)
    early = result.layers[0].stats["background_ratio"]
    assert early["real"] < early["synth"] and _ci_excludes_zero(early)
    # the object is left alone: its sharpness gap is far smaller than the background's
    obj = result.image_stats["laplacian_var.object"]
    assert abs(math.log(obj["synth"] / obj["real"])) < 0.5 * abs(math.log(lap["synth"] / lap["real"]))
    assert result.recommendations and result.recommendations[0]["knob"] == "camera_focus"


@pytest.mark.parametrize("sigma", [4.0, 8.0], ids=["sigma4", "sigma8"])
def test_sensor_noise_sigma_is_measured(edge_model, scenes, sigma):
    # both sides defocused (smooth background), noise on the real side only
    folder = scenes(f"noise{sigma:g}", "camera_focus=4", f"real.sensor_noise={sigma:g}")
    result = _run(edge_model, folder, recommendations=False)
    noise = result.image_stats["noise_sigma.background"]
    assert noise["real"] == pytest.approx(sigma, rel=0.2)
    assert noise["synth"] < 0.5 * sigma


def test_partial_light_raises_illumination_cv(edge_model, scenes):
    result = _run(edge_model, scenes("light", "real.lighting=0.3"), recommendations=False)
    cv = result.image_stats["illumination_cv"]
    assert cv["real"] > cv["synth"] and _ci_excludes_zero(cv)


def test_softening_lowers_object_edges(edge_model, scenes):
    result = _run(edge_model, scenes("soft", "real.resolution=1.5"), recommendations=False)
    edges = result.layers[0].stats["edge_sharpness"]
    assert edges["real"] < edges["synth"] and _ci_excludes_zero(edges)
    canny = result.image_stats["canny_edge_density.whole"]
    assert canny["real"] < canny["synth"] and _ci_excludes_zero(canny)


def test_identical_sets_have_every_ci_around_zero(edge_model, scenes):
    folder = scenes("same")
    result = _run(edge_model, folder)
    stats = [*result.image_stats.items()] + [
        (f"{layer.name}:{key}", stat) for layer in result.layers for key, stat in layer.stats.items()
        if isinstance(stat, dict) and "diff" in stat and stat.get("ci95", [None])[0] is not None
    ]  # fmt: skip
    assert stats
    for name, stat in stats:
        lo, hi = stat["ci95"]
        assert lo <= 0 <= hi, name
    for layer in result.layers:
        assert layer.stats["cka_gap"]["value"] == pytest.approx(1.0, abs=1e-6)
    assert all(rec["severity"] == "low" for rec in result.recommendations)


def test_same_seed_same_json_and_result_shapes(edge_model, scenes, tmp_path):
    folder = scenes("focus", "real.camera_focus=3")
    a = _run(edge_model, folder, seed=3)
    b = _run(edge_model, folder, seed=3)
    da, db = a.to_dict(), b.to_dict()
    for d in (da, db):
        d.pop("created")
        d["execution"].pop("timings")  # wall times of the phases, different in every run
    # Same structure, same strings, same numbers. Numbers agree to 1e-7 relative rather than bit for bit:
    # OpenCV's float32 filters, run while other threads also call OpenCV, differ in the 10th digit.
    _assert_same(da, db)
    path = tmp_path / "out.json"
    a.to_json(path)
    loaded = json.loads(path.read_text())
    assert loaded["data"]["n_pairs"] == N_PAIRS
    assert [layer["name"] for layer in loaded["layers"]] == ["c1", "c2", "c3"]
    # an in-memory model has no file to hash (a model file's sha256 is pinned in test_models.py)
    assert loaded["model"]["sha256"] is None and loaded["model"]["path"] is None
    assert set(loaded["execution"]["timings"]) == {"setup", "stream", "finalise", "recommend", "result"}
    assert all(t >= 0 for t in loaded["execution"]["timings"].values())
    assert "GapResult" in repr(a) and "\n" not in repr(a)
    assert "camera_focus" in a._repr_html_() and "<img" not in a._repr_html_()
    assert len(a.examples) == 2 and a.examples[0].features[0].real.shape[-1] <= 8


def test_estimated_masks_are_recorded(edge_model, scenes):
    folder = scenes("focus", "real.camera_focus=3")
    result = _run(edge_model, folder, masks={"synth": folder / "synth" / "masks"}, recommendations=False)
    assert result.data["masks"]["real"] == {"given": 0, "estimated": N_PAIRS}
    assert result.data["masks"]["synth"] == {"given": N_PAIRS, "estimated": 0}


def test_unpaired_sets_still_get_distribution_stats(edge_model, scenes, tmp_path):
    import shutil

    folder = scenes("focus", "real.camera_focus=3")
    synth = tmp_path / "synth"
    synth.mkdir()
    for i, src in enumerate(sorted((folder / "synth" / "images").iterdir())[:10]):
        shutil.copy(src, synth / f"render_{i}.png")
    result = gapviz.compare(edge_model, folder / "real" / "images", synth, progress=False, n_boot=100,
                            examples=0)  # fmt: skip
    assert result.data["paired"] is False and result.data["unpaired_reason"]
    assert result.image_stats["brightness"]["paired"] is False
    kid = result.layers[0].stats["kid"]
    assert kid["n"] == 10  # unpaired: the smaller side, the 10 renders copied above (16 photos)
    assert math.isfinite(kid["value"]) and math.isfinite(kid["noise_floor"])
    lo, hi = kid["ci95"]
    assert lo <= kid["value"] <= hi


def test_corrupt_file_is_skipped_and_recorded(edge_model, scenes, tmp_path):
    import shutil

    folder = scenes("focus", "real.camera_focus=3")
    real, synth = tmp_path / "real", tmp_path / "synth"
    shutil.copytree(folder / "real" / "images", real)
    shutil.copytree(folder / "synth" / "images", synth)
    victim = sorted(real.iterdir())[0]
    victim.write_bytes(victim.read_bytes()[:100])
    result = gapviz.compare(edge_model, real, synth, progress=False, n_boot=100, examples=0, recommendations=False)
    assert result.data["n_pairs"] == N_PAIRS - 1
    assert any(s["path"].endswith(victim.name) for s in result.data["skipped"])


def test_too_few_pairs_is_an_error(edge_model, tmp_path):
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 255, (1, SIZE, SIZE, 3), dtype=np.uint8)
    with pytest.raises(GapvizError, match="fewer than 2 usable pairs"):
        gapviz.compare(edge_model, imgs, imgs, progress=False)


def test_wrong_layer_name_names_the_closest(edge_model, scenes):
    folder = scenes("same")
    with pytest.raises(GapvizError, match="c1"):
        _run(edge_model, folder, layers=["c_1"])


def test_nonfinite_activations_are_excluded():
    """A layer that emits NaN for marked images: those are excluded and counted, never averaged."""
    import keras

    class Poison(keras.layers.Layer):
        def call(self, x):
            marked = keras.ops.reshape(x[:, 0, 0, 0] > 0.99, (-1, 1, 1, 1))
            return keras.ops.where(marked, float("nan"), x)

    inp = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(4, 3, padding="same", name="c1")(inp)
    x = Poison(name="poison")(keras.layers.Concatenate()([inp, x]))
    model = keras.Model(inp, keras.layers.Dense(1)(keras.layers.GlobalAveragePooling2D()(x)))
    rng = np.random.default_rng(0)
    real = rng.integers(0, 200, (8, 32, 32, 3), dtype=np.uint8)
    synth = rng.integers(0, 200, (8, 32, 32, 3), dtype=np.uint8)
    real[:2, 0, 0, 0] = 255  # two poisoned real images
    masks = np.zeros((8, 32, 32), bool)
    masks[:, 8:24, 8:24] = True
    result = gapviz.compare(model, real, synth, layers=["poison"], masks={"real": masks, "synth": masks},
                            progress=False, n_boot=100, examples=0, recommendations=False)  # fmt: skip
    layer = result.layers[0]
    assert layer.stats["nonfinite"] == {"real": 2, "synth": 0}
    assert layer.stats["background_ratio"]["n"] == 6
    json.loads(result.to_json())  # strict JSON: no NaN leaks


def test_second_call_on_the_same_model_reuses_the_trace(tmp_path):
    """A notebook re-running compare on one model object pays the trace once; the model still saves."""
    import keras

    from gapviz.models._cache import TAPPERS as _TAPPERS

    inp = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="c1")(inp)
    x = keras.layers.Conv2D(4, 3, strides=2, padding="same", activation="relu", name="c2")(x)
    model = keras.Model(inp, keras.layers.Dense(1)(keras.layers.GlobalAveragePooling2D()(x)))
    rng = np.random.default_rng(1)
    real = rng.integers(0, 255, (6, 32, 32, 3), dtype=np.uint8)
    synth = rng.integers(0, 255, (6, 32, 32, 3), dtype=np.uint8)
    masks = np.zeros((6, 32, 32), bool)
    masks[:, 8:24, 8:24] = True
    kw = dict(masks={"real": masks, "synth": masks}, progress=False, n_boot=50, examples=1,
              recommendations=False, batch_size=3)  # fmt: skip
    first = gapviz.compare(model, real, synth, **kw)
    (tapper,) = model.__dict__[_TAPPERS].values()
    (fn,) = tapper._reduce_fns.values()
    traces = fn.experimental_get_tracing_count()
    second = gapviz.compare(model, real, synth, **kw)
    assert list(model.__dict__[_TAPPERS].values()) == [tapper]
    assert fn.experimental_get_tracing_count() == traces
    assert second.layers[0].stats["background_ratio"]["diff"] == pytest.approx(
        first.layers[0].stats["background_ratio"]["diff"], rel=1e-6
    )
    # the cache is not a tracked attribute: the model saves and reloads without it
    path = tmp_path / "m.keras"
    model.save(path)
    assert _TAPPERS not in keras.saving.load_model(path).__dict__
    other = gapviz.compare(model, real, synth, layers=["c2"], **kw)
    assert [layer.name for layer in other.layers] == ["c2"] and len(model.__dict__[_TAPPERS]) == 2


def test_calibration_ahead_of_the_pass_changes_no_number(edge_model, scenes, monkeypatch):
    """The calibration starts in the background after the first batch, for the knob set the pairs
    seen so far call for; the result must equal a run that fits only after the pass."""
    from gapviz.recommend import BackgroundCalibration

    folder = scenes("focus", "real.camera_focus=3")
    used = []
    result = BackgroundCalibration.result

    def recording(self, knobs):
        out = result(self, knobs)
        used.append((self.used_ahead, list(self.started)))
        return out

    monkeypatch.setattr(BackgroundCalibration, "result", recording)
    ahead = _run(edge_model, folder, batch_size=4, calibration_pairs=4).to_dict()
    assert used[-1][0] and used[-1][1]  # the fit made in the background was the one used

    begin = BackgroundCalibration.begin
    monkeypatch.setattr(BackgroundCalibration, "begin", lambda self, sample, knobs: begin(self, sample, ()))
    monkeypatch.setattr(BackgroundCalibration, "start", lambda self, knobs: None)  # no re-guess either
    after = _run(edge_model, folder, batch_size=4, calibration_pairs=4).to_dict()
    assert not used[-1][0] and used[-1][1] == []
    for d in (ahead, after):
        d.pop("created")
        d["execution"].pop("timings")  # wall times of the phases, different in every run
    assert ahead["parameters"]["calibration"]["settings"]["camera_focus"] > 1.0
    _assert_same(ahead, after)
