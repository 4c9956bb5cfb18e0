"""Bad inputs and faults, as a new user makes them: every case is one clear line or a recorded skip.

Each case of the matrix runs ``gapviz report`` in-process on small generated folders and a tiny
model, and asserts the exit status, the one-line message, and that no input or output file
changed. The answers are listed in docs/bad-inputs.md. A property test feeds random and mutated
bytes as images and masks: never a traceback, never a hang.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from gapviz._errors import GapvizError
from gapviz.cli import main

SIZE = 32  # model input side of the tiny models
N_PAIRS = 4
FAST = ["--n-boot", "10", "--calibration-pairs", "0", "--examples", "0", "--batch-size", "4", "--quiet"]


# ----------------------------------------------------------------------------- data and models
def _scene(seed: int, h: int = SIZE, w: int = SIZE) -> np.ndarray:
    """A bright disc on a noisy background: enough structure for every statistic."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:h, :w]
    disc = (yy - h / 2) ** 2 + (xx - w / 2) ** 2 < (min(h, w) / 3) ** 2
    img = rng.integers(20, 90, (h, w, 3)).astype(np.uint8)
    img[disc] = rng.integers(160, 250, 3)
    return img


def _disc_mask(h: int = SIZE, w: int = SIZE) -> np.ndarray:
    yy, xx = np.mgrid[:h, :w]
    return (((yy - h / 2) ** 2 + (xx - w / 2) ** 2 < (min(h, w) / 3) ** 2) * 255).astype(np.uint8)


def _write_set(root: Path, n: int = N_PAIRS, *, masks: bool = True) -> Path:
    for side in ("real", "synth"):
        (root / side).mkdir(parents=True)
        if masks:
            (root / f"masks_{side}").mkdir()
        for i in range(n):
            Image.fromarray(_scene(i + (100 if side == "synth" else 0))).save(root / side / f"{i:03d}.png")
            if masks:
                Image.fromarray(_disc_mask()).save(root / f"masks_{side}" / f"{i:03d}.png")
    return root


