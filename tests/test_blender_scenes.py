"""The Blender engine of the built-in scenes: known answers on small Cycles renders.

The renders need a Python with bpy (``make blender`` makes ``.venv-blender``; or set
``GAPVIZ_BLENDER_PYTHON``); without one those tests are skipped with the reason. The tests of the
missing-bpy error run everywhere.
"""

from __future__ import annotations

import csv
import subprocess
import sys

import cv2
import numpy as np
import pytest

from gapviz._errors import GapvizError
from gapviz.scenes import render_scene, resolve_settings
from gapviz.scenes.blender import (
    ENV_VAR,
    BlenderNotFoundError,
    BlenderRequest,
    _engine,
    blender_python,
    fstop_for_sigma,
    physical_settings,
    render_requests,
    sigma_for_fstop,
)
from gapviz.stats.noise import _noise_sigma

SIZE = 96
SEED = 3


def _bpy_python() -> str | None:
    try:
        python = blender_python()
    except BlenderNotFoundError:
        return None
    probe = subprocess.run([python, "-c", "import bpy"], capture_output=True, check=False)
    return python if probe.returncode == 0 else None


BPY = _bpy_python()
needs_bpy = pytest.mark.skipif(
    BPY is None,
    reason=f"no Python with bpy (run `make blender` or set {ENV_VAR}); the Blender renders are not tested",
)


def _grey(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)


def _background(mask: np.ndarray, margin: int = 4) -> np.ndarray:
    """Pixels at least ``margin`` px away from the object (the defocus of its edge does not count)."""
    near = cv2.dilate(mask.astype(np.uint8), np.ones((2 * margin + 1, 2 * margin + 1), np.uint8)) > 0
    return ~near


# --- without bpy -----------------------------------------------------------------------------------


def test_missing_bpy_python_names_how_to_install(monkeypatch, tmp_path):
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(_engine, "_repo_root", lambda: None)
    with pytest.raises(BlenderNotFoundError) as err:
        render_scene(0, preset="dataset1", size=SIZE, engine="blender")
    message = str(err.value)
    assert "\n" not in message
    assert "make blender" in message and "bpy==4.5.*" in message and ENV_VAR in message
    assert isinstance(err.value, GapvizError)


def test_env_var_pointing_at_nothing_is_one_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "no-python"))
    with pytest.raises(BlenderNotFoundError, match=f"{ENV_VAR}=.*not an executable.*make blender"):
        blender_python()


def test_python_without_bpy_is_the_same_clear_error(monkeypatch):
    # this interpreter (the main environment) has no bpy: the worker fails on its first import
    monkeypatch.setenv(ENV_VAR, sys.executable)
    with pytest.raises(BlenderNotFoundError, match="has no bpy.*make blender"):
        render_scene(0, preset="dataset1", size=SIZE, engine="blender")


def test_unknown_engine_is_refused():
    with pytest.raises(GapvizError, match="Argument 'engine' must be one of '2d', 'blender' but got 'maya'"):
        render_scene(0, size=SIZE, engine="maya")


def test_thin_lens_round_trip_and_hand_computed_case():
    # f = 100 mm, S = 1.2 m, D = 8 m, 36 mm sensor, 128 px: a 3 px sigma is a 12 px disc = 3.375 mm,
    # N = f^2 (D - S) / ((S - f) D c) = 100^2 * 6800 / (1100 * 8000 * 3.375) = 2.2896
    assert fstop_for_sigma(3.0, 128) == pytest.approx(100**2 * 6800 / (1100 * 8000 * 3.375), rel=1e-12)
    rig = {
        "focal_length_mm": 50.0,
        "sensor_width_mm": 36.0,
        "focus_distance_m": 0.6,
        "background_distance_m": 4.0,
    }
    assert fstop_for_sigma(3.0, 128, rig) == pytest.approx(50**2 * 3400 / (550 * 4000 * 3.375), rel=1e-12)
    for sigma in (0.5, 2.0, 7.0):
        assert sigma_for_fstop(fstop_for_sigma(sigma, 200), 200) == pytest.approx(sigma)


