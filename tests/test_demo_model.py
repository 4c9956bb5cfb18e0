"""The shipped demo regressor: file, card, safe loading, and accuracy on fresh held-out scenes.

The reference MAEs come from the card, written by ``scripts/train_demo_model.py`` on 300 held-out
seeds (200000..); here 48 other seeds (900000..), never used in training, are rendered afresh.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from gapviz import GapvizError
from gapviz.assets import demo_model, demo_model_card
from gapviz.scenes import render_scene

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

N_FRESH = 48
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


def test_file_and_card(card):
    path = demo_model()
    assert path.endswith("demo_model.keras") and os.path.getsize(path) < 5_000_000
    assert card["preprocess"] == "unit" and card["label_unit"] == "fraction"
    assert card["input_size"][2] == 3 and card["input_size"][0] == card["input_size"][1]
    assert card["training_data"]["preset"] == "dataset1"
    assert card["training_data"]["n_train"] >= 1000 and card["epochs_run"] >= 1
    assert card["test_data"]["first_unused_seed_for_tests"] <= FRESH_SEED0
    mae = card["mae"]
    assert mae["dataset1"] < mae["predict_train_mean_dataset1"]  # it learned something
    assert mae["field"] > 1.2 * mae["dataset1"]  # and the synthetic gap shows
    assert demo_model_card() is not card  # a fresh copy each call


def test_loads_safely_as_plain_keras(model, card):
    assert tuple(model.input_shape[1:]) == tuple(card["input_size"])
    assert model.output_shape == (None, 1)
    names = {type(layer).__name__ for layer in model.layers}
    assert "Lambda" not in names and "Rescaling" not in names  # preprocessing is outside the model
    assert model.get_layer("Conv1") is not None and model.get_layer("block_5_project") is not None


def test_predicts_fresh_dataset1_scenes_within_its_card(model, card, fresh):
    images, wear = fresh["dataset1"]
    mae = float(np.mean(np.abs(predict_fraction(model, images) - wear / 100.0)))
    assert mae <= 1.5 * card["mae"]["dataset1"] + 0.02, mae


def test_field_scenes_show_the_gap(model, card, fresh):
    errors = {}
    for preset, (images, wear) in fresh.items():
        errors[preset] = float(np.mean(np.abs(predict_fraction(model, images) - wear / 100.0)))
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
