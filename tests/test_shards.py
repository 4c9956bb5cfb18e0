"""Sharded runs (in this process and on a local 2-worker Dask cluster) give the one-process answer;
the shard cache resumes a killed run and never trusts a corrupt or foreign state file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import gapviz
from gapviz import GapvizError
from json_equal import assert_same

N_PAIRS = 14
SIZE = 80  # image side; the model takes 64x64
BROKEN = "p05"  # its synthetic file is not an image: skipped, in the second shard of 4


@pytest.fixture(scope="module")
def cv_threads():
    """OpenCV's thread count as a worker of a 2-worker local cluster sets it (it can move Canny edges)."""
    import cv2

    from gapviz.pipeline._dask import tf_threads

    before = cv2.getNumThreads()
    cv2.setNumThreads(tf_threads(2))
    yield
    cv2.setNumThreads(before)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """14 ring-scene pairs at 80 px (masks given for two of three, estimated for the rest), one broken file,
    and a tiny edge-detector CNN saved as .keras."""
    import keras
    from PIL import Image

    from gapviz.inputs.testing import ring_scene

    root = tmp_path_factory.mktemp("shards")
    for side, bg in (("real", "blur"), ("synth", "sharp")):
        (root / side).mkdir()
        (root / f"masks_{side}").mkdir()
        for i in range(N_PAIRS):
            img, mask = ring_scene(i + (0 if side == "real" else 100), size=SIZE, background=bg)
            Image.fromarray(img).save(root / side / f"p{i:02d}.png")
            if i % 3:
                Image.fromarray((mask * 255).astype(np.uint8)).save(root / f"masks_{side}" / f"p{i:02d}.png")
    (root / "synth" / f"{BROKEN}.png").write_bytes(b"not an image")
    keras.utils.set_random_seed(0)
    inp = keras.Input((64, 64, 3))
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="c1")(inp)
    x = keras.layers.Conv2D(16, 3, strides=2, padding="same", activation="relu", name="c2")(x)
    x = keras.layers.Conv2D(16, 3, strides=2, padding="same", activation="relu", name="c3")(x)
    model = keras.Model(inp, keras.layers.Dense(1)(keras.layers.GlobalAveragePooling2D()(x)))
    model.save(root / "tiny.keras")
    return root


def _kwargs(data: Path, **extra) -> dict:
    kw = dict(masks={"real": data / "masks_real", "synth": data / "masks_synth"}, n_boot=200, progress=False,
              batch_size=4, examples=8, calibration_pairs=9)  # fmt: skip
    kw.update(extra)
    return kw


def _run(data: Path, **extra):
    return gapviz.compare(str(data / "tiny.keras"), data / "real", data / "synth", **_kwargs(data, **extra))


def _numbers(result) -> dict:
    out = result.to_dict()
    for key in ("created", "environment", "execution"):
        out.pop(key)
    return out


def _assert_same(a, b) -> None:
    assert_same(a, b, rel=1e-9, abs_=1e-15)


def _assert_same_examples(a, b) -> None:
    assert [e.stem for e in a.examples] == [e.stem for e in b.examples]
    for x, y in zip(a.examples, b.examples, strict=True):
        for name in ("real_image", "synth_image", "real_mask", "synth_mask", "real_edges", "synth_edges"):
            np.testing.assert_array_equal(getattr(x, name), getattr(y, name))
        for fx, fy in zip(x.features, y.features, strict=True):
            assert fx.channels == fy.channels
            np.testing.assert_allclose(fx.real, fy.real, rtol=1e-6)
            np.testing.assert_allclose(fx.synth_energy, fy.synth_energy, rtol=1e-6)


@pytest.fixture(scope="module")
def reference(data, cv_threads):
    return _run(data)


@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    import logging

    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                       silence_logs=logging.ERROR)  # fmt: skip
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def test_reference_run_sees_the_broken_file(reference):
    assert reference.data["n_pairs"] == N_PAIRS - 1
    assert any(BROKEN in s["path"] for s in reference.data["skipped"])
    assert reference.execution["mode"] == "one process"
    assert reference.parameters["calibration"]["pairs"] == 9
    assert len(reference.examples) == 8