def test_physical_settings_map_each_knob():
    base = physical_settings(resolve_settings("dataset1"), 128)
    assert base["use_dof"] is False and base["fstop"] is None and base["jpeg_quality"] == 0
    assert base["sun_strength"] == 0 and base["tint_rgb"] == [1.0, 1.0, 1.0]
    moved = physical_settings(
        resolve_settings("dataset1", {"camera_focus": 2, "resolution": 1, "lighting": 0.5, "color": 0.5}), 128
    )
    assert moved["use_dof"] and moved["fstop"] == pytest.approx(fstop_for_sigma(2, 128))
    # Cycles' Gaussian filter of width w has sigma w / 4; the base anti-aliasing sigma adds in quadrature
    assert moved["filter_width_px"] == pytest.approx(4 * np.hypot(0.35, 1.0))
    assert moved["world_strength"] < base["world_strength"] and moved["sun_strength"] > 0
    assert moved["tint_rgb"][0] > 1 > moved["tint_rgb"][2]
    with pytest.raises(GapvizError, match="samples"):
        physical_settings(resolve_settings("dataset1"), 128, samples=0)


# --- with bpy ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def batch():
    """One Blender process: a base scene, its depth-of-field, few- and many-samples variants."""
    d1 = resolve_settings("dataset1", {"background": "clutter"})
    requests = [
        BlenderRequest(SEED, "dataset1", d1),
        BlenderRequest(SEED, "dataset1", {**d1, "camera_focus": 3.0}),
        BlenderRequest(SEED, "dataset1", d1, samples=2),
        BlenderRequest(SEED, "dataset1", d1, samples=64),
        BlenderRequest(SEED + 1, "field", resolve_settings("field")),
        BlenderRequest(SEED, "dataset1", {**d1, "exposure": -1.0, "color": 0.5}),
    ]
    scenes, seconds = render_requests(requests, SIZE, samples=16, threads=2)
    return dict(zip(["base", "dof", "few", "many", "field", "graded"], scenes, strict=True)), seconds


@needs_bpy
def test_same_seed_gives_the_same_bytes(batch):
    scenes, _ = batch
    # another process, another thread count, the scene alone instead of first of five
    again = render_scene(
        SEED, {"background": "clutter"}, preset="dataset1", size=SIZE, engine="blender", samples=16
    )
    assert again.image.tobytes() == scenes["base"].image.tobytes()
    assert np.array_equal(again.mask, scenes["base"].mask)
    assert np.array_equal(again.index, scenes["base"].index)


@needs_bpy
def test_scene_has_both_links_the_label_and_the_2d_pose(batch):
    scenes, _ = batch
    base = scenes["base"]
    assert base.image.shape == (SIZE, SIZE, 3) and base.image.dtype == np.uint8
    assert set(np.unique(base.index)) == {0, 1, 2}
    flat = render_scene(SEED, {"background": "clutter"}, preset="dataset1", size=SIZE)
    assert base.wear == flat.wear and base.background_content == flat.background_content == "clutter"
    # the same pose in both engines (up to perspective)
    iou = np.logical_and(base.mask, flat.mask).sum() / np.logical_or(base.mask, flat.mask).sum()
    assert iou > 0.7, iou


@needs_bpy
def test_mask_equals_the_object_index_pass(batch):
    scenes, _ = batch
    base = scenes["base"]  # no depth of field: the render's pass and the pinhole pass see the same surfaces
    index_mask = base.index > 0
    # away from the outline (where the render's first sample is jittered by the pixel filter) they agree exactly
    edge = cv2.morphologyEx(base.mask.astype(np.uint8), cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)) > 0
    assert np.array_equal(base.mask[~edge], index_mask[~edge])
    assert np.mean(base.mask != index_mask) < 0.01
    # with depth of field the mask stays the geometric one
    assert np.array_equal(scenes["dof"].mask, base.mask)


@needs_bpy
def test_depth_of_field_lowers_background_sharpness(batch):
    scenes, _ = batch
    region = _background(scenes["base"].mask)
    sharp = [cv2.Laplacian(_grey(scenes[k].image), cv2.CV_32F)[region].var() for k in ("base", "dof")]
    assert sharp[1] < 0.5 * sharp[0], sharp


