"""The per-pair table: `PairTable`, `PairAccumulator.pair_columns`, `furthest_pairs`, and what
`compare` and ``gapviz report --pairs-csv`` make of them."""

from __future__ import annotations

import csv
import io
import math

import numpy as np
import pytest

import gapviz
from gapviz import GapvizError
from gapviz.pairs import PairTable, furthest_pairs
from gapviz.stats import PairAccumulator


def _acc(ids, seed=0, layers=("base/c1",)):
    rng = np.random.default_rng(seed)
    acc = PairAccumulator(layers=layers)
    n = len(ids)
    acc.add_images(ids, {"real": {"brightness": rng.uniform(0.3, 0.5, n), "noise": rng.uniform(1, 2, n)},
                         "synth": {"brightness": rng.uniform(0.4, 0.6, n), "noise": rng.uniform(0, 1, n)},
                         "pair": {"agreement": rng.uniform(0, 1, n)}})
    acc.add_layer(layers[0], ids, real={"background_ratio": rng.uniform(0.5, 1, n).astype(np.float32)},
                  synth={"background_ratio": rng.uniform(1, 2, n).astype(np.float32)})
    return acc


# -- PairTable -------------------------------------------------------------------------------------
def test_table_groups_sides_and_diff_per_statistic():
    ids, cols = _acc(["b", "a", "c"]).pair_columns()
    table = PairTable.from_accumulator(ids, cols, paths={"a": ("r/a.png", "s/a.png")})
    assert table["pair"].tolist() == ["a", "b", "c"]  # sorted ids
    assert table.columns[:3] == ["pair", "real", "synth"]
    i = table.columns.index("brightness.real")
    assert table.columns[i: i + 3] == ["brightness.real", "brightness.synth", "brightness.diff"]
    np.testing.assert_allclose(table["brightness.diff"], table["brightness.synth"] - table["brightness.real"])
    assert "agreement" in table and "agreement.diff" not in table
    assert "base/c1/background_ratio.diff" in table
    assert table.statistics == ["brightness", "noise", "base/c1/background_ratio"]
    assert table["real"].tolist() == ["r/a.png", "", ""]
    assert len(table) == 3 and repr(table) == "<PairTable 3 rows x 13 columns>"


def test_values_are_the_ones_behind_the_statistics():
    acc = _acc(list(range(50)))
    table = PairTable.from_accumulator(*acc.pair_columns())
    final = acc.finalize(n_boot=50)
    for key in ("brightness", "noise"):
        assert np.mean(table[f"{key}.real"]) == pytest.approx(final["image_stats"][key]["real"])
        assert np.mean(table[f"{key}.diff"]) == pytest.approx(final["image_stats"][key]["diff"])
    layer = final["layers"]["base/c1"]["stats"]["background_ratio"]
    assert np.mean(table["base/c1/background_ratio.synth"]) == pytest.approx(layer["synth"], rel=1e-6)


def test_merged_accumulators_give_the_one_pass_table():
    whole = _acc(list(range(40)))
    ids, cols = whole.pair_columns()
    # the same values split in two accumulators (as shards would be) and merged
    rng_ids = np.random.default_rng(3).permutation(40)
    first, second = PairAccumulator(layers=("base/c1",)), PairAccumulator(layers=("base/c1",))
    for part, sel in ((first, rng_ids[:17]), (second, rng_ids[17:])):
        part.add_images(sel, {side: {k: cols[f"{k}.{side}"][sel] for k in ("brightness", "noise")}
                              for side in ("real", "synth")} | {"pair": {"agreement": cols["agreement"][sel]}})
        part.add_layer("base/c1", sel, real={"background_ratio": cols["base/c1/background_ratio.real"][sel]},
                       synth={"background_ratio": cols["base/c1/background_ratio.synth"][sel]})
    m_ids, m_cols = first.merge(second).pair_columns()
    np.testing.assert_array_equal(m_ids, ids)
    assert m_cols.keys() == cols.keys()
    for key in cols:
        np.testing.assert_array_equal(m_cols[key], cols[key])


