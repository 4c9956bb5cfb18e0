"""The chain-shackle renderer: determinism, masks, wear, every knob, presets, pairs and the CLI.

Scenes are rendered small (64-192 px) so the whole file runs in seconds. Thresholds are loose
bounds around values measured on these seeds when the renderer was written (noted per test).
"""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from gapviz import GapvizError
from gapviz.cli import main
from gapviz.scenes import KNOBS, PRESETS, Scene, parse_overrides, render_pair, render_scene, write_scenes
from gapviz.scenes._knobs import PHOTO_BACKGROUNDS

SIZE = 160
SEEDS = (1, 4, 11)


def grey(img: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float64)


def lap_var(img: np.ndarray, region: np.ndarray) -> float:
    return float(cv2.Laplacian(grey(img), cv2.CV_64F)[region].var())


def erode(mask: np.ndarray, px: int) -> np.ndarray:
    kernel = np.ones((2 * px + 1, 2 * px + 1), np.uint8)
    return cv2.erode(mask.astype(np.uint8), kernel).astype(bool)


def far_background(mask: np.ndarray, px: int = 8) -> np.ndarray:
    """Background pixels at least ``px`` away from the object and from the image border."""
    kernel = np.ones((2 * px + 1, 2 * px + 1), np.uint8)
    region = ~cv2.dilate(mask.astype(np.uint8), kernel).astype(bool)
    region[:px], region[-px:], region[:, :px], region[:, -px:] = False, False, False, False
    return region


def boundary(mask: np.ndarray, px: int = 2) -> np.ndarray:
    kernel = np.ones((2 * px + 1, 2 * px + 1), np.uint8)
    m = mask.astype(np.uint8)
    return (cv2.dilate(m, kernel) - cv2.erode(m, kernel)).astype(bool)


# ---------------------------------------------------------------- determinism, masks, wear


def test_same_seed_same_bytes_and_other_seed_differs():
    a = render_scene(5, preset="field", size=128)
    b = render_scene(5, preset="field", size=128)
    c = render_scene(6, preset="field", size=128)
    assert isinstance(a, Scene) and a.image.dtype == np.uint8 and a.image.shape == (128, 128, 3)
    assert a.mask.dtype == bool and a.mask.shape == (128, 128)
    assert a.image.tobytes() == b.image.tobytes() and a.mask.tobytes() == b.mask.tobytes()
    assert a.wear == b.wear and 0 <= a.wear <= 95
    assert a.image.tobytes() != c.image.tobytes()
    assert "seed=5" in repr(a) and "field" in repr(a)


def test_geometry_is_size_free():
    small = render_scene(3, size=96).mask
    large = render_scene(3, size=192).mask
    down = cv2.resize(large.astype(np.float32), (96, 96), interpolation=cv2.INTER_AREA) > 0.5
    iou = (small & down).sum() / (small | down).sum()
    assert iou > 0.85  # measured 0.93


@pytest.mark.parametrize("seed", SEEDS)
def test_mask_covers_exactly_the_links(seed):
    # changing only object appearance (texture, light) must change pixels inside the mask and none outside
    plain = render_scene(seed, {"texture": "clean"}, size=SIZE)
    other = render_scene(seed, {"texture": "rusty", "lighting": 0.4}, size=SIZE)
    changed = np.any(plain.image != other.image, axis=2)
    assert np.array_equal(plain.mask, other.mask)
    assert not changed[~plain.mask].any()
    assert changed[plain.mask].mean() > 0.8
    assert 0.01 < plain.mask.mean() < 0.6


@pytest.mark.parametrize("seed", SEEDS)
def test_wear_removes_material(seed):
    areas = [int(render_scene(seed, size=SIZE, wear=w).mask.sum()) for w in (0, 20, 40, 60, 80, 95)]
    assert all(b <= a for a, b in zip(areas, areas[1:], strict=False)), areas
    assert areas[-1] < areas[0] * 0.99, areas
    # the seed's own label is what render_scene reports, and overriding wear keeps the pose
    own = render_scene(seed, size=SIZE)
    again = render_scene(seed, size=SIZE, wear=own.wear)
    assert np.array_equal(own.image, again.image)


# ---------------------------------------------------------------- knobs