@needs_bpy
def test_fewer_samples_raise_noise(batch):
    scenes, _ = batch
    inside = cv2.erode(scenes["base"].mask.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    sigma = {
        k: np.mean(
            [
                _noise_sigma(np.ascontiguousarray(scenes[k].image[..., c], np.float32), inside)
                for c in range(3)
            ]
        )
        for k in ("few", "base", "many")
    }
    assert sigma["few"] > sigma["base"] > sigma["many"], sigma


@needs_bpy
def test_write_scenes_cli_pairs(tmp_path):
    from gapviz.cli import main

    out = tmp_path / "pairs"
    code = main(["scenes", "--engine", "blender", "--preset", "field", "--pair-with", "dataset1", "--n", "2",
                 "--size", str(SIZE), "--samples", "4", "--out", str(out), "--quiet"])  # fmt: skip
    assert code == 0
    for side in ("real", "synth"):
        for kind in ("images", "masks"):
            files = sorted((out / side / kind).glob("*.png"))
            assert [f.name for f in files] == ["scene_000000.png", "scene_000001.png"]
    rows = list(csv.DictReader((out / "labels.csv").open()))
    assert [r["engine"] for r in rows] == ["blender", "blender"] and rows[0]["samples"] == "4"
    real = cv2.imread(str(out / "real" / "masks" / "scene_000000.png"), cv2.IMREAD_GRAYSCALE)
    synth = cv2.imread(str(out / "synth" / "masks" / "scene_000000.png"), cv2.IMREAD_GRAYSCALE)
    assert np.array_equal(real, synth) and set(np.unique(real)) == {0, 255}


def test_demo_records_the_blender_settings_it_applies(tmp_path):
    import json

    from gapviz.recommend._camera import load_camera
    from gapviz.scenes.blender._demo import renderer_settings_lines, write_camera

    adjust = {"camera_focus": 3.0, "exposure": -0.3, "compression": 80}
    lines = renderer_settings_lines(tmp_path, adjust, 128, None)
    record = json.loads((tmp_path / "renderer-settings.json").read_text())
    assert record["after"]["camera.data.dof.aperture_fstop"] == pytest.approx(
        fstop_for_sigma(3.0, 128), abs=1e-3
    )
    assert record["before"]["camera.data.dof.use_dof"] is False
    assert record["after"]["scene.view_settings.exposure"] == -0.3
    assert set(record["changed"]) == {
        "camera.data.dof.use_dof",
        "camera.data.dof.aperture_fstop",
        "camera.data.dof.focus_distance",
        "scene.view_settings.exposure",
        "scene.render.image_settings.quality (JPEG)",
    }
    assert any("aperture_fstop: off -> 2.29 (camera_focus=3.0)" in line for line in lines)
    camera = json.loads(write_camera(tmp_path, 128, None).read_text())
    assert load_camera(tmp_path / "camera.json").engine == "blender"
    assert (
        camera["engine"] == "blender" and camera["image_width_px"] == 128 and camera["focal_length_mm"] == 100
    )


def _srgb_to_linear(v: np.ndarray) -> np.ndarray:
    v = v / 255.0
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def _linear_to_srgb(v: np.ndarray) -> np.ndarray:
    v = np.clip(v, 0.0, 1.0)
    return 255.0 * np.where(v <= 0.0031308, 12.92 * v, 1.055 * v ** (1 / 2.4) - 0.055)


@needs_bpy
def test_exposure_and_colour_are_exact_linear_gains_on_the_backdrop(batch):
    # the backdrop is an emitting photo and the graded scene shares every sample position with the
    # base one, so away from the links -1 EV and the colour cast are exact gains in linear light
    scenes, _ = batch
    far = _background(scenes["base"].mask, margin=6)
    gains = np.array([1 + 0.3 * 0.5, 1 + 0.03 * 0.5, 1 - 0.3 * 0.5]) * 2.0**-1
    expected = _linear_to_srgb(_srgb_to_linear(scenes["base"].image.astype(np.float64)) * gains)
    error = np.abs(expected - scenes["graded"].image)[far]
    assert far.sum() > 1000
    assert np.percentile(error, 99) <= 1.0 and error.max() <= 2.0, (np.percentile(error, 99), error.max())