def _conv_model(channels: int = 3, *, nan: bool = False):
    import keras

    keras.utils.set_random_seed(0)
    inp = keras.Input((SIZE, SIZE, channels))
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="c1")(inp)
    # linear c2 in the NaN model: ReLU would turn its NaNs into zeros
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same", activation=None if nan else "relu", name="c2")(x)
    g = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    model = keras.Model(inp, keras.layers.Dense(1, name="dense")(g))
    if nan:
        kernel, bias = model.get_layer("c2").get_weights()
        model.get_layer("c2").set_weights([np.full_like(kernel, np.nan), bias])
    return model


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Model files: the tiny regressor, a grey one, a NaN one, two-input, Conv1D and 4-channel models."""
    import keras

    folder = tmp_path_factory.mktemp("bad_models")
    paths = {}
    for name, model in (("ok", _conv_model()), ("grey", _conv_model(1)), ("nan", _conv_model(nan=True)),
                        ("rgba", _conv_model(4))):  # fmt: skip
        paths[name] = folder / f"{name}.keras"
        model.save(paths[name])
    a, b = keras.Input((SIZE, SIZE, 3), name="image"), keras.Input((SIZE, SIZE, 3), name="other")
    two = keras.Model([a, b], keras.layers.Conv2D(2, 3, name="c")(keras.layers.Add()([a, b])))
    paths["two_inputs"] = folder / "two_inputs.keras"
    two.save(paths["two_inputs"])
    seq = keras.Input((100, 3))
    conv1d = keras.Model(seq, keras.layers.Dense(1)(keras.layers.Conv1D(4, 3, name="c1d")(seq)))
    paths["conv1d"] = folder / "conv1d.keras"
    conv1d.save(paths["conv1d"])
    return paths


@pytest.fixture(scope="module")
def base_set(tmp_path_factory):
    return _write_set(tmp_path_factory.mktemp("bad_base") / "data")


def _snapshot(*roots: Path) -> dict[str, str]:
    """Every file under ``roots`` -> sha256 (symbolic links by their target text)."""
    out = {}
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            for name in dirnames + filenames:
                p = Path(dirpath) / name
                if p.is_symlink():
                    out[str(p)] = "link:" + os.readlink(p)
                elif p.is_file():
                    out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def _one_line(err: str) -> str:
    lines = [ln for ln in err.strip().splitlines() if ln.startswith("gapviz: error: ")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


# ----------------------------------------------------------------------------- the matrix: refused (exit 1)
def _case_dir(tmp_path: Path, base_set: Path, models: dict) -> dict:
    data = tmp_path / "data"
    shutil.copytree(base_set, data, symlinks=True)
    model = tmp_path / "model.keras"
    shutil.copy(models["ok"], model)
    return {"data": data, "model": model, "tmp": tmp_path}


def _report(c: dict, *extra: str, model: str | Path | None = None, real="real", synth="synth",
            masks: bool = True, out: str | Path | None = None) -> list[str]:  # fmt: skip
    d = c["data"]
    argv = ["report", "--model", str(model or c["model"]), "--real", str(d / real), "--synth", str(d / synth)]
    if masks:
        argv += ["--masks-real", str(d / "masks_real"), "--masks-synth", str(d / "masks_synth")]
    argv += ["--out", str(out if out is not None else c["tmp"] / "out" / "r.html"), *FAST, *extra]
    return argv


def _bad_tiff(path: Path) -> None:
    """A little-endian float32 RGB TIFF (2x2), written by hand: Pillow cannot read these."""
    w = h = 2
    data = np.zeros((h, w, 3), "<f4").tobytes()
    entries = [(256, 3, 1, w), (257, 3, 1, h), (258, 3, 1, 32), (259, 3, 1, 1), (262, 3, 1, 2),
               (273, 4, 1, 0), (277, 3, 1, 3), (278, 3, 1, h), (279, 4, 1, len(data)), (339, 3, 1, 3)]  # fmt: skip
    ifd_at = 8
    data_at = ifd_at + 2 + 12 * len(entries) + 4
    body = struct.pack("<H", len(entries))
    for tag, kind, n, value in entries:
        value = data_at if tag == 273 else value
        body += struct.pack("<HHI", tag, kind, n) + (struct.pack("<HH", value, 0) if kind == 3 else struct.pack("<I", value))
    path.write_bytes(b"II*\x00" + struct.pack("<I", ifd_at) + body + b"\x00\x00\x00\x00" + data)


# each: id -> (setup(c) -> argv, message pattern); setup may change the copied inputs first
REFUSED = {
    "out-equals-model": (lambda c: _report(c, out=c["model"]), r"would overwrite the input .*model\.keras"),
    "json-equals-out": (lambda c: _report(c, "--json", str(c["tmp"] / "r.html"), out=c["tmp"] / "r.html"),
                        r"is given twice"),
    "json-equals-model": (lambda c: _report(c, "--json", str(c["model"])), r"would overwrite the input"),
    "out-inside-real": (lambda c: _report(c, out=c["data"] / "real" / "r.html"), r"inside the input folder"),
    "out-over-image": (lambda c: _report(c, out=c["data"] / "real" / "000.png"), r"inside the input folder .*real'"),
    "out-inside-masks": (lambda c: _report(c, out=c["data"] / "masks_real" / "r.html"), r"inside the input folder"),
    "out-over-image-by-symlink": (
        lambda c: (os.symlink(c["data"] / "synth" / "001.png", c["tmp"] / "link.html"),
                   _report(c, out=c["tmp"] / "link.html"))[1],
        r"inside the input folder .*synth'"),
    "out-inside-savedmodel-folder": (
        lambda c: (c["tmp"].joinpath("saved").mkdir(), _report(c, model=c["tmp"] / "saved", out=c["tmp"] / "saved" / "r.html"))[1],
        r"inside the input folder .*saved'"),
    "out-under-proc": (lambda c: _report(c, out="/proc/gapviz-report.html"), r"kernel pseudo-filesystem"),
    "out-under-sys": (lambda c: _report(c, out="/sys/gapviz/report.html"), r"kernel pseudo-filesystem"),
    "out-parent-is-file": (lambda c: (c["tmp"].joinpath("notes.txt").write_text("x"),
                                      _report(c, out=c["tmp"] / "notes.txt" / "r.html"))[1],
                           r"is a file, not a folder"),
    "out-is-folder": (lambda c: _report(c, out=c["data"].parent), r"is a folder; give a file path"),
    "out-equals-manifest": (
        lambda c: (c["data"].joinpath("pairs.csv").write_text("real,synth\nreal/000.png,synth/000.png\n"
                                                              "real/001.png,synth/001.png\n"),
                   ["report", "--model", str(c["model"]), "--manifest", str(c["data"] / "pairs.csv"),
                    "--out", str(c["data"] / "pairs.csv"), *FAST])[1],
        r"would overwrite the input .*pairs\.csv"),
    "missing-model": (lambda c: _report(c, model=c["tmp"] / "nope.keras"), r"model not found: .*nope\.keras"),
    "missing-real-folder": (lambda c: _report(c, real="nope"), r"real folder .*nope.* does not exist"),
    "real-is-a-file": (lambda c: _report(c, real="real/000.png"), r"is a file, not a folder"),
    "empty-real-folder": (lambda c: (c["data"].joinpath("empty").mkdir(), _report(c, real="empty"))[1],
                          r"has no images \(found nothing\)"),
    "real-folder-is-a-symlink-loop": (
        lambda c: (os.symlink("loopdir", c["data"] / "loopdir"), _report(c, real="loopdir"))[1],
        r"symbolic link that resolves to nothing \(broken or a loop\)"),
    "missing-mask-folder": (lambda c: (shutil.rmtree(c["data"] / "masks_real"), _report(c))[1],
                            r"real mask folder .*masks_real.* does not exist"),
    "batch-size-0": (lambda c: _report(c, "--batch-size", "0"), r"--batch-size must be an int >= 1 but got 0"),
    "n-boot-5": (lambda c: _report(c, "--n-boot", "5"), r"--n-boot must be an int >= 10 but got 5"),
    "calibration-pairs-negative": (lambda c: _report(c, "--calibration-pairs", "-1"),
                                   r"--calibration-pairs must be an int >= 0"),
    "examples-negative": (lambda c: _report(c, "--examples", "-2"), r"--examples must be an int >= 0"),
    "image-size-2": (lambda c: _report(c, "--image-size", "2"), r"--image-size must be an int >= 8"),
    "analysis-size-tiny": (lambda c: _report(c, "--analysis-size", "4"),
                           r"--analysis-size must be an int or \(height, width\) in \[8, 8192\] but got 4"),
    "analysis-size-text": (lambda c: _report(c, "--analysis-size", "big"), r"must be N or HxW"),
    "unknown-preset": (lambda c: _report(c, "--preset", "resnet18"), r"unknown preset 'resnet18'; expected one of"),
    "empty-layers": (lambda c: _report(c, "--layers", " , "), r"--layers got no layer names"),
    "missing-manifest": (lambda c: _report(c, "--manifest", str(c["tmp"] / "none.csv")),
                         r"--manifest .*none\.csv.* does not exist"),
    "manifest-bad-header": (
        lambda c: (c["data"].joinpath("m.csv").write_text("photo,render\na.png,b.png\n"),
                   ["report", "--model", str(c["model"]), "--manifest", str(c["data"] / "m.csv"),
                    "--out", str(c["tmp"] / "r.html"), *FAST])[1],
        r"lacks column\(s\) \['real', 'synth'\]"),
    "pairing-stem-no-common-names": (
        lambda c: (_rename_all(c["data"] / "synth", "render_"), _report(c, "--pairing", "stem", masks=False))[1],
        r"pairing='stem' found no common file stems.*--pairing order"),
    "pairing-order-unequal-counts": (
        lambda c: ((c["data"] / "synth" / "003.png").unlink(), _report(c, "--pairing", "order", masks=False))[1],
        r"pairing='order' needs as many real as synth images, got real 4 and synth 3"),
    "duplicate-stems": (
        lambda c: (shutil.copy(c["data"] / "real" / "000.png", c["data"] / "real" / "000.jpg"), _report(c))[1],
        r"file stem\(s\) used by several files .*--manifest"),
    "all-images-corrupt": (
        lambda c: ([p.write_bytes(b"not an image") for p in (c["data"] / "real").iterdir()], _report(c))[1],
        r"fewer than 2 usable pairs \(0\); skipped: .*not a recognised image format"),
    "images-below-the-floor": (
        lambda c: ([Image.new("RGB", (1, 1)).save(p) for p in (c["data"] / "real").iterdir()],
                   _report(c, masks=False))[1],
        r"fewer than 2 usable pairs \(0\); skipped: .*1x1, below the 8-pixel floor"),
    "two-input-model": (lambda c: _report(c, model=c["models"]["two_inputs"]), r"takes 2 inputs"),
    "conv1d-model": (lambda c: _report(c, model=c["models"]["conv1d"]),
                     r"takes sequences of shape \(100, 3\) \(rank-3 input, e.g. Conv1D layers\)"),
    "four-channel-model": (lambda c: _report(c, model=c["models"]["rgba"]),
                           r"takes 4-channel images; gapviz decodes every image to RGB"),
    "tap-dense": (lambda c: _report(c, "--layers", "c1,dense"),
                  r"layer 'dense' \(Dense, output \(None, 1\)\) is not a spatial layer.*pick a convolution; "
                  r"the closest spatial layers are c1, c2"),
    "tap-global-pooling": (lambda c: _report(c, "--layers", "gap"),
                           r"layer 'gap' \(GlobalAveragePooling2D.*not a spatial layer.*closest spatial layers are"),
    "tap-wrong-case": (lambda c: _report(c, "--layers", "C1"), r"layer names are case-sensitive; did you mean c1\?"),
    "tap-unknown": (lambda c: _report(c, "--layers", "conv9"), r"unknown layer 'conv9'"),
}


def _rename_all(folder: Path, prefix: str) -> None:
    for p in sorted(folder.iterdir()):
        p.rename(p.with_name(prefix + p.name))


@pytest.mark.parametrize("case", list(REFUSED), ids=list(REFUSED))
def test_refused_with_one_line_and_nothing_changed(case, tmp_path, base_set, models, capsys):
    c = _case_dir(tmp_path, base_set, models)
    c["models"] = models
    setup, pattern = REFUSED[case]
    argv = setup(c)
    before = _snapshot(tmp_path, Path(models["ok"]).parent)
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 1, err
    line = _one_line(err)
    import re

    assert re.search(pattern, line), line
    assert _snapshot(tmp_path, Path(models["ok"]).parent) == before  # no input touched, no output written


def test_usage_error_exits_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["report", "--pairing", "diagonal"])
    assert exc.value.code == 2
    assert "invalid choice: 'diagonal'" in capsys.readouterr().err


# ----------------------------------------------------------------------------- before the model loads
PREFLIGHT = {
    "missing-real-folder": (["--real", "{tmp}/nope"], "does not exist"),
    "out-equals-model": (["--out", "{model}"], "would overwrite the input"),
    "bad-flag-value": (["--n-boot", "1"], "--n-boot must be an int >= 10"),
}


@pytest.mark.parametrize("case", list(PREFLIGHT), ids=list(PREFLIGHT))
def test_refused_before_tensorflow_is_imported(case, tmp_path, base_set, models):
    """A fresh process: these errors come before TensorFlow's import (seconds), checked by sys.modules."""
    c = _case_dir(tmp_path, base_set, models)
    extra, message = PREFLIGHT[case]
    argv = _report(c, *[e.format(tmp=tmp_path, model=c["model"]) for e in extra])
    code = ("import sys, json\nfrom gapviz.cli import main\nrc = main(json.loads(sys.argv[1]))\n"
            "print('tensorflow' in sys.modules, 'keras' in sys.modules)\nsys.exit(rc)")  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    proc = subprocess.run([sys.executable, "-c", code, json.dumps(argv)], capture_output=True, text=True,
                          timeout=120, env=env)  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert message in _one_line(proc.stderr)
    assert proc.stdout.split() == ["False", "False"]


