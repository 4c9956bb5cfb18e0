"""What each gap does to the model: prediction impact, label errors and attribution (gapviz.impact)."""

from __future__ import annotations

import numpy as np
import pytest

import gapviz
from gapviz.impact import ImpactSample, attribution_shares, make_predictor, prediction_impact, read_labels

SIZE = 128  # the conftest scenes' side


def _laplacian_model(size: int = SIZE, weight: float = 10.0):
    """Output = weight x mean squared Laplacian of the grey image: it depends on (mostly background) sharpness.

    Fixed weights, no training: the answer is known. A blurred background lowers the output; more
    sensor noise raises it.
    """
    import keras

    inp = keras.Input((size, size, 3))
    lap = keras.layers.Conv2D(1, 3, use_bias=False, name="lap")
    energy = keras.layers.Multiply(name="energy")
    head = keras.layers.Dense(1, name="head")
    x = lap(inp)
    out = head(keras.layers.GlobalAveragePooling2D()(energy([x, x])))
    model = keras.Model(inp, out)
    kernel = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], np.float32)
    lap.set_weights([np.repeat(kernel[:, :, None, None] / 3, 3, axis=2)])
    head.set_weights([np.full((1, 1), weight, np.float32), np.zeros(1, np.float32)])
    return model


def _brightness_model(size: int = SIZE):
    """Output = mean pixel value (0..1): zero-mean sensor noise leaves it unchanged on average."""
    import keras

    inp = keras.Input((size, size, 3))
    head = keras.layers.Dense(1, name="head")
    out = head(keras.layers.GlobalAveragePooling2D(name="gap")(keras.layers.Conv2D(3, 1, name="id")(inp)))
    model = keras.Model(inp, out)
    model.get_layer("id").set_weights([np.eye(3, dtype=np.float32)[None, None], np.zeros(3, np.float32)])
    head.set_weights([np.full((3, 1), 1 / 3, np.float32), np.zeros(1, np.float32)])
    return model


@pytest.fixture(scope="module")
def laplacian_model():
    return _laplacian_model()


def _compare(model, folder, **kwargs):
    return gapviz.compare(
        model, folder / "real" / "images", folder / "synth" / "images",
        masks={"real": folder / "real" / "masks", "synth": folder / "synth" / "masks"},
        n_boot=300, progress=False, **kwargs,
    )  # fmt: skip


def _sample(folder, n: int) -> ImpactSample:
    """The first ``n`` pairs of a scenes folder as compare keeps them (model size = analysis size here)."""
    from gapviz.inputs import decode_image, decode_mask

    sample = ImpactSample(size=n)
    for path in sorted((folder / "synth" / "images").iterdir())[:n]:
        real_img = decode_image(folder / "real" / "images" / path.name)
        synth_img = decode_image(path)
        real_mask = decode_mask(folder / "real" / "masks" / path.name)[0]
        synth_mask = decode_mask(folder / "synth" / "masks" / path.name)[0]
        sample.stems.append(path.stem)
        sample.synth_images.append(synth_img)
        sample.synth_masks.append(synth_mask)
        sample.real_inputs.append(real_img)
        sample.synth_inputs.append(synth_img)
        sample.real_masks.append(real_mask)
        sample.synth_input_masks.append(synth_mask)
    return sample


@pytest.fixture(scope="module")
def focus_result(laplacian_model, scenes):
    return _compare(laplacian_model, scenes("inject-camera_focus", "real.camera_focus=3"), examples=1,
                    layers=["lap", "energy"])  # fmt: skip


def test_injected_background_blur_moves_a_sharpness_model(focus_result):
    """Real backgrounds blurred: the recommended focus amount lowers the prediction, CI clear of 0."""
    result = focus_result
    recs = {r["knob"]: r for r in result.recommendations}
    focus = recs["camera_focus"]
    assert focus["suggested"] and focus["impact_rank"] == 1
    impact = focus["impact"]
    assert impact["mean_change"] < 0 and impact["ci95"][1] < 0 and impact["excludes_zero"]
    assert impact["mean_abs_change"] >= abs(impact["mean_change"])
    block = result.model_impact
    assert block["ranking"][0]["knob"] == "camera_focus" and block["n_images"] == 16
    # severity order is kept; each recommendation says where it stands in both orders
    assert [r["severity_rank"] for r in result.recommendations] == list(range(1, len(recs) + 1))
    assert {"knob", "severity", "impact_rank", "severity_rank", "mean_change", "ci95"} <= block["ranking"][0].keys()
    data = result.to_dict()
    assert data["model_impact"]["ranking"][0]["knob"] == "camera_focus"
    # the small model input turns attribution on by default, with maps for the example pair
    assert set(block["attribution"]["layers"]) == {"lap", "energy"}
    assert len(result.attribution_examples) == 1


