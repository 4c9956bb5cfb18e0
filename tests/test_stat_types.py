"""The typed statistics (`Stat`, `SetStat`): their verdict, their mapping view, and unchanged JSON and HTML."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from fake_result import make_fake_result
from gapviz import GapvizError
from gapviz.report import render_report, render_summary
from gapviz.result import LayerResult
from gapviz.stats import SetStat, Stat, paired_stat, unpaired_stat, verdict
from gapviz.stats.inference import as_stat

PAIRED_KEYS = ["real", "synth", "diff", "effect_size", "ci95", "noise_floor", "n", "paired", "dropped"]


@pytest.mark.parametrize(
    ("stat", "expected"),
    [
        ({"diff": 0.5, "ci95": [0.2, 0.8], "noise_floor": 0.1}, "gap"),
        ({"diff": -0.5, "ci95": [-0.8, -0.2], "noise_floor": None}, "gap"),
        ({"diff": 0.05, "ci95": [0.02, 0.08], "noise_floor": 0.05}, "below floor"),
        ({"diff": 0.1, "ci95": [-0.1, 0.3], "noise_floor": 0.5}, "within noise"),
        ({"diff": 0.1, "ci95": [0.0, 0.3], "noise_floor": None}, "within noise"),
        ({"diff": 0.1, "ci95": [None, None], "noise_floor": 0.5}, None),
        ({"diff": 0.1, "ci95": [float("nan"), 0.3]}, None),
        ({"value": 0.02, "ci95": [0.01, 0.03], "noise_floor": 0.5, "n": 4}, "gap"),
    ],
    ids=[
        "gap",
        "negative_gap",
        "below_floor",
        "within_noise",
        "ci_touches_zero",
        "no_ci",
        "nan_ci",
        "set_stat",
    ],
)
def test_verdict_is_decided_in_one_place(stat, expected):
    assert verdict(stat) == expected
    typed = (
        as_stat(
            {
                "real": 1.0,
                "synth": 1.0,
                "effect_size": 1.0,
                "n": 9,
                "paired": True,
                "diff": None,
                "noise_floor": None,
                **stat,
            }
        )
        if "value" not in stat
        else as_stat(stat)
    )
    assert typed.verdict == expected


def test_paired_stat_is_a_read_only_mapping_of_its_json():
    rng = np.random.default_rng(0)
    real = rng.normal(size=30)
    s = paired_stat(real, real + 0.5 + 0.1 * rng.normal(size=30), seed=1, n_boot=200)
    assert isinstance(s, Stat) and list(s) == PAIRED_KEYS and s.verdict == "gap"
    assert s["ci95"] == list(s.ci95) and isinstance(s["ci95"], list)
    assert json.dumps(s.to_dict()) == json.dumps(dict(s)) and s == s.to_dict()
    assert Stat.from_mapping(json.loads(json.dumps(s.to_dict()))) == s
    with pytest.raises(TypeError):
        s["diff"] = 0.0  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.diff = 0.0  # type: ignore[misc]
    u = unpaired_stat(real, real[:20] + 1.0, seed=0, n_boot=100)
    assert list(u)[-3:] == ["dropped", "n_real", "n_synth"] and (u["n_real"], u["n_synth"]) == (30, 20)


def test_from_mapping_names_what_is_wrong():
    with pytest.raises(GapvizError, match=r"keys of a SetStat but got unknown 'extra', no 'n'"):
        SetStat.from_mapping({"value": 1.0, "ci95": [0, 1], "noise_floor": None, "extra": 1})
    assert as_stat({"real": 0, "synth": 0}) is None  # the nonfinite counts are no statistic


def _typed(result):
    """The fake result with every JSON-shaped statistic as its `Stat` / `SetStat`."""

    def conv(stats):
        return {k: as_stat(v) or v for k, v in stats.items()}

    layers = tuple(
        LayerResult(name=la.name, depth=la.depth, shape=la.shape, stats=conv(la.stats))
        for la in result.layers
    )
    return dataclasses.replace(
        result, layers=layers, image_stats=conv(result.image_stats), decay=conv(result.decay)
    )


def test_typed_statistics_give_the_same_json_and_html_as_their_dicts():
    plain = make_fake_result(1, size=64)
    typed = _typed(plain)
    assert isinstance(typed.image_stats["brightness"], Stat) and isinstance(
        typed.layers[0].stats["kid"], SetStat
    )
    assert typed.to_json() == plain.to_json()
    assert render_summary(typed) == render_summary(plain)
    assert render_report(typed, before=typed) == render_report(plain, before=plain)
    assert typed == plain