# ----------------------------------------------------------------------------- the matrix: runs, with a warning or a recorded skip
def _run_ok(c: dict, argv: list[str], capsys) -> tuple[dict, str]:
    js = c["tmp"] / "out" / "r.json"
    before = _snapshot(c["data"], c["model"])
    code = main([*argv, "--json", str(js)])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "Traceback" not in err
    assert _snapshot(c["data"], c["model"]) == before
    assert sorted(p.name for p in js.parent.iterdir()) == ["r.html", "r.json"]
    return json.loads(js.read_text()), err


def test_nan_layer_is_a_warning(tmp_path, base_set, models, capsys):
    c = _case_dir(tmp_path, base_set, models)
    data, err = _run_ok(c, _report(c, model=models["nan"]), capsys)
    assert "gapviz: warning: layer 'c2' produced NaN/inf activations (4 of 4 real, 4 of 4 synth images)" in err
    assert any("NaN/inf" in w for w in data["data"]["warnings"])
    html = (tmp_path / "out" / "r.html").read_text()
    assert "Warnings" in html and "produced NaN/inf activations" in html


def test_mask_folder_matching_nothing_is_a_warning(tmp_path, base_set, models, capsys):
    c = _case_dir(tmp_path, base_set, models)
    _rename_all(c["data"] / "masks_real", "mask_")
    data, err = _run_ok(c, _report(c), capsys)
    assert "gapviz: warning: no file in the real mask folder" in err and "name each mask like its image" in err
    assert data["data"]["masks"]["real"]["given"] == 0 and data["data"]["masks"]["synth"]["given"] == N_PAIRS
    assert any("mask folder" in w for w in data["data"]["warnings"])