def test_memory_is_one_float_per_pair_and_column():
    acc = _acc(list(range(2000)))
    before = acc.nbytes
    table = PairTable.from_accumulator(*acc.pair_columns())
    numeric = sum(table[c].nbytes for c in table.columns if c != "pair")
    n_values = len(table) * (len(table.columns) - 1)
    assert numeric == 8 * n_values
    # held values (5 per-side scalars, 1 pair scalar, ids) vs table (those plus 3 diffs)
    assert numeric < 2 * before


def test_unpaired_rows_have_one_side():
    acc = PairAccumulator(layers=(), paired=False)
    acc.add_images(["real:a", "real:b"], {"real": {"brightness": [0.1, 0.2]}})
    acc.add_images(["synth:a"], {"synth": {"brightness": [0.3]}})
    table = PairTable.from_accumulator(*acc.pair_columns())
    assert table["pair"].tolist() == ["real:a", "real:b", "synth:a"]
    assert np.isnan(table["brightness.synth"][0]) and np.isnan(table["brightness.real"][2])


def test_csv_records_and_pandas_round_trip(tmp_path):
    table = PairTable({"pair": ["a", "b,c"], "x.real": [0.1, math.nan], "x.synth": [1 / 3, 2.0]}).with_diffs()
    path = tmp_path / "pairs.csv"
    text = table.to_csv(path)
    assert path.read_text(encoding="utf-8") == text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0] == {"pair": "a", "x.real": "0.1", "x.synth": "0.3333333333", "x.diff": "0.2333333333"}
    assert rows[1]["pair"] == "b,c" and rows[1]["x.real"] == "" and rows[1]["x.diff"] == ""
    records = table.to_records()
    assert records[0]["pair"] == "a" and records[0]["x.synth"] == pytest.approx(1 / 3)
    pd = pytest.importorskip("pandas")
    frame = table.to_pandas()
    assert list(frame.columns) == table.columns and frame["x.real"].isna().tolist() == [False, True]
    from pandas.api.interchange import from_dataframe

    assert from_dataframe(table).shape == (2, 4)
    loaded = pd.read_csv(path)
    np.testing.assert_allclose(loaded["x.synth"], table["x.synth"], rtol=1e-9)


def test_table_errors():
    table = PairTable({"pair": ["a"], "brightness.real": [0.1]})
    with pytest.raises(GapvizError, match=r"no column 'brightnes.real'.*closest: brightness.real"):
        table["brightnes.real"]
    with pytest.raises(GapvizError, match=r"column 'b' has 2 values but the table has 1 rows"):
        PairTable({"a": [1.0], "b": [1.0, 2.0]})
    with pytest.raises(ValueError):
        table["brightness.real"][0] = 1.0  # read-only: the table is part of a frozen result


def test_to_pandas_without_pandas(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_pandas(name, *args, **kwargs):
        if name == "pandas":
            raise ImportError("no pandas")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pandas)
    with pytest.raises(GapvizError, match="to_pandas\\(\\) needs pandas, which gapviz does not install"):
        PairTable({"pair": ["a"]}).to_pandas()


# -- furthest pairs --------------------------------------------------------------------------------
def test_furthest_pairs_follow_the_sign_of_the_gap_and_layers():
    table = PairTable({"pair": list("abcd"), "noise.real": [1, 1, 1, 1], "noise.synth": [0.9, 0.2, 1.5, 0.5],
                       "m/c1/background_ratio.real": [1, 1, 1, 1],
                       "m/c1/background_ratio.synth": [1.1, 3, 0.5, 2]}).with_diffs()
    recs = [{"knob": "sensor_noise", "evidence": [{"statistic": "noise", "layer": None, "diff": -0.35}]},
            {"knob": "camera_focus", "evidence": [{"statistic": "background_ratio", "layer": "c1", "diff": 0.6}]},
            {"knob": "x", "evidence": [{"statistic": "cka_gap", "layer": "c1", "diff": None}]}]
    out = furthest_pairs(table, recs, k=2)
    assert [o["knob"] for o in out] == ["sensor_noise", "camera_focus"]  # CKA has no per-pair values
    assert [r["pair"] for r in out[0]["rows"]] == ["b", "d"]  # most negative first: synth noise lower
    assert [r["pair"] for r in out[1]["rows"]] == ["b", "d"] and out[1]["layer"] == "m/c1"
    assert out[0]["rows"][0] == {"pair": "b", "real": 1.0, "synth": 0.2, "diff": pytest.approx(-0.8)}
    assert furthest_pairs(None, recs) == []