def test_impact_uses_the_whole_model_not_the_tapped_graph(laplacian_model, scenes):
    """Doubling the head's weight (beyond every tap) doubles the impact."""
    folder = scenes("inject-camera_focus", "real.camera_focus=3")
    sample = _sample(folder, 8)
    once = prediction_impact(sample, {"camera_focus": 3.0}, make_predictor(laplacian_model), model_size=(SIZE, SIZE))
    twice = prediction_impact(sample, {"camera_focus": 3.0}, make_predictor(_laplacian_model(weight=20.0)),
                              model_size=(SIZE, SIZE))  # fmt: skip
    a, b = once["knobs"]["camera_focus"]["mean_change"], twice["knobs"]["camera_focus"]["mean_change"]
    assert b == pytest.approx(2 * a, rel=1e-4)


def test_null_case_impact_ci_contains_zero(scenes):
    """Zero-mean sensor noise on a brightness model: the signed change's CI contains 0, the absolute one does not."""
    sample = _sample(scenes("null", seed=0), 12)
    out = prediction_impact(sample, {"sensor_noise": 4.0}, make_predictor(_brightness_model()), model_size=(SIZE, SIZE),
                            n_boot=500)  # fmt: skip
    noise = out["knobs"]["sensor_noise"]
    lo, hi = noise["ci95"]
    assert lo <= 0 <= hi and not noise["excludes_zero"]
    assert noise["abs_ci95"][0] > 0
    assert out["all"]["mean_change"] == noise["mean_change"]  # one knob: all = that knob


def test_no_gap_no_impact(laplacian_model, scenes):
    """Identical sets: no recommendation, so nothing to rank, and the block says why."""
    folder = scenes("null", seed=0)
    result = gapviz.compare(laplacian_model, folder / "synth" / "images", folder / "synth" / "images",
                            n_boot=200, progress=False, examples=0, attribution=False)  # fmt: skip
    assert result.model_impact["ranking"] == []
    assert any("no recommendation" in note for note in result.model_impact["notes"])
    assert "attribution" not in result.model_impact


def test_estimated_mae_equals_a_direct_computation(laplacian_model, scenes):
    from gapviz.inputs import decode_image, decode_mask
    from gapviz.scenes._post import FinishedImage

    folder = scenes("inject-camera_focus", "real.camera_focus=3")
    labels, _ = read_labels(folder / "labels.csv")
    result = _compare(laplacian_model, folder, examples=0, impact_pairs=6, attribution=False, seed=3,
                      labels={"synth": folder / "labels.csv", "real": folder / "labels.csv"}, label_scale=0.01)  # fmt: skip
    block = result.model_impact["labels"]
    amounts = result.model_impact["all"]["amount"]
    paths = sorted((folder / "synth" / "images").iterdir())[:6]
    adjusted, plain, real = [], [], []
    for i, path in enumerate(paths):
        img = decode_image(path)
        mask = decode_mask(folder / "synth" / "masks" / path.name)[0]
        adjusted.append(FinishedImage(img, mask, seed=3 + i).apply(amounts))
        plain.append(img)
        real.append(decode_image(folder / "real" / "images" / path.name))
    y = np.array([labels[p.stem] * 0.01 for p in paths])
    predict = make_predictor(laplacian_model)
    assert block["estimated_real_mae"]["value"] == pytest.approx(np.abs(predict(np.stack(adjusted)) - y).mean(), rel=1e-5)
    assert block["synth_mae"]["value"] == pytest.approx(np.abs(predict(np.stack(plain)) - y).mean(), rel=1e-5)
    assert block["real_mae"]["value"] == pytest.approx(np.abs(predict(np.stack(real)) - y).mean(), rel=1e-5)
    share = block["penalty_explained"]
    expected = (block["estimated_real_mae"]["value"] - block["synth_mae"]["value"]) / (
        block["real_mae"]["value"] - block["synth_mae"]["value"])
    assert share["value"] == pytest.approx(expected, rel=1e-6)
    assert block["label_scale"] == {"synth": 0.01, "real": 0.01}


def test_attribution_shares_match_a_direct_computation(scenes):
    """Brightness model: d(out)/d(activation) is 1 / (3 h w) everywhere, so M is the channel sum of the
    activation, and the background share is sum over background / sum; the object share is its complement."""
    from gapviz.models import tap

    model = _brightness_model()
    sample = _sample(scenes("inject-camera_focus", "real.camera_focus=3"), 4)
    out, maps = attribution_shares(model, ["id"], [model.get_layer("id")], sample, pairs=4, keep_maps=2, n_boot=200)
    acts = {side: tap(model, ["id"])(np.stack(images).astype(np.float32) / 255)["id"]
            for side, images in (("real", sample.real_inputs), ("synth", sample.synth_inputs))}  # fmt: skip
    for side, masks in (("real", sample.real_masks), ("synth", sample.synth_input_masks)):
        m = np.abs(acts[side].astype(np.float64).sum(axis=-1))
        bg = np.array([mi[~k].sum() / mi.sum() for mi, k in zip(m, masks, strict=True)])
        stat = out["layers"]["id"]
        assert stat[side] == pytest.approx(bg.mean(), rel=1e-5)
        # as documented: per image, the background and object shares sum to 1
        assert stat[side] + stat["object_share"][side] == pytest.approx(1.0, abs=1e-12)
        assert stat["background_area"][side] == pytest.approx(np.mean([1 - k.mean() for k in masks]))
    assert out["pairs"] == 4 and len(maps) == 2
    real_map, synth_map = maps[0]["maps"]["id"]
    assert real_map.shape == synth_map.shape == (SIZE, SIZE)
    np.testing.assert_allclose(real_map, acts["real"][0].sum(axis=-1) / (3 * SIZE * SIZE), rtol=1e-4, atol=1e-9)


