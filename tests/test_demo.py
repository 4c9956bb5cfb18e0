"""The demo closes the loop: recommended amounts go back into the renderer and the gap shrinks."""

from __future__ import annotations

import json

import pytest

from gapviz.cli import main


@pytest.mark.slow
def test_demo_closes_the_loop(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--n", "8", "--size", "192", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "report:" in printed
    for name in ("report.html", "report.json", "pairs.csv", "report-adjusted.html", "report-adjusted.json"):
        assert (out / name).stat().st_size > 0, name
    before = json.loads((out / "report.json").read_text())
    after = json.loads((out / "report-adjusted.json").read_text())
    from gapviz.demo import loop_summary

    rows = loop_summary(before["recommendations"], before["image_stats"], after["image_stats"])
    assert rows, "the field/dataset1 gap must produce calibrated recommendations"
    for row in rows:
        assert row["gap_after"] <= 0.5 * row["gap_before"], row
    assert (out / ".gapviz-demo").exists()  # marks the folder as the demo's, so a rerun may replace it


def test_demo_refuses_a_folder_it_did_not_make(tmp_path, capsys):
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("mine")
    assert main(["demo", "--out", str(foreign), "--quiet"]) == 1
    assert (foreign / "keep.txt").read_text() == "mine"