# -- compare and the CLI ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def result(edge_model, scenes):
    folder = scenes("pairs-noise", "real.sensor_noise=8", "camera_focus=4")
    return gapviz.compare(edge_model, folder / "real" / "images", folder / "synth" / "images",
                          masks={"real": folder / "real" / "masks", "synth": folder / "synth" / "masks"},
                          n_boot=100, progress=False, examples=1), folder  # fmt: skip


def test_compare_keeps_every_pair_and_thumbnails(result):
    res, folder = result
    table = res.pairs
    n = res.data["n_pairs"]
    assert len(table) == n
    assert table["pair"].tolist() == sorted(p.stem for p in (folder / "real" / "images").iterdir())
    assert all(path.endswith(".png") for path in table["real"].tolist())
    for key, stat in res.image_stats.items():
        if f"{key}.diff" in table:
            finite = np.isfinite(table[f"{key}.diff"])
            assert finite.sum() == stat["n"], key
            assert np.mean(table[f"{key}.diff"][finite]) == pytest.approx(stat["diff"], rel=1e-6, abs=1e-9), key
    for layer in res.layers:
        assert f"{layer.name}/background_ratio.real" in table
    listed = {row["pair"] for item in furthest_pairs(table, res.recommendations) for row in item["rows"]}
    assert listed and listed == set(res.thumbnails)
    real, synth = res.thumbnails[sorted(listed)[0]]
    assert real.dtype == np.uint8 and max(real.shape[:2]) == 128 and real.shape == synth.shape
    html = res.save_report(folder.parent / f"{folder.name}-report.html")
    text = open(html, encoding="utf-8").read()
    assert '<section id="furthest-pairs">' in text
    assert text.count("gv-th-") >= 2 * len(listed)


def test_cli_writes_the_pairs_csv(result, tmp_path, edge_model, capsys):
    from gapviz.cli import main

    res, folder = result
    model_path = tmp_path / "edge.keras"
    edge_model.save(model_path)
    out = tmp_path / "pairs.csv"
    code = main(["report", "--model", str(model_path), "--real", str(folder / "real" / "images"),
                 "--synth", str(folder / "synth" / "images"), "--out", str(tmp_path / "r.html"),
                 "--pairs-csv", str(out), "--quiet"])
    assert code == 0, capsys.readouterr().err
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert len(rows) == res.data["n_pairs"]
    assert {"pair", "real", "synth", "brightness.real", "brightness.synth", "brightness.diff"} <= set(rows[0])
    assert f"pairs: {out}" in capsys.readouterr().out


def test_thumbnails_of_unreadable_files_are_noted(tmp_path):
    from PIL import Image

    from gapviz.inputs import build_pairs
    from gapviz.pipeline._result import thumbnails as _thumbnails

    for side in ("real", "synth"):
        (tmp_path / side).mkdir()
        for stem in ("a", "b"):
            Image.new("RGB", (64, 48), (40, 80, 120)).save(tmp_path / side / f"{stem}.png")
    pairset = build_pairs(tmp_path / "real", tmp_path / "synth")
    table = PairTable({"pair": ["a", "b"], "noise.real": [1.0, 1.0], "noise.synth": [0.2, 0.5]}).with_diffs()
    recs = [{"knob": "sensor_noise", "evidence": [{"statistic": "noise", "diff": -0.65}]}]
    (tmp_path / "synth" / "b.png").write_bytes(b"not a png")
    thumbs, notes = _thumbnails(pairset, table, recs)
    assert list(thumbs) == ["a"] and thumbs["a"][0].shape == (96, 128, 3)
    assert len(notes) == 1 and notes[0].startswith("no thumbnail for pair 'b': synth image could not be read again")
