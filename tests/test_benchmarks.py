"""The benchmark scripts still run against the package (they are not timed here: no timing asserts)."""

from __future__ import annotations

import math
import os
import sys

import pytest

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks")
sys.path.insert(0, BENCH)

import bench_calibration  # noqa: E402
import bench_compare  # noqa: E402


def _row(**over):
    row = {"model": "resnet50", "pairs": 16, "a": 7.0, "a_once": 1.5, "b": 12.0, "w": 10.0, "n": 10.5, "c": 14.0,
           "a_cpu": 14.0, "b_cpu": 23.0, "c_cpu": 21.0, "recommend": 0.3, "finalize": 0.05, "b_estimated": 13.0,
           "b_estimated_recommend": 0.0, "a_first_call": 5.0}  # fmt: skip
    row.update(over)
    return row


def test_bench_compare_table_has_a_cell_per_column_and_dashes_for_methods_not_run(capsys):
    nan = float("nan")
    bench_compare.print_table([_row(), _row(pairs=256, c=nan, c_cpu=nan, w=nan, n=nan)],
                              [{"model": "resnet50", "pairs": 16, "seconds": 14.0, "rss_mb": 3400.0},
                               {"model": "resnet50", "pairs": 256, "seconds": 140.0, "rss_mb": 3672.0}])  # fmt: skip
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("|")]
    head, rule, full, partial = lines[:4]
    assert head.count("|") == rule.count("|") == full.count("|") == partial.count("|")
    cells = dict(zip([c.strip() for c in head.split("|")], [c.strip() for c in full.split("|")], strict=True))
    assert cells["b/a"] == f"{12.0 / 7.0:.2f}" and cells["b/(a+once)"] == f"{12.0 / 8.5:.2f}"
    assert cells["c/b"] == f"{14.0 / 12.0:.2f}" and cells["b no-rec s"] == "10.5"
    partial_cells = dict(zip([c.strip() for c in head.split("|")], [c.strip() for c in partial.split("|")], strict=True))
    assert partial_cells["c s"] == partial_cells["c/b"] == partial_cells["b warm s"] == "-"
    assert lines[-1].endswith(f"| {3672 / 3400:.2f} |")  # RSS relative to the smallest set


def test_bench_calibration_alone_fits_the_rules_knob_set_on_generated_pairs(tmp_path):
    data = bench_compare.make_data(str(tmp_path), 8, 96)
    out = bench_calibration.alone(data, 96, calibration_pairs=4)
    assert set(out["settings"]) == set(out["knobs"])
    assert out["knobs"], "field against dataset1 renders differ in calibrated knobs"
    assert all(math.isfinite(float(v)) for v in out["settings"].values())
    assert out["wall"] > 0 and out["cpu"] > 0
    with pytest.raises(SystemExit, match="not --size 128"):
        bench_calibration.alone(data, 128, calibration_pairs=4)
