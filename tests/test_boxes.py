"""Bounding boxes as a mask source: the CSV, the box-seeded estimator, `gapviz scenes`' boxes.csv, and
the CLI options. Known answers on built-in scenes at small sizes."""

from __future__ import annotations

import json

import numpy as np
import pytest

import gapviz
from gapviz.cli import main
from gapviz.inputs import estimate_mask
from gapviz.inputs._boxes import box_of_mask, check_boxes_arg, estimate_mask_in_box, read_boxes
from gapviz.inputs._provenance import mask_iou
from gapviz.scenes import render_pair, write_scenes


def test_read_boxes_with_and_without_header(tmp_path):
    p = tmp_path / "b.csv"
    p.write_text("stem,x0,y0,x1,y1\na,1,2,30,40\nb,0,0,5.5,6\n")
    assert read_boxes(p) == {"a": (1.0, 2.0, 30.0, 40.0), "b": (0.0, 0.0, 5.5, 6.0)}
    p.write_text("a,1,2,30,40\n")
    assert read_boxes(p) == {"a": (1.0, 2.0, 30.0, 40.0)}


@pytest.mark.parametrize(
    "text, match",
    [("a,1,2,30\n", "line 1 has 4 cells"), ("stem,x0,y0,x1,y1\na,1,x,3,4\n", "must be numbers"),
     ("a,5,2,3,40\n", "0 <= x0 < x1"), ("a,1,2,3,4\na,1,2,3,4\n", "a second box")],
    ids=["cells", "number", "order", "duplicate"],
)  # fmt: skip
def test_read_boxes_errors_name_the_line(tmp_path, text, match):
    p = tmp_path / "b.csv"
    p.write_text(text)
    with pytest.raises(gapviz.GapvizError, match=match):
        read_boxes(p)


def test_boxes_argument_is_checked(tmp_path):
    with pytest.raises(gapviz.GapvizError, match="unknown sides"):
        check_boxes_arg({"photos": {}})
    with pytest.raises(gapviz.GapvizError, match="not found"):
        check_boxes_arg({"real": tmp_path / "missing.csv"})
    with pytest.raises(gapviz.GapvizError, match=r"boxes\['synth'\]\['0'\]"):
        check_boxes_arg({"synth": {"0": (1, 2)}})


def test_box_seeded_estimate_stays_in_its_box_and_beats_the_unseeded_one():
    """Known direction: the box adds information. Seeds 0-7 at 256 px, both presets (at 128 px the
    gain is within the scenes' spread, see docs/masks.md)."""
    with_box, without = [], []
    for seed in range(8):
        for scene in render_pair(seed, "field", "dataset1", size=256):
            box = box_of_mask(scene.mask)
            est = estimate_mask_in_box(scene.image, box)
            x0, y0, x1, y1 = (int(v) for v in box)
            outside = est.copy()
            outside[y0:y1, x0:x1] = False
            assert not outside.any()
            with_box.append(mask_iou(est, scene.mask))
            without.append(mask_iou(estimate_mask(scene.image), scene.mask))
    assert np.mean(with_box) > np.mean(without) + 0.05


def test_scenes_write_the_tight_boxes_of_their_masks(tmp_path):
    write_scenes(tmp_path / "s", preset="field", pair_with="dataset1", n=3, size=64)
    for side in ("real", "synth"):
        boxes = read_boxes(tmp_path / "s" / side / "boxes.csv")
        assert sorted(boxes) == ["scene_000000", "scene_000001", "scene_000002"]
        for stem, box in boxes.items():
            from PIL import Image

            mask = np.asarray(Image.open(tmp_path / "s" / side / "masks" / f"{stem}.png")) > 127
            assert box == box_of_mask(mask)


@pytest.fixture(scope="module")
def scene_folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("boxes") / "s"
    write_scenes(out, preset="dataset1", pair_with="dataset1", n=6, size=96)
    return out


def _report(folder, tmp_path, *extra):
    js = tmp_path / "r.json"
    code = main(["report", "--model", gapviz.demo_model(), "--real", str(folder / "real" / "images"),
                 "--synth", str(folder / "synth" / "images"), "--masks-synth", str(folder / "synth" / "masks"),
                 "--boxes-real", str(folder / "real" / "boxes.csv"), "--examples", "0", "--quiet",
                 "--out", str(tmp_path / "r.html"), "--json", str(js), *extra])  # fmt: skip
    assert code == 0
    return json.loads(js.read_text())["data"]["mask_provenance"]


def test_cli_boxes_on_the_photos_and_masks_on_the_renders_give_box_estimates_on_both_sides(scene_folder, tmp_path):
    prov = _report(scene_folder, tmp_path)
    assert prov["used"] == {"real": "boxes", "synth": "boxes"} and prov["warning"] is None
    assert prov["inputs"]["real"] == {"given": 0, "boxes": 6, "none": 0}
    # the renders' given masks measured the box-seeded estimator, prompted by their own bounding boxes
    from PIL import Image

    ious = []
    for stem in sorted(read_boxes(scene_folder / "synth" / "boxes.csv")):
        img = np.asarray(Image.open(scene_folder / "synth" / "images" / f"{stem}.png").convert("RGB"))
        mask = np.asarray(Image.open(scene_folder / "synth" / "masks" / f"{stem}.png")) > 127
        ious.append(mask_iou(estimate_mask_in_box(img, box_of_mask(mask)), mask))
    assert prov["estimator_quality"]["synth"]["iou_mean"] == pytest.approx(np.mean(ious), abs=1e-9)  # JSON: 10 digits


def test_cli_masks_as_given_uses_each_source_and_warns(scene_folder, tmp_path):
    prov = _report(scene_folder, tmp_path, "--masks-as-given")
    assert prov["mode"] == "as_given"
    assert prov["used"] == {"real": "boxes", "synth": "given"}
    assert "can create object/background gaps" in prov["warning"]
    assert prov["estimator_quality"] == {"real": None, "synth": None}