def test_no_common_names_warns_and_recommends_nothing(tmp_path, base_set, models, capsys):
    c = _case_dir(tmp_path, base_set, models)
    _rename_all(c["data"] / "synth", "render_")
    data, err = _run_ok(c, _report(c, masks=False), capsys)
    assert "gapviz: warning: nothing is paired: no common file stems" in err and "--pairing order" in err
    assert data["data"]["paired"] is False and data["recommendations"] == []
    assert "No recommendation: nothing is paired (see Warnings)." in (tmp_path / "out" / "r.html").read_text()
    # the same folders paired by order from the command line
    data, err = _run_ok(c, _report(c, "--pairing", "order", masks=False), capsys)
    assert data["data"]["paired"] is True and data["data"]["pairing"] == "order" and "warning" not in err


def test_grey_model_gets_luminance_and_says_so(tmp_path, base_set, models, capsys):
    c = _case_dir(tmp_path, base_set, models)
    argv = [a for a in _report(c, model=models["grey"]) if a != "--quiet"]
    data, err = _run_ok(c, argv, capsys)
    assert "gapviz: note: the model takes 1-channel (grey) images: gapviz feeds it the luminance" in err
    assert data["model"]["input_shape"] == [SIZE, SIZE, 1]
    assert any("luminance" in n for n in data["model"]["notes"])