def test_camera_focus_blurs_background_only():
    lo_bg, lo_obj = [], []
    for seed in SEEDS:
        sharp = render_scene(seed, {"background": "clutter"}, size=SIZE)
        soft = render_scene(seed, {"background": "clutter", "camera_focus": 3}, size=SIZE)
        bg, obj = far_background(sharp.mask), erode(sharp.mask, 2)
        lo_bg.append(lap_var(soft.image, bg) / lap_var(sharp.image, bg))
        lo_obj.append(lap_var(soft.image, obj) / lap_var(sharp.image, obj))
    assert max(lo_bg) < 0.2  # measured < 0.05
    assert all(0.9 < r < 1.1 for r in lo_obj), lo_obj  # interior untouched: measured 1.0


def immerkaer_sigma(channel: np.ndarray, region: np.ndarray) -> float:
    """Noise sigma from the mean |second difference| (Immerkaer 1996), over ``region``.

    scikit-image's ``estimate_sigma`` needs PyWavelets, which gapviz does not depend on.
    """
    kernel = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float64)
    response = cv2.filter2D(channel.astype(np.float64), cv2.CV_64F, kernel)
    return float(np.sqrt(np.pi / 2) / 6 * np.abs(response[region]).mean())


@pytest.mark.parametrize("sigma", [3.0, 8.0])
def test_sensor_noise_sigma_in_grey_levels(sigma):
    clean = render_scene(2, {"background": "plain"}, size=SIZE)
    noisy = render_scene(2, {"background": "plain", "sensor_noise": sigma}, size=SIZE)
    diff = noisy.image.astype(float) - clean.image.astype(float)
    assert abs(diff.std() - sigma) < 0.1 * sigma + 0.3
    bg = far_background(clean.mask)
    assert immerkaer_sigma(clean.image[..., 1], bg) < 1.0
    assert abs(immerkaer_sigma(noisy.image[..., 1], bg) - sigma) < 0.15 * sigma + 0.5


def test_lighting_coverage_raises_illumination_cv():
    for seed in SEEDS:
        cvs = []
        for cover in (1.0, 0.5):
            scene = render_scene(seed, {"lighting": cover}, size=SIZE)
            obj = grey(scene.image)[erode(scene.mask, 1)]
            cvs.append(obj.std() / obj.mean())
        assert cvs[1] > 1.3 * cvs[0], (seed, cvs)  # measured about 2x


def edge_gradient(img: np.ndarray, band: np.ndarray) -> float:
    g = grey(img)
    return float(np.hypot(cv2.Sobel(g, cv2.CV_64F, 1, 0), cv2.Sobel(g, cv2.CV_64F, 0, 1))[band].mean())


def test_resolution_softens_object_edges():
    for seed in SEEDS:
        sharp = render_scene(seed, size=SIZE)
        soft = render_scene(seed, {"resolution": 1.5}, size=SIZE)
        band = boundary(sharp.mask, 1)
        band[:4], band[-4:], band[:, :4], band[:, -4:] = False, False, False, False  # links cut by the frame
        assert edge_gradient(soft.image, band) < 0.7 * edge_gradient(sharp.image, band)  # measured 0.45-0.57


def blockiness(img: np.ndarray) -> float:
    """Mean |step| across 8x8 block borders over the mean |step| inside blocks (1 = no blocks)."""
    g = grey(img)
    dx = np.abs(np.diff(g, axis=1))
    dy = np.abs(np.diff(g, axis=0))
    at_x = (np.arange(dx.shape[1]) % 8) == 7
    at_y = (np.arange(dy.shape[0]) % 8) == 7
    across = np.concatenate([dx[:, at_x].ravel(), dy[at_y].ravel()]).mean()
    inside = np.concatenate([dx[:, ~at_x].ravel(), dy[~at_y].ravel()]).mean()
    return float(across / inside)


def test_compression_adds_8x8_blocks():
    for seed in SEEDS:
        lossless = render_scene(seed, {"background": "plain", "camera_focus": 2}, size=SIZE)
        jpeg = render_scene(seed, {"background": "plain", "camera_focus": 2, "compression": 15}, size=SIZE)
        assert blockiness(lossless.image) < 1.2  # measured 1.06-1.10
        assert blockiness(jpeg.image) > blockiness(lossless.image) + 0.5  # measured 2.3-2.4


