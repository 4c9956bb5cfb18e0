"""`gapviz layers`: the tappable layer tree of a model file, as a table or JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from gapviz.cli import main


def test_layers_table_shows_nested_path_and_loader(model_tf_keras_resnet50v2_h5, capsys):
    _, path = model_tf_keras_resnet50v2_h5
    assert main(["layers", "--model", str(path)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith(f"model: {path} (h5, loaded with tf_keras, sha256 ")
    assert lines[1].startswith("note: loaded with Keras 2 (tf_keras), as files written by tf.keras are; Keras 3")
    row = next(line for line in lines if " resnet50v2/conv1_conv " in line)
    assert row.split()[1:4] == ["*", "resnet50v2/conv1_conv", "Conv2D"]
    assert row.endswith("(None, 32, 32, 64)")
    assert sum(line.split()[1] == "*" for line in lines[3:] if line.split()[1:2]) == 5


def test_layers_json(model_tf_keras_resnet50v2_h5, capsys):
    model, path = model_tf_keras_resnet50v2_h5
    assert main(["layers", "--model", str(path), "--json"]) == 0
    layers = json.loads(capsys.readouterr().out)
    conv1 = next(layer for layer in layers if layer["path"] == "resnet50v2/conv1_conv")
    assert conv1 == {
        "path": "resnet50v2/conv1_conv",
        "name": "conv1_conv",
        "class_name": "Conv2D",
        "output_shape": [None, 32, 32, 64],
        # depth-first position: the backbone (0), then its own layers in Keras' order (input, conv1_pad, conv1_conv)
        "depth": 1 + [layer.name for layer in model.layers[0].layers].index("conv1_conv"),
        "preset": True,
    }
    assert conv1["depth"] == 3
    assert [layer["depth"] for layer in layers] == list(range(len(layers)))


def test_layers_errors_are_one_line(tmp_path, capsys):
    assert main(["layers", "--model", str(tmp_path / "missing.keras")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("gapviz: error: model not found: ")


def test_lambda_needs_unsafe_load(model_lambda_files, capsys):
    path = str(model_lambda_files["keras"])
    assert main(["layers", "--model", path]) == 1
    assert "--unsafe-load" in capsys.readouterr().err
    assert main(["layers", "--model", path, "--unsafe-load", "--json"]) == 0
    assert "double" in [layer["name"] for layer in json.loads(capsys.readouterr().out)]


@pytest.mark.slow
def test_layers_as_a_subprocess(model_tf_keras_resnet50v2_h5):
    _, path = model_tf_keras_resnet50v2_h5
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run(
        [sys.executable, "-m", "gapviz.cli", "layers", "--model", str(path), "--json"],
        capture_output=True, text=True, env=env, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    paths = [layer["path"] for layer in json.loads(done.stdout)]
    assert "resnet50v2/conv1_conv" in paths