def test_scenes_layout_is_accepted(tmp_path, models, capsys):
    """``gapviz scenes`` writes OUT/real/{images,masks}; ``--real OUT/real`` uses both."""
    data_dir = tmp_path / "data"
    for side in ("real", "synth"):
        (data_dir / side / "images").mkdir(parents=True)
        (data_dir / side / "masks").mkdir()
        for i in range(N_PAIRS):
            Image.fromarray(_scene(i)).save(data_dir / side / "images" / f"{i:03d}.png")
            Image.fromarray(_disc_mask()).save(data_dir / side / "masks" / f"{i:03d}.png")
    model = tmp_path / "model.keras"
    shutil.copy(models["ok"], model)
    c = {"data": data_dir, "model": model, "tmp": tmp_path}
    argv = [a for a in _report(c, masks=False) if a != "--quiet"]
    data, err = _run_ok(c, argv, capsys)
    assert "has the 'gapviz scenes' layout: using" in err
    assert data["data"]["masks"]["real"] == {"given": N_PAIRS, "estimated": 0}
    assert data["data"]["n_pairs"] == N_PAIRS


def test_hostile_files_are_skipped_and_sizes_follow_the_rule(tmp_path, base_set, models, capsys):
    """A 1x1 PNG, a 3000x3000 JPEG and an EXIF-rotated 40x20 JPEG that sort first, a symlink loop and a
    float32 TIFF: the others still run at the rule's size, and every oddity is recorded."""
    c = _case_dir(tmp_path, base_set, models)
    real, synth = c["data"] / "real", c["data"] / "synth"
    Image.new("RGB", (1, 1)).save(real / "0000_tiny.png")
    Image.new("RGB", (1, 1)).save(synth / "0000_tiny.png")
    Image.fromarray(_scene(7, 3000, 3000)).save(real / "0001_huge.jpg", quality=80)
    Image.fromarray(_scene(7)).save(synth / "0001_huge.png")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees on display: 40x20 stored, 20x40 shown... then cropped, not stretched
    Image.fromarray(_scene(8, 20, 40)).save(real / "0002_rotated.jpg", exif=exif)
    Image.fromarray(_scene(8)).save(synth / "0002_rotated.png")
    os.symlink("loop.png", real / "loop.png")
    _bad_tiff(real / "float.tif")
    Image.fromarray(_scene(9)).save(synth / "float.png")
    data, err = _run_ok(c, _report(c, masks=False), capsys)
    d = data["data"]
    assert d["analysis_size"] == [SIZE, SIZE]  # median of the real sizes, not the first file's
    reasons = {Path(s["path"]).name: s["reason"] for s in d["skipped"]}
    assert "below the 8-pixel floor" in reasons["0000_tiny.png"]
    assert "symbolic-link loop" in reasons["loop.png"]
    assert "TIFF with 32-bit float samples (3 channels)" in reasons["float.tif"]
    kinds = {(n["stem"], n["kind"]) for n in d["notes"]}
    assert ("0001_huge", "decoded_reduced") in kinds and ("0001_huge", "image_resized") in kinds
    assert ("0002_rotated", "aspect_cropped") in kinds and ("0002_rotated", "image_upscaled") in kinds
    assert d["n_pairs"] == N_PAIRS + 2
    html = (tmp_path / "out" / "r.html").read_text()
    assert "{&#39;stem&#39;" not in html and "{'stem'" not in html  # summarised, not raw dicts
    assert "centre-cropped to the analysis aspect ratio" in html