def test_exposure_changes_brightness():
    base, up, down = (render_scene(4, {"exposure": ev}, size=SIZE).image.mean() for ev in (0.0, 1.0, -1.0))
    assert down + 10 < base < up - 10


def test_color_cast_moves_red_blue_ratio():
    def rb(img):
        return img[..., 0].astype(float).mean() / img[..., 2].astype(float).mean()

    cool, none, warm = (rb(render_scene(4, {"color": c}, size=SIZE).image) for c in (-0.8, 0.0, 0.8))
    assert cool < 0.9 * none and warm > 1.1 * none


def test_texture_choices_differ_on_the_object():
    scenes = {t: render_scene(7, {"texture": t}, size=SIZE) for t in ("clean", "scratched", "rusty")}
    obj = erode(scenes["clean"].mask, 1)
    # scratches add fine detail; rust is orange-brown (red over blue goes up)
    assert lap_var(scenes["scratched"].image, obj) > 1.5 * lap_var(scenes["clean"].image, obj)
    red = {t: s.image[obj][:, 0].mean() / s.image[obj][:, 2].mean() for t, s in scenes.items()}
    assert red["rusty"] > 1.15 * red["clean"]


def test_background_kinds():
    plain = render_scene(9, {"background": "plain"}, size=SIZE)
    clutter = render_scene(9, {"background": "clutter"}, size=SIZE)
    bg = far_background(plain.mask)
    assert lap_var(clutter.image, bg) > 20 * lap_var(plain.image, bg)
    assert plain.background_content == "plain" and clutter.background_content == "clutter"
    mixed = {render_scene(s, size=64).background_content for s in range(12)}
    assert "clutter" in mixed and len(mixed) >= 3


@pytest.mark.parametrize("name", PHOTO_BACKGROUNDS)
def test_photo_backgrounds_load_offline(name):
    scene = render_scene(1, {"background": name}, size=64)
    assert scene.background_content == name
    assert scene.image[~scene.mask].std() > 2  # a photo, not a flat fill


# ---------------------------------------------------------------- validation and presets


def test_presets_are_complete_and_valid():
    assert set(PRESETS) == {"field", "dataset1", "dataset2"}
    for name, values in PRESETS.items():
        assert list(values) == list(KNOBS), name
        for knob, value in values.items():
            assert KNOBS[knob].validate(value) == value
    d1, d2, field = PRESETS["dataset1"], PRESETS["dataset2"], PRESETS["field"]
    assert d1["camera_focus"] == d1["resolution"] == d1["sensor_noise"] == d1["compression"] == 0
    assert d1["lighting"] == 1 and d1["texture"] == "clean"
    assert {k for k in KNOBS if d2[k] != d1[k]} == {"camera_focus", "lighting"}
    assert d2["camera_focus"] > 0 and d2["lighting"] < 1
    assert field["camera_focus"] > 0 and field["lighting"] < d2["lighting"]
    assert field["sensor_noise"] > 0 and 0 < field["compression"] < 100 and field["resolution"] > 0


def test_parse_overrides_converts_types():
    assert parse_overrides(["camera_focus=3", "compression=80", "texture=Rusty", "exposure=-0.5"]) == {
        "camera_focus": 3.0,
        "compression": 80,
        "texture": "rusty",
        "exposure": -0.5,
    }
    assert parse_overrides({"lighting": "0.25"}) == {"lighting": 0.25}
    assert parse_overrides(None) == {}


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        (["focus=3"], r"unknown knob 'focus'.*camera_focus"),
        (["camera_focus=-1"], r"camera_focus.*'-1'.*in \[0, 100\]"),
        (["camera_focus=abc"], r"camera_focus.*'abc'"),
        ({"camera_focus": float("nan")}, r"camera_focus.*nan"),
        ({"lighting": 1.5}, r"lighting.*1\.5.*\[0, 1\]"),
        ({"compression": 80.5}, r"compression.*80\.5.*integer in \[0, 100\]"),
        ({"color": True}, r"color.*True"),
        (["texture=shiny"], r"texture.*'shiny'.*'clean', 'scratched', 'rusty'"),
        (["background=forest"], r"background.*'forest'.*'grass'"),
        (["camera_focus"], r"not of the form knob=value"),
    ],
    ids=["unknown", "negative", "text", "nan", "range", "int", "bool", "choice", "photo", "no-equals"],
)
def test_bad_overrides_name_knob_value_and_range(overrides, match):
    with pytest.raises(GapvizError, match=match):
        parse_overrides(overrides)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"preset": "render"}, r"unknown preset 'render'.*field, dataset1, dataset2"),
        ({"size": 8}, r"'size' must be .*\[32, 8192\].*8"),
        ({"wear": 120}, r"'wear' must be a number in \[0, 95\] but got 120"),
    ],
    ids=["preset", "size", "wear"],
)
def test_bad_render_arguments(kwargs, match):
    with pytest.raises(GapvizError, match=match):
        render_scene(1, **kwargs)
    with pytest.raises(GapvizError, match="seed"):
        render_scene(-1)