@pytest.mark.parametrize("shard_size", [4, 5, 64], ids=["one-batch", "rounded-to-two-batches", "one-shard"])
def test_dask_shards_give_the_one_process_answer(data, reference, client, shard_size):
    result = _run(data, cluster=client, shard_size=shard_size)
    _assert_same(_numbers(reference), _numbers(result))
    _assert_same_examples(reference, result)
    ex = result.execution
    rows = -(-shard_size // 4) * 4
    assert ex["mode"] == "dask" and ex["workers"] == 2 and ex["shard_size"] == rows
    assert ex["shards"] == -(-N_PAIRS // rows) == len(ex["shard_times"])
    assert sum(t["rows"] for t in ex["shard_times"]) == N_PAIRS - 1
    assert all(t["seconds"] > 0 and t["peak_rss_mb"] > 0 for t in ex["shard_times"])
    if shard_size == 4:
        # the 8 examples and 9 calibration rows start in shards 0-2, but shard 1 lost a pair: shard 2 is
        # asked again for the rows the broken file pushed into it
        assert ex["shards_rerun_for_examples"] == 1


def test_sharded_in_process_with_cache_and_resume(data, reference, tmp_path):
    cache = tmp_path / "cache"
    first = _run(data, shard_size=4, cache=cache)
    _assert_same(_numbers(reference), _numbers(first))
    assert first.execution["shards_computed"] == 4
    files = sorted(cache.glob("shard-*.npz"))
    assert len(files) == 4
    again = _run(data, shard_size=4, cache=cache)
    ex = again.execution
    assert ex["shards_computed"] == 0 and ex["shards_from_cache"] == 4
    _assert_same(_numbers(reference), _numbers(again))
    _assert_same_examples(reference, again)
    # with every shard cached, asking for workers starts no cluster
    cached = _run(data, shard_size=4, cache=cache, cluster=2).execution
    assert cached["shards_from_cache"] == 4 and cached["workers"] == 0 and cached["cluster"] is None
    # a state file loads without pickle: only plain arrays inside
    with np.load(files[0], allow_pickle=False) as npz:
        meta = json.loads(npz["meta"].tobytes())
        assert meta["format"] == "gapviz-shard-state" and meta["key"]["run"]["model_sha256"]
        assert all(npz[name].dtype != object for name in npz.files)


def test_corrupt_and_foreign_state_files_are_recomputed(data, reference, tmp_path):
    cache = tmp_path / "cache"
    _run(data, shard_size=4, cache=cache)
    corrupt, foreign, other = sorted(cache.glob("shard-*.npz"))[:3]
    blob = bytearray(corrupt.read_bytes())
    blob[len(blob) // 2] ^= 0xFF  # one flipped byte inside the arrays
    corrupt.write_bytes(bytes(blob))
    foreign.write_bytes(other.read_bytes())  # a valid state of another shard under this shard's name
    result = _run(data, shard_size=4, cache=cache)
    ex = result.execution
    assert ex["shards_computed"] == 2 and ex["shards_from_cache"] == 2
    reasons = " | ".join(r["reason"] for r in ex["cache"]["rejected"])
    assert "key differs" in reasons and ("checksum" in reasons or "unreadable" in reasons)
    _assert_same(_numbers(reference), _numbers(result))


def test_changed_input_file_invalidates_only_its_shard(data, reference, tmp_path):
    import shutil

    copy = tmp_path / "data"
    shutil.copytree(data, copy)
    cache = tmp_path / "cache"
    _run(copy, shard_size=4, cache=cache)
    target = copy / "real" / "p13.png"  # in the last shard
    os.utime(target, ns=(target.stat().st_atime_ns, target.stat().st_mtime_ns + 10**9))
    ex = _run(copy, shard_size=4, cache=cache).execution
    assert ex["shards_computed"] == 1 and ex["shards_from_cache"] == 3


KILLED_RUN = """
import os, signal, sys
sys.path.insert(0, {src!r})
import cv2
cv2.setNumThreads({threads})
import gapviz
from gapviz.pipeline._cache import ShardCache

save = ShardCache.save

def save_then_die(self, shard, out):
    path = save(self, shard, out)
    os.kill(os.getpid(), signal.SIGKILL)  # as if the machine went away right after the first shard
    return path

ShardCache.save = save_then_die
gapviz.compare({model!r}, {real!r}, {synth!r}, cache={cache!r}, **{kwargs})
"""


def test_killed_run_resumes_with_only_the_unfinished_shards(data, reference, tmp_path):
    from gapviz.pipeline._dask import tf_threads

    cache = tmp_path / "cache"
    kw = {k: (os.fspath(v) if isinstance(v, Path) else v) for k, v in _kwargs(data, shard_size=4).items()}
    kw["masks"] = {k: os.fspath(v) for k, v in kw["masks"].items()}
    script = KILLED_RUN.format(src=os.fspath(Path(gapviz.__file__).parents[1]), threads=tf_threads(2),
                               model=os.fspath(data / "tiny.keras"), real=os.fspath(data / "real"),
                               synth=os.fspath(data / "synth"), cache=os.fspath(cache), kwargs=repr(kw))  # fmt: skip
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], env=env, capture_output=True, timeout=300)
    assert proc.returncode == -9, proc.stderr.decode()[-2000:]
    assert len(list(cache.glob("shard-*.npz"))) == 1
    assert not list(cache.glob(".*.tmp"))  # the write was atomic: no half-written file left
    result = _run(data, shard_size=4, cache=cache)
    ex = result.execution
    assert ex["shards_from_cache"] == 1 and ex["shards_computed"] == 3
    _assert_same(_numbers(reference), _numbers(result))
    _assert_same_examples(reference, result)


def test_cluster_needs_a_model_file(data, reference):
    import keras

    model = keras.models.load_model(data / "tiny.keras")
    with pytest.raises(GapvizError, match="cluster= needs the model as a file"):
        gapviz.compare(model, data / "real", data / "synth", **_kwargs(data, cluster=2))


def test_bad_shard_size_is_one_clear_error(data, reference, tmp_path):
    with pytest.raises(GapvizError, match="'shard_size' must be an int >= 1"):
        _run(data, shard_size=0, cache=tmp_path / "cache")


def test_cli_scheduler_then_cache_only_rerun(data, cv_threads, client, tmp_path):
    from gapviz.cli import main

    base = ["report", "--model", str(data / "tiny.keras"), "--real", str(data / "real"), "--synth",
            str(data / "synth"), "--masks-real", str(data / "masks_real"), "--masks-synth", str(data / "masks_synth"),
            "--batch-size", "4", "--shard-size", "8", "--cache", str(tmp_path / "cache"), "--quiet"]  # fmt: skip
    one, two = tmp_path / "one.json", tmp_path / "two.json"
    # --scheduler on the module's cluster (``--workers N`` starts one like it; not repeated to save its start-up)
    address = client.scheduler.address
    assert main([*base, "--scheduler", address, "--out", str(tmp_path / "a.html"), "--json", str(one)]) == 0
    assert main([*base, "--out", str(tmp_path / "b.html"), "--json", str(two)]) == 0
    a, b = json.loads(one.read_text()), json.loads(two.read_text())
    assert a["execution"]["mode"] == "dask"
    assert a["execution"]["shards_computed"] == 2
    assert b["execution"]["shards_from_cache"] == 2
    assert b["execution"]["shards_computed"] == 0
    for doc in (a, b):
        for key in ("created", "environment", "execution"):
            doc.pop(key)
    _assert_same(a, b)


def test_cli_workers_and_scheduler_exclude_each_other(data, tmp_path, capsys):
    from gapviz.cli import main

    with pytest.raises(SystemExit):
        main(["report", "--model", str(data / "tiny.keras"), "--workers", "2", "--scheduler", "tcp://x:1"])
    assert "not allowed with argument" in capsys.readouterr().err