def test_analysis_size_flag(tmp_path, base_set, models, capsys):
    c = _case_dir(tmp_path, base_set, models)
    data, _ = _run_ok(c, _report(c, "--analysis-size", "24x48", "--n-boot", "20"), capsys)
    assert data["data"]["analysis_size"] == [24, 48] and data["parameters"]["n_boot"] == 20
    assert {n["kind"] for n in data["data"]["notes"]} >= {"aspect_cropped"}


# ----------------------------------------------------------------------------- the guard from Python
def test_python_save_report_and_to_json_refuse_inputs(tmp_path, base_set, models):
    import gapviz

    c = _case_dir(tmp_path, base_set, models)
    result = gapviz.compare(str(c["model"]), str(c["data"] / "real"), str(c["data"] / "synth"), n_boot=10,
                            calibration_pairs=0, examples=0, progress=False)  # fmt: skip
    before = _snapshot(c["data"], c["model"])
    with pytest.raises(GapvizError, match="would overwrite the input .*model.keras"):
        result.save_report(c["model"])
    with pytest.raises(GapvizError, match="inside the input folder"):
        result.to_json(c["data"] / "real" / "r.json")
    with pytest.raises(GapvizError, match="inside the input folder"):
        result.to_json(c["data"] / "synth" / "000.png")
    assert _snapshot(c["data"], c["model"]) == before
    # a hard link to an input is safe: the atomic write replaces the link, the image keeps its bytes
    os.link(c["data"] / "real" / "001.png", tmp_path / "hard.html")
    result.save_report(tmp_path / "hard.html")
    assert _snapshot(c["data"], c["model"]) == before
    assert result.save_report(tmp_path / "fine.html") and (tmp_path / "fine.html").stat().st_size > 1000


