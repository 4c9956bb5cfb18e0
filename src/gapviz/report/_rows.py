"""Table rows and cards of the report: plain dicts and strings the templates print.

Each function reads a `GapResult` (or one of its records) and formats it; none recomputes a
statistic. A statistic's status ("gap", "within noise", ...) is its `gapviz.stats.Stat.verdict`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from gapviz.report._format import VERDICT_TEXT, as_float, format_ci, format_number, pretty, verdict_of
from gapviz.report._provenance import provenance_rows, summary_text
from gapviz.report._renderer import renderer_card
from gapviz.vocabulary import SEVERITIES

if TYPE_CHECKING:  # pragma: no cover
    from gapviz.result import GapResult

__all__ = [
    "SEVERITY_ORDER",
    "before_after",
    "before_after_overall",
    "data_rows",
    "model_rows",
    "ordered",
    "recommendation_card",
    "sorted_by_effect",
    "stat_row",
    "summary_line",
]

SEVERITY_ORDER = {s: i for i, s in enumerate(SEVERITIES)}
#: the CSS class of a row, by verdict
_VERDICT_CSS = {"gap": "gap", "within noise": "noise", "below floor": "noise", None: "muted"}


def stat_row(name: str, stat: Mapping, **extra: Any) -> dict:
    """One table row of a paired ``Stat`` or a set statistic; its status is the statistic's verdict.

    Examples
    --------
    >>> row = stat_row("brightness", {"real": 0.4, "synth": 0.5, "diff": 0.1, "ci95": [0.05, 0.15],
    ...                               "noise_floor": 0.02, "effect_size": 2.0, "n": 20, "paired": True})
    >>> row["status"], row["css"], row["ci"], row["kind"]
    ('gap', 'gap', '[0.05, 0.15]', 'paired')
    """
    stat = stat or {}
    verdict = verdict_of(stat)
    return {
        "name": name,
        "kind": "set" if "value" in stat and "real" not in stat else "paired",
        "real": format_number(stat.get("real")),
        "synth": format_number(stat.get("synth")),
        "diff": format_number(stat.get("diff")),
        "value": format_number(stat.get("value")),
        "ci": format_ci(stat.get("ci95")),
        "effect": format_number(stat.get("effect_size")),
        "effect_abs": abs(as_float(stat.get("effect_size"))),
        "noise_floor": format_number(stat.get("noise_floor")),
        "n": format_number(stat.get("n")),
        "paired": stat.get("paired"),
        "status": VERDICT_TEXT[verdict],
        "css": _VERDICT_CSS[verdict],
        **extra,
    }


def sorted_by_effect(rows: list[dict]) -> list[dict]:
    """Rows by decreasing |effect size|; rows without one last.

    Examples
    --------
    >>> [r["name"] for r in sorted_by_effect([{"name": "a", "effect_abs": 0.5}, {"name": "b", "effect_abs": float("nan")},
    ...                                       {"name": "c", "effect_abs": 2.0}])]
    ['c', 'a', 'b']
    """
    return sorted(rows, key=lambda r: -r["effect_abs"] if math.isfinite(r["effect_abs"]) else math.inf)


def ordered(keys: Iterable[str], first: Iterable[str]) -> list[str]:
    """``keys`` with those of ``first`` in front (in that order), the rest sorted.

    Examples
    --------
    >>> ordered(["kid", "b", "cka_gap", "a"], ("cka_gap", "cka_pooled", "kid"))
    ['cka_gap', 'kid', 'a', 'b']
    """
    keys = list(keys)
    head = [k for k in first if k in keys]
    return head + sorted(k for k in keys if k not in head)


def recommendation_card(rec: Mapping) -> dict:
    """One recommendation as its card prints it.

    Examples
    --------
    >>> from gapviz.result import example_result
    >>> card = recommendation_card(example_result().recommendations[0])
    >>> card["knob"], card["severity_css"], card["suggested"], card["evidence"][0]["ci"]
    ('exposure', 'medium', 'exposure = -0.25 EV stops', '[0.06, 0.1]')
    """
    suggested = rec.get("suggested")
    if suggested is not None:
        parameter = rec.get("parameter") or rec.get("knob")
        unit = rec.get("unit") or ""
        suggested = f"{parameter} = {pretty(suggested)} {unit}".strip()
    evidence = [
        {
            "statistic": str(item.get("statistic", "")),
            "layer": str(item.get("layer") or "–"),
            "real": format_number(item.get("real")),
            "synth": format_number(item.get("synth")),
            "diff": format_number(item.get("diff")),
            "effect": format_number(item.get("effect_size")),
            "ci": format_ci(item.get("ci95")),
        }
        for item in rec.get("evidence") or ()
    ]
    severity = str(rec.get("severity", "low"))
    return {
        "knob": str(rec.get("knob", "")),
        "action": str(rec.get("action", "")),
        "severity": severity,
        "severity_css": severity if severity in SEVERITY_ORDER else "low",
        "effect": format_number(rec.get("effect_size")),
        "ci": format_ci(rec.get("ci95")),
        "suggested": suggested,
        "notes": [str(note) for note in rec.get("notes") or ()],
        "evidence": evidence,
        "renderer": renderer_card(rec.get("renderer_settings")),
    }


def before_after(result: GapResult, before: GapResult) -> list[dict]:
    """Per recommended knob: the gap |mean synth - mean real| of its main statistic (first evidence
    item), before vs after, in the statistic's own units. (Not |effect size|: the paired d_z grows as
    pairs become more alike, so it can rise while the gap itself shrinks.)

    Examples
    --------
    >>> from gapviz.result import example_result
    >>> row = before_after(example_result(), example_result())[0]
    >>> row["knob"], row["before"], row["after"], row["verdict"]
    ('exposure', '0.08', '0.08', 'not narrowed')
    """
    rows, seen = [], set()
    recs = [(r, "before") for r in before.recommendations] + [(r, "after") for r in result.recommendations]
    after_severity = {r.get("knob"): r.get("severity") for r in result.recommendations}
    before_severity = {r.get("knob"): r.get("severity") for r in before.recommendations}
    for rec, _ in recs:
        knob = rec.get("knob")
        evidence = rec.get("evidence") or ()
        if knob in seen or not evidence:
            continue
        seen.add(knob)
        main = evidence[0]
        statistic, layer = main.get("statistic"), main.get("layer")
        old = before.stat(statistic, layer) or {}
        new = result.stat(statistic, layer) or {}
        e_old, e_new = abs(as_float(old.get("diff"))), abs(as_float(new.get("diff")))
        ratio = e_new / e_old if math.isfinite(e_old) and e_old > 0 and math.isfinite(e_new) else math.nan
        if verdict_of(new) == "within noise":  # the gap's CI now contains zero
            verdict, css = "closed", "closed"
        elif math.isfinite(ratio) and ratio < 1:
            verdict, css = "narrowed", "narrowed"
        elif math.isfinite(ratio):
            verdict, css = "not narrowed", "open"
        else:
            verdict, css = "not measured", "muted"
        rows.append({
            "knob": str(knob),
            "statistic": str(statistic),
            "layer": str(layer or "–"),
            "before": format_number(e_old),
            "after": format_number(e_new),
            "ratio": format_number(ratio),
            "ci_after": format_ci(new.get("ci95")),
            "effect": f"{format_number(as_float(old.get('effect_size')))} → {format_number(as_float(new.get('effect_size')))}",
            "severity_before": str(before_severity.get(knob) or "none"),
            "severity_after": str(after_severity.get(knob) or "none"),
            "verdict": verdict,
            "css": css,
        })
    return rows


def _overall(result: GapResult) -> dict:
    """Whole-comparison figures for the before/after section."""
    cka = [as_float((layer.stats.get("cka_gap") or {}).get("value")) for layer in result.layers]
    cka = [v for v in cka if math.isfinite(v)]
    severities = [r.get("severity") for r in result.recommendations]
    return {
        "cka": sum(cka) / len(cka) if cka else math.nan,
        "above_low": sum(s in ("high", "medium") for s in severities),
        "high": sum(s == "high" for s in severities),
    }


def before_after_overall(result: GapResult, before: GapResult) -> list[dict]:
    """The whole-comparison rows of the before/after section (mean CKA, recommendation counts).

    Examples
    --------
    >>> from gapviz.result import example_result
    >>> [(r["before"], r["after"]) for r in before_after_overall(example_result(), example_result())]
    [('0.85', '0.85'), ('1', '1'), ('0', '0')]
    """
    old, new = _overall(before), _overall(result)
    return [
        {"label": "mean CKA of GAP vectors over tapped layers (1 = same representation)",
         "before": format_number(old["cka"]), "after": format_number(new["cka"])},
        {"label": "recommendations above low", "before": str(old["above_low"]), "after": str(new["above_low"])},
        {"label": "high-severity recommendations", "before": str(old["high"]), "after": str(new["high"])},
    ]  # fmt: skip


def model_rows(model: Mapping) -> list[tuple[str, str]]:
    """The model table: (label, value) rows.

    Examples
    --------
    >>> model_rows({"architecture": "MobileNetV2", "input_shape": [96, 96, None]})[1:2] + model_rows({})[5:6]
    [('architecture', 'MobileNetV2'), ('input shape', '–')]
    """
    sha = model.get("sha256") or ""
    shape = model.get("input_shape")
    return [
        ("path", pretty(model.get("path") or "in-memory")),
        ("architecture", pretty(model.get("architecture") or "–")),
        ("sha256", sha[:12] if sha else "–"),
        ("loader", pretty(model.get("loader") or "–")),
        ("format", pretty(model.get("format") or "–")),
        ("input shape", " x ".join("?" if d is None else str(d) for d in shape) if shape else "–"),
        ("preprocessing", pretty(model.get("preprocess") or "–")),
        ("layer preset", pretty(model.get("preset") or "none")),
    ]


def _masks_text(masks: Mapping) -> list[tuple[str, str]]:
    out = []
    for side in ("real", "synth"):
        info = masks.get(side)
        if info is None:
            continue
        if isinstance(info, Mapping):
            text = ", ".join(f"{k.replace('_', ' ')}: {pretty(v)}" for k, v in info.items())
        else:
            text = pretty(info)
        out.append((side, text))
    return out


def data_rows(data: Mapping) -> list[tuple[str, str]]:
    """The data table: pairs, images, pairing, masks, provenance, sizes, skipped inputs.

    Examples
    --------
    >>> from gapviz.result import example_result
    >>> dict(data_rows(example_result().data))["pairing"]
    'stem (paired)'
    """
    paired = data.get("paired")
    rows = [("pairs", pretty(data.get("n_pairs", "–")))]
    if data.get("n_real") is not None or data.get("n_synth") is not None:
        kinds = data.get("kinds") or {}
        rows.append(("images", ", ".join(
            f"{pretty(data.get(f'n_{side}', '?'))} {label}" + (f" ({kinds[side]})" if kinds.get(side) else "")
            for side, label in (("real", "real"), ("synth", "synthetic")))))
    rows += [
        ("pairing", pretty(data.get("pairing") or "–")
         + ("" if paired is None else (" (paired)" if paired else " (unpaired)"))),
    ]
    if data.get("unpaired_reason"):
        rows.append(("why unpaired", pretty(data["unpaired_reason"])))
    for side, text in _masks_text(data.get("masks") or {}):
        rows.append((f"masks, {side}", text))
    rows += provenance_rows(data)
    if data.get("analysis_size"):
        rows.append(("analysis size", " x ".join(str(d) for d in data["analysis_size"])))
    skipped = data.get("skipped") or ()
    unmatched = data.get("unmatched") or {}
    n_unmatched = sum(len(v or ()) for v in unmatched.values())
    rows.append(("skipped / unmatched", f"{len(skipped)} / {n_unmatched}"))
    return rows


def summary_line(result: GapResult) -> str:
    """The one line at the top of the report and the Jupyter summary.

    Examples
    --------
    >>> from gapviz.result import example_result
    >>> summary_line(example_result())
    'demo (no hash) · 12 pairs, paired by stem · 2 layers · masks given'
    """
    model, data = result.model, result.data
    parts = [
        f"{model.get('architecture') or 'model'} ({(model.get('sha256') or '')[:12] or 'no hash'})",
        f"{data.get('n_pairs', '?')} pairs"
        + (f", paired by {data['pairing']}" if data.get("paired") and data.get("pairing") else "")
        + ("" if data.get("paired", True) else ", unpaired"),
        f"{len(result.layers)} layers",
    ]
    masks = data.get("masks") or {}
    est = [side for side in ("real", "synth")
           if isinstance(masks.get(side), Mapping) and masks[side].get("estimated")]
    parts.append("masks estimated on " + " and ".join(est) if est else "masks given")
    parts[-1] = summary_text(data) or parts[-1]
    return " · ".join(parts)
