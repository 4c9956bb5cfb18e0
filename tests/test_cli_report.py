"""`gapviz report` from the command line: outputs, exit codes, one-line errors, safe writing."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from gapviz.cli import main


@pytest.fixture(scope="module")
def model_file(edge_model, tmp_path_factory):
    path = tmp_path_factory.mktemp("cli_model") / "edge.keras"
    edge_model.save(path)
    return path


def _args(model, folder, *extra):
    return ["report", "--model", str(model), "--real", str(folder / "real" / "images"),
            "--synth", str(folder / "synth" / "images"), "--masks-real", str(folder / "real" / "masks"),
            "--masks-synth", str(folder / "synth" / "masks"), "--examples", "1", "--quiet", *extra]  # fmt: skip


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("gapviz: error: ") and "\n" not in err and "Traceback" not in err
    return err


def test_report_writes_html_and_json(model_file, scenes, tmp_path, capsys):
    folder = scenes("focus", "real.camera_focus=3")
    out, js = tmp_path / "r.html", tmp_path / "r.json"
    assert main(_args(model_file, folder, "--out", str(out), "--json", str(js), "--seed", "1")) == 0
    assert out.stat().st_size > 10_000
    data = json.loads(js.read_text())
    assert data["recommendations"][0]["knob"] == "camera_focus"
    assert data["parameters"]["seed"] == 1
    assert "report:" in capsys.readouterr().out
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_missing_folder_is_one_line_exit_1(model_file, tmp_path, capsys):
    (tmp_path / "synth").mkdir()
    code = main(["report", "--model", str(model_file), "--real", str(tmp_path / "nope"),
                 "--synth", str(tmp_path / "synth"), "--out", str(tmp_path / "r.html"), "--quiet"])  # fmt: skip
    assert code == 1
    assert "nope" in _one_line_error(capsys)


def test_missing_model_is_one_line_exit_1(scenes, tmp_path, capsys):
    folder = scenes("same")
    assert main(_args(tmp_path / "missing.keras", folder, "--out", str(tmp_path / "r.html"))) == 1
    assert "missing.keras" in _one_line_error(capsys)


def test_wrong_layer_name_lists_the_closest(model_file, scenes, tmp_path, capsys):
    folder = scenes("same")
    assert main(_args(model_file, folder, "--layers", "c1,cc2", "--out", str(tmp_path / "r.html"))) == 1
    err = _one_line_error(capsys)
    assert "cc2" in err and "c2" in err


@pytest.mark.parametrize("where", ["inside", "over"], ids=["inside-input-folder", "over-input-file"])
def test_writing_beside_inputs_is_refused(model_file, scenes, capsys, where):
    folder = scenes("same")
    images = folder / "real" / "images"
    target = images / "report.html" if where == "inside" else next(images.iterdir())
    before = sorted(p.name for p in images.iterdir())
    assert main(_args(model_file, folder, "--out", str(target))) == 1
    assert "input" in _one_line_error(capsys)
    assert sorted(p.name for p in images.iterdir()) == before


def test_usage_error_exits_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["report", "--batch-size", "many"])
    assert exc.value.code == 2


def test_fresh_shell_subprocess(model_file, scenes, tmp_path):
    """The installed console script, from a fresh process, as a user runs it."""
    folder = scenes("same")
    exe = os.path.join(os.path.dirname(sys.executable), "gapviz")
    proc = subprocess.run([exe, *_args(model_file, folder, "--out", str(tmp_path / "r.html"))],
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / "r.html").exists()
    proc = subprocess.run([exe, "report", "--model", str(tmp_path / "none.h5"), "--out", str(tmp_path / "x.html")],
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 1
    # exactly one line: TensorFlow's native start-up chatter is kept off the terminal
    assert proc.stderr.strip().startswith("gapviz: error: ") and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