# ----------------------------------------------------------------------------- the size rule
def test_rule_is_not_decided_by_one_file():
    from gapviz.inputs._size import crop_box, rule_size

    assert rule_size([(1, 1)] + [(96, 96)] * 4, aspect=1.0) == (96, 96)
    assert rule_size([(6000, 6000)] + [(96, 96)] * 4, aspect=1.0) == (96, 96)
    assert rule_size([(12000, 12000)] * 3, aspect=1.0) == (512, 512)
    assert rule_size([(480, 640)] * 3, aspect=1.0) == (512, 512)
    assert rule_size([(480, 640)] * 3) == (384, 512)  # no model: the sample's own aspect
    assert crop_box(480, 640, (512, 512)) == (0, 80, 480, 480)  # a centred square, not a squash


def test_masks_get_the_same_crop(tmp_path):
    from gapviz.inputs import build_pairs, iter_batches

    for side in ("r", "s", "mr"):
        (tmp_path / side).mkdir()
    img = np.zeros((20, 40, 3), np.uint8)
    img[:, 10:30] = 200  # the object: the centre 20 columns
    mask = np.zeros((20, 40), np.uint8)
    mask[:, 10:30] = 255
    for i in range(2):
        Image.fromarray(img).save(tmp_path / "r" / f"{i}.png")
        Image.fromarray(img).save(tmp_path / "s" / f"{i}.png")
        Image.fromarray(mask).save(tmp_path / "mr" / f"{i}.png")
    ps = build_pairs(tmp_path / "r", tmp_path / "s", masks={"real": tmp_path / "mr"})
    with iter_batches(ps, model_size=(20, 20)) as stream:
        batch = next(stream)
    assert stream.analysis_size == (40, 40)  # the median long side, at the model's square aspect
    assert {n["kind"] for n in batch.notes} == {"aspect_cropped", "image_upscaled"}
    # the centred 20x20 window is the object: image bright everywhere, and the mask all object
    assert batch.real_analysis.min() == 200 and batch.real_mask_analysis.all()


# ----------------------------------------------------------------------------- property: hostile bytes
def _png(seed: int, size: int = 16, mode: str = "RGB") -> bytes:
    buf = io.BytesIO()
    Image.fromarray(_scene(seed, size, size)).convert(mode).save(buf, "PNG")
    return buf.getvalue()


def _jpeg(seed: int, size: int = 16) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(_scene(seed, size, size)).save(buf, "JPEG", quality=70)
    return buf.getvalue()


_VALID = [_png(0), _png(1, mode="L"), _png(2, mode="RGBA"), _jpeg(3)]


@st.composite
def hostile_bytes(draw) -> bytes:
    kind = draw(st.sampled_from(["random", "flip", "truncate", "splice"]))
    if kind == "random":
        return draw(st.binary(max_size=512))
    data = bytearray(draw(st.sampled_from(_VALID)))
    if kind == "truncate":
        return bytes(data[: draw(st.integers(0, len(data)))])
    if kind == "splice":
        at = draw(st.integers(0, len(data)))
        return bytes(data[:at] + draw(st.binary(max_size=64)) + data[at:])
    for _ in range(draw(st.integers(1, 8))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data)


_FAST_PROPERTY = settings(max_examples=120, deadline=2000, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])  # fmt: skip