def test_labels_need_a_stem_column(tmp_path):
    bad = tmp_path / "labels.csv"
    bad.write_text("name,wear\na,1\n")
    with pytest.raises(gapviz.GapvizError, match="no 'stem' column"):
        read_labels(bad)
    with pytest.raises(gapviz.GapvizError, match="does not exist"):
        read_labels(tmp_path / "missing.csv")
    with pytest.raises(gapviz.GapvizError, match="keys 'synth' and/or 'real'"):
        gapviz.compare(_brightness_model(), *[np.zeros((2, SIZE, SIZE, 3), np.uint8)] * 2, labels={"photos": bad})
    with pytest.raises(gapviz.GapvizError, match="needs impact=True"):
        gapviz.compare(_brightness_model(), *[np.zeros((2, SIZE, SIZE, 3), np.uint8)] * 2, labels={"synth": bad},
                       impact=False)
    good = tmp_path / "ok.csv"
    good.write_text("stem,wear,label\nscene_1,50,0.5\n")
    assert read_labels(good) == ({"scene_1": 0.5}, "label")
    assert read_labels(good, column="wear") == ({"scene_1": 50.0}, "wear")


def test_report_section_draws_the_block(focus_result):
    from dataclasses import replace

    from gapviz.report import render_report

    block = focus_result.model_impact
    ranking = [dict(block["ranking"][0], knob="<script>x</script>"), *block["ranking"][1:]]
    text = render_report(replace(focus_result, model_impact={**block, "ranking": ranking}))
    section = text[text.index('id="model-impact"'):text.index('id="curves"')]
    assert "What each gap does to the model" in section and 'href="#model-impact"' in text
    assert section.count("<img") == 1 + len(focus_result.attribution_examples)  # bar chart + one map per example
    assert "Where the regressor looks" in section
    assert "<script>x" not in text and "&lt;script&gt;x" in section  # user strings escaped


def test_cli_reports_label_errors(scenes, tmp_path, laplacian_model):
    from gapviz.cli import main

    folder = scenes("inject-camera_focus", "real.camera_focus=3")
    model = tmp_path / "lap.keras"
    laplacian_model.save(model)
    out, js = tmp_path / "r.html", tmp_path / "r.json"
    code = main(["report", "--model", str(model), "--real", str(folder / "real" / "images"),
                 "--synth", str(folder / "synth" / "images"), "--masks-real", str(folder / "real" / "masks"),
                 "--masks-synth", str(folder / "synth" / "masks"), "--out", str(out), "--json", str(js),
                 "--labels-synth", str(folder / "labels.csv"), "--labels-real", str(folder / "labels.csv"),
                 "--label-scale", "0.01", "--attribution", "off", "--examples", "0", "--quiet"])  # fmt: skip
    assert code == 0
    import json

    block = json.loads(js.read_text())["model_impact"]
    assert {"synth_mae", "estimated_real_mae", "real_mae", "penalty_explained"} <= block["labels"].keys()
    assert "attribution" not in block
    assert "Estimated error on the real domain" in out.read_text()


def test_attribution_through_a_nested_base(scenes):
    """``Sequential([base, GAP, Dense])``: the tapped layer lives inside the base; M = sum_c w_c / (h w) x A_c."""
    import keras

    from gapviz.models import tap

    keras.utils.set_random_seed(1)
    inp = keras.Input((SIZE, SIZE, 3))
    base = keras.Model(inp, keras.layers.Conv2D(4, 3, strides=2, activation="relu", name="c")(inp), name="base")
    model = keras.Sequential([base, keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(1)])
    model(np.zeros((1, SIZE, SIZE, 3), np.float32))
    tapper = tap(model, ["c"])
    sample = _sample(scenes("inject-camera_focus", "real.camera_focus=3"), 3)
    out, maps = attribution_shares(model, tapper.layers, tapper._targets, sample, pairs=3, keep_maps=1, n_boot=100)
    acts = tapper(np.stack(sample.real_inputs[:1]).astype(np.float32) / 255)[tapper.layers[0]][0]
    w = model.layers[-1].get_weights()[0][:, 0]
    expected = (acts * w).sum(axis=-1) / (acts.shape[0] * acts.shape[1])
    np.testing.assert_allclose(maps[0]["maps"][tapper.layers[0]][0], expected, rtol=1e-4, atol=1e-8)
    stat = out["layers"][tapper.layers[0]]
    assert 0 < stat["real"] < 1 and stat["real"] + stat["object_share"]["real"] == pytest.approx(1.0)