# ---------------------------------------------------------------- pairs


@pytest.mark.parametrize("seed", SEEDS)
def test_pair_shares_geometry_wear_and_background(seed):
    real, synth = render_pair(seed, "field", "dataset1", size=SIZE)
    assert np.array_equal(real.mask, synth.mask)
    assert real.wear == synth.wear and real.background_content == synth.background_content
    assert real.preset == "field" and synth.preset == "dataset1"
    assert not np.array_equal(real.image, synth.image)
    # each side is exactly what render_scene gives for that preset
    assert np.array_equal(synth.image, render_scene(seed, preset="dataset1", size=SIZE).image)
    assert np.array_equal(real.image, render_scene(seed, preset="field", size=SIZE).image)
    # the background content is the same picture: undo the field camera roughly and compare
    bg = far_background(real.mask)
    corr = np.corrcoef(grey(real.image)[bg], cv2.GaussianBlur(grey(synth.image), (0, 0), 3)[bg])[0, 1]
    assert corr > 0.6


def test_pair_overrides_apply_per_side():
    real, synth = render_pair(2, "dataset1", "dataset1", size=96, synth_overrides={"camera_focus": 2})
    assert real.settings["camera_focus"] == 0 and synth.settings["camera_focus"] == 2


# ---------------------------------------------------------------- writing and the CLI


def read_labels(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_cli_writes_images_masks_and_labels(tmp_path, capsys):
    out = tmp_path / "scenes"
    rc = main(
        [
            "scenes",
            "--preset",
            "field",
            "--n",
            "3",
            "--seed",
            "40",
            "--size",
            "64",
            "--out",
            str(out),
            "--set",
            "camera_focus=2",
            "--quiet",
        ]
    )
    assert rc == 0
    assert "wrote 3 field scenes" in capsys.readouterr().out
    images = sorted(p.name for p in (out / "images").iterdir())
    masks = sorted(p.name for p in (out / "masks").iterdir())
    assert images == masks == ["scene_000040.png", "scene_000041.png", "scene_000042.png"]
    rows = read_labels(out / "labels.csv")
    assert list(rows[0]) == ["stem", "wear", "seed", "preset", "background_content", *KNOBS]
    assert [r["stem"] for r in rows] == ["scene_000040", "scene_000041", "scene_000042"]
    assert rows[0]["camera_focus"] == "2" and rows[0]["preset"] == "field"
    scene = render_scene(40, {"camera_focus": 2}, preset="field", size=64)
    assert float(rows[0]["wear"]) == scene.wear
    img = cv2.cvtColor(cv2.imread(str(out / "images" / images[0])), cv2.COLOR_BGR2RGB)
    mask = cv2.imread(str(out / "masks" / masks[0]), cv2.IMREAD_UNCHANGED)
    assert np.array_equal(img, scene.image)
    assert set(np.unique(mask)) <= {0, 255} and np.array_equal(mask == 255, scene.mask)


def test_cli_pair_with_writes_both_sides(tmp_path, capsys):
    out = tmp_path / "pairs"
    rc = main(
        [
            "scenes",
            "--preset",
            "field",
            "--pair-with",
            "dataset1",
            "--n",
            "2",
            "--size",
            "64",
            "--out",
            str(out),
            "--set",
            "synth.lighting=0.6",
            "--set",
            "texture=rusty",
            "--quiet",
        ]
    )
    assert rc == 0, capsys.readouterr().err
    for side in ("real", "synth"):
        for kind in ("images", "masks"):
            assert sorted(p.name for p in (out / side / kind).iterdir()) == [
                "scene_000000.png",
                "scene_000001.png",
            ]
    for stem in ("scene_000000.png", "scene_000001.png"):
        real_mask = cv2.imread(str(out / "real" / "masks" / stem), cv2.IMREAD_UNCHANGED)
        synth_mask = cv2.imread(str(out / "synth" / "masks" / stem), cv2.IMREAD_UNCHANGED)
        assert np.array_equal(real_mask, synth_mask)
    rows = read_labels(out / "labels.csv")
    assert list(rows[0])[:6] == ["stem", "wear", "seed", "real_preset", "synth_preset", "background_content"]
    assert rows[0]["real_preset"] == "field" and rows[0]["synth_preset"] == "dataset1"
    assert rows[0]["synth_lighting"] == "0.6" and rows[0]["real_lighting"] == "0.5"
    assert rows[0]["real_texture"] == rows[0]["synth_texture"] == "rusty"


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--set", "focus=3"], "unknown knob 'focus'"),
        (["--set", "camera_focus=-2"], "knob 'camera_focus' got '-2'; expected a number in [0, 100]"),
        (["--set", "compression=high"], "knob 'compression' got 'high'"),
        (["--preset", "photo"], "unknown preset 'photo'"),
        (["--set", "synth.lighting=0.5"], "needs pair_with"),
        (["--n", "0"], "Argument 'n' must be an int >= 1"),
    ],
    ids=["unknown-knob", "bad-value", "bad-int", "bad-preset", "side-without-pair", "zero-n"],
)
def test_cli_rejects_bad_input_with_one_line(tmp_path, capsys, args, match):
    rc = main(["scenes", "--n", "1", "--size", "64", "--out", str(tmp_path / "o"), "--quiet", *args])
    err = capsys.readouterr().err
    assert rc == 1
    assert err.startswith("gapviz: error: ") and err.count("\n") == 1 and match in err
    assert not (tmp_path / "o" / "labels.csv").exists()