@_FAST_PROPERTY
@given(hostile_bytes())
def test_hostile_bytes_decode_or_raise_one_decode_error(data):
    from gapviz.inputs import DecodeError, decode_image_info, decode_mask

    for decode in (lambda: decode_image_info(data, need=(16, 16))[0], lambda: decode_mask(data, (16, 16))[0]):
        try:
            out = decode()
        except DecodeError as exc:
            assert "\n" not in str(exc) and exc.reason
        else:
            assert out.ndim in (2, 3) and out.size > 0


@_FAST_PROPERTY
@given(hostile_bytes(), st.sampled_from([(4, 4), (8, 8), (5, 11)]))
def test_hostile_bytes_through_reduced_decoding(data, need):
    """The reduced-size path (JPEG draft, PNG strips, reduce) on hostile bytes: an image or one DecodeError."""
    from gapviz.inputs import DecodeError, _decode

    saved = _decode.REDUCE_ABOVE
    _decode.REDUCE_ABOVE = 0  # every image counts as large here
    try:
        img, info = _decode.decode_image_info(data, need=need)
    except DecodeError as exc:
        assert "\n" not in str(exc) and exc.reason
    else:
        assert img.ndim == 3 and img.shape[2] == 3 and len(info["native_size"]) == 2
    finally:
        _decode.REDUCE_ABOVE = saved


@settings(max_examples=15, deadline=5000, derandomize=True, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])  # fmt: skip
@given(st.lists(hostile_bytes(), min_size=2, max_size=4), st.lists(hostile_bytes(), min_size=2, max_size=4))
def test_hostile_folders_stream_without_a_traceback(tmp_path_factory, images, masks):
    """Files of hostile bytes as images and masks: every pair is either yielded or skipped with a reason."""
    from gapviz.inputs import build_pairs, iter_batches

    root = tmp_path_factory.mktemp("hostile")
    for side in ("real", "synth", "masks"):
        (root / side).mkdir()
    for i, data in enumerate(images):
        (root / "real" / f"{i}.png").write_bytes(data)
        (root / "synth" / f"{i}.png").write_bytes(_VALID[i % len(_VALID)])
    for i, data in enumerate(masks):
        (root / "masks" / f"{i}.png").write_bytes(data)
    ps = build_pairs(root / "real", root / "synth", masks={"real": root / "masks"})
    try:
        stream = iter_batches(ps, model_size=(16, 16), batch_size=2, workers=1)
    except GapvizError as exc:  # no readable header at all: one line, asking for analysis_size
        assert "analysis_size" in str(exc)
        return
    with stream:
        rows = sum(len(b) for b in stream)
    assert rows + len(stream.skipped) == len(images)
    assert all(s["reason"] and "\n" not in s["reason"] for s in stream.skipped)


@pytest.mark.parametrize("mode", ["RGB", "L", "RGBA", "LA", "P"], ids=["rgb", "grey", "rgba", "grey-alpha", "palette"])
def test_png_strips_equal_reducing_the_whole_image(mode, monkeypatch):
    """Strip-wise reduced PNG decoding gives exactly Pillow's ``reduce`` of the fully decoded image."""
    from gapviz.inputs import _png_strips

    monkeypatch.setattr(_png_strips, "_STRIP_BYTES", 4000)  # many strips even on a small image
    rng = np.random.default_rng(1)
    img = Image.fromarray(rng.integers(0, 255, (203, 157, 3), dtype=np.uint8))
    img = img.quantize(32) if mode == "P" else img.convert(mode)
    for optimize in (False, True):  # Pillow's adaptive filters (Paeth, Average, Up) when optimising
        buf = io.BytesIO()
        img.save(buf, "PNG", optimize=optimize)
        ref = Image.open(io.BytesIO(buf.getvalue()))
        ref = (ref.convert("RGB") if mode == "P" else ref).reduce(3)
        got = _png_strips.png_reduced(io.BytesIO(buf.getvalue()), 3)
        assert got.size == ref.size and np.array_equal(np.asarray(got), np.asarray(ref))
    with pytest.raises(OSError, match="truncated PNG"):
        _png_strips.png_reduced(io.BytesIO(buf.getvalue()[: len(buf.getvalue()) // 2]), 3)
