"""The shipped demo regressor: file, card, safe loading, and accuracy on fresh held-out scenes.

The card's MAEs come from ``scripts/train_demo_model.py`` on 300 held-out seeds (200000..); here 160
other seeds (900000..), which no training run touches, are rendered afresh at the model's input size,
and the model must beat predicting those scenes' own mean wear by a wide margin.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from gapviz import GapvizError
from gapviz.assets import demo_model, demo_model_card
from gapviz.scenes import render_scene

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

N_FRESH = 160
BOUND = 0.35  # model MAE / predict-the-mean MAE on fresh dataset1 scenes
FRESH_SEED0 = 900_000


@pytest.fixture(scope="module")
def card():
    return demo_model_card()


@pytest.fixture(scope="module")
def model():
    import gapviz

    return gapviz.load_model(demo_model())  # safe_mode on, compile=False


@pytest.fixture(scope="module")
def fresh(card):
    size = card["input_size"][0]
    seeds = range(FRESH_SEED0, FRESH_SEED0 + N_FRESH)
    sets = {}
    for preset in ("dataset1", "field"):
        scenes = [render_scene(s, preset=preset, size=size) for s in seeds]
        sets[preset] = (np.stack([s.image for s in scenes]), np.array([s.wear for s in scenes]))
    return sets


def predict_fraction(model, images: np.ndarray) -> np.ndarray:
    x = images.astype(np.float32) / 255.0  # the card's preprocess "unit", outside the model
    return np.asarray(model.predict(x, batch_size=16, verbose=0))[:, 0]


def mean_mae(wear_fraction: np.ndarray) -> float:
    """MAE of predicting the scenes' own mean: the trivial predictor, given the answers' average."""
    return float(np.mean(np.abs(wear_fraction - np.mean(wear_fraction))))


def test_file_and_card(card):
    path = demo_model()
    assert path.endswith("demo_model.keras") and os.path.getsize(path) <= 10_000_000
    assert card["file_bytes"] == os.path.getsize(path)
    assert card["preprocess"] == "unit" and card["label_unit"] == "fraction"
    assert card["input_size"][2] == 3 and card["input_size"][0] == card["input_size"][1]
    assert card["training_data"]["preset"] == "dataset1"
    assert card["training_data"]["n_train"] >= 1000 and card["training"]["steps_run"] >= 1
    assert card["test_data"]["first_unused_seed_for_tests"] <= FRESH_SEED0
    assert card["learning_curve"] and card["command"].startswith("TF_CPP_MIN_LOG_LEVEL=2")
    assert os.path.isfile(os.path.join(os.path.dirname(path), card["curves_png"]))
    mae = card["mae"]
    assert mae["n_scenes"] == card["test_data"]["n_test"]
    assert mae["dataset1"] <= BOUND * mae["predict_test_mean"]  # past the plateau on its own domain
    assert mae["field"] > 1.2 * mae["dataset1"]  # and the synthetic gap shows
    assert demo_model_card() is not card  # a fresh copy each call


def test_loads_safely_as_plain_keras(model, card):
    assert tuple(model.input_shape[1:]) == tuple(card["input_size"])
    assert model.output_shape == (None, 1)
    names = {type(layer).__name__ for layer in model.layers}
    assert "Lambda" not in names and "Rescaling" not in names  # preprocessing is outside the model
    layer_names = {layer.name for layer in model.layers}
    # Keras' MobileNetV2 names, which the architecture presets look up
    assert {"Conv1", "block_5_project", "block_16_project", "out_relu"} <= layer_names


@pytest.fixture(scope="module")
def errors(model, fresh):
    """MAE of the model and of predicting the mean, per preset, on the fresh scenes (fractions)."""
    out = {}
    for preset, (images, wear) in fresh.items():
        truth = wear / 100.0
        out[preset] = float(np.mean(np.abs(predict_fraction(model, images) - truth)))
        out[f"{preset}_mean"] = mean_mae(truth)
    return out


def test_fresh_dataset1_scenes_beat_predicting_the_mean(errors):
    assert errors["dataset1"] <= BOUND * errors["dataset1_mean"], errors


def test_field_scenes_show_the_gap(errors):
    assert np.isfinite(errors["field"]) and errors["field_mean"] == errors["dataset1_mean"]  # same labels
    assert errors["field"] > errors["dataset1"], errors


def test_missing_files_are_clear_errors(monkeypatch, tmp_path):
    import gapviz.assets as assets

    monkeypatch.setattr(assets, "_MODEL", tmp_path / "demo_model.keras")
    monkeypatch.setattr(assets, "_CARD", tmp_path / "demo_model.json")
    with pytest.raises(GapvizError, match="demo model is missing.*train_demo_model.py"):
        assets.demo_model()
    with pytest.raises(GapvizError, match="card is missing"):
        assets.demo_model_card()
    (tmp_path / "demo_model.json").write_text("{not json")
    with pytest.raises(GapvizError, match="not valid JSON"):
        assets.demo_model_card()