def test_refuses_a_folder_that_already_holds_scenes(tmp_path, capsys):
    assert main(["scenes", "--n", "1", "--size", "64", "--out", str(tmp_path), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["scenes", "--n", "1", "--size", "64", "--out", str(tmp_path), "--quiet"]) == 1
    assert "already holds scenes" in capsys.readouterr().err


def test_progress_bar_goes_to_stderr(tmp_path, capsys):
    summary = write_scenes(tmp_path, preset="dataset2", n=2, size=64, progress=True)
    captured = capsys.readouterr()
    assert "scenes" in captured.err and "2/2" in captured.err and captured.out == ""
    assert summary.startswith("wrote 2 dataset2 scenes")


def test_scenes_do_not_import_tensorflow():
    code = "import sys, gapviz.scenes as s; s.render_scene(0, size=64); print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_finished_image_matches_the_renderers_operators_setting_after_setting():
    """FinishedImage keeps blurred images and their linear light between settings; every output
    must still equal the renderer's own composite -> lens -> sensor chain, byte for byte."""
    from gapviz.scenes._post import FinishedImage
    from gapviz.scenes._render import _composite, _lens, _sensor

    scene = render_scene(3, preset="dataset1", size=96)
    fin = FinishedImage(scene.image, scene.mask, seed=7)
    flt = scene.image.astype(np.float32) / 255.0
    neutral = {"camera_focus": 0.0, "resolution": 0.0, "exposure": 0.0, "color": 0.0, "sensor_noise": 0.0,
               "compression": 0}  # fmt: skip
    settings = [
        {"camera_focus": 2.0},
        {"camera_focus": 2.0, "sensor_noise": 4.0},
        {"camera_focus": 2.0, "sensor_noise": 4.0, "exposure": -0.4},
        {"resolution": 0.7, "exposure": 0.5, "color": 0.2},
        {"camera_focus": 1.5, "resolution": 0.5, "color": -0.3, "compression": 70},
        {"camera_focus": 2.0},  # again, from the cache
    ]
    for s in settings:
        v = {**neutral, **s}
        img = _composite(flt, scene.mask, flt, v["camera_focus"]) if v["camera_focus"] else flt
        expected = _sensor(_lens(img, v["resolution"]), v, 7)
        assert np.array_equal(fin.apply(s), expected), s
