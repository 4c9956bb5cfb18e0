"""The HTML report of a `GapResult`: one self-contained file, and a compact Jupyter summary.

The report draws only what the result holds; it never recomputes a statistic. The two charts come
from :mod:`gapviz.plots` as PNG; the image panels (inputs, Canny edges, feature maps, thumbnails)
are drawn with numpy and PIL by :mod:`gapviz.report._panels`: photos as JPEG at the size shown,
each embedded once as a CSS class that every panel showing it reuses, feature maps as PNG at their
native resolution. Everything is a base64 data URI, the CSS is inline, and there is no script and
no external request, so the file opens offline and can be mailed around.

A section is a template plus a context entry: ``report.html`` includes the section's template
(e.g. ``{% include "_furthest.html" %}``) and `_view` puts the section's data under one key of
``r`` (e.g. ``r.furthest``), and ``sections`` lists it in the navigation. Templates are
Jinja2 files shipped in ``gapviz/report/templates`` and rendered with autoescape on: every file
name, layer name and path from the user is escaped.
"""

from __future__ import annotations

import base64
import io
import json
import math
import os
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

from gapviz._progress import NoBar as _NoBar
from gapviz.report._renderer import renderer_card, renderer_script
from gapviz.vocabulary import SEVERITIES

if TYPE_CHECKING:  # pragma: no cover
    import jinja2
    from matplotlib.figure import Figure

    from gapviz.result import GapResult

from gapviz.report._notes import no_recommendation_text, report_notes, report_warnings

__all__ = ["format_ci", "format_number", "render_report", "render_summary"]

SEVERITY_ORDER = {s: i for i, s in enumerate(SEVERITIES)}
_LAYER_STAT_ORDER = ("background_ratio", "edge_sharpness", "dead_fraction")
_SET_STAT_ORDER = ("cka_gap", "cka_pooled", "kid")


# -- formatting ----------------------------------------------------------------------------------
def format_number(value: Any, digits: int = 3) -> str:
    """A number with ``digits`` significant digits; ``"–"`` for a missing or non-finite value.

    Examples
    --------
    >>> format_number(0.123456), format_number(12345.6), format_number(None), format_number(3.2e-6)
    ('0.123', '12,346', '–', '3.2e-06')
    """
    if isinstance(value, bool):
        return "yes" if value else "no"
    try:
        x = float(value)
    except (TypeError, ValueError):
        return "–" if value is None else str(value)
    if not math.isfinite(x):
        return "–"
    if x == 0:
        return "0"
    if abs(x) >= 10 ** digits:
        return f"{x:,.0f}"
    if abs(x) < 1e-3:
        return f"{x:.{max(digits - 1, 1)}g}"
    return f"{x:.{digits}g}"


def format_ci(ci: Any, digits: int = 3) -> str:
    """A confidence interval ``[lo, hi]`` formatted as ``"[0.1, 0.3]"``; ``"–"`` when absent.

    Examples
    --------
    >>> format_ci([0.01234, 0.5])
    '[0.0123, 0.5]'
    """
    if not ci or len(ci) != 2 or ci[0] is None or ci[1] is None:
        return "–"
    return f"[{format_number(ci[0], digits)}, {format_number(ci[1], digits)}]"


def _pretty(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return format_number(value) if isinstance(value, float) else str(value)
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(value)


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


# -- the view model: plain dicts the templates print -----------------------------------------------
def _ci_contains_zero(stat: Mapping) -> bool | None:
    ci = stat.get("ci95") or ()
    if len(ci) != 2:
        return None
    lo, hi = _float(ci[0]), _float(ci[1])
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return None
    return lo <= 0 <= hi


def _stat_row(name: str, stat: Mapping, **extra: Any) -> dict:
    """One table row of a paired ``Stat`` or a set statistic."""
    stat = stat or {}
    zero = _ci_contains_zero(stat)
    diff, floor = _float(stat.get("diff")), _float(stat.get("noise_floor"))
    if zero is None:
        status, css = "no CI", "muted"
    elif zero:
        status, css = "within noise", "noise"
    elif math.isfinite(diff) and math.isfinite(floor) and abs(diff) <= floor:
        status, css = "below noise floor", "noise"
    else:
        status, css = "gap", "gap"
    return {
        "name": name,
        "kind": "set" if "value" in stat and "real" not in stat else "paired",
        "real": format_number(stat.get("real")),
        "synth": format_number(stat.get("synth")),
        "diff": format_number(stat.get("diff")),
        "value": format_number(stat.get("value")),
        "ci": format_ci(stat.get("ci95")),
        "effect": format_number(stat.get("effect_size")),
        "effect_abs": abs(_float(stat.get("effect_size"))),
        "noise_floor": format_number(stat.get("noise_floor")),
        "n": format_number(stat.get("n")),
        "paired": stat.get("paired"),
        "status": status,
        "css": css,
        **extra,
    }


def _sorted_by_effect(rows: list[dict]) -> list[dict]:
    return sorted(rows, key=lambda r: -r["effect_abs"] if math.isfinite(r["effect_abs"]) else math.inf)


def _ordered(keys: Iterable[str], first: Iterable[str]) -> list[str]:
    keys = list(keys)
    head = [k for k in first if k in keys]
    return head + sorted(k for k in keys if k not in head)


def _lookup_stat(result: GapResult, statistic: str, layer: str | None) -> Mapping | None:
    """The stored statistic named in a recommendation's evidence (layer, image or decay)."""
    if layer:
        bare = str(layer).rsplit("/", 1)[-1]
        for item in result.layers:
            if item.name == layer or item.name.rsplit("/", 1)[-1] == bare:
                return item.stats.get(statistic)
    # image statistics, and across-layer statistics (evidence layer "across layers")
    return result.image_stats.get(statistic) or result.decay.get(statistic)


def _recommendation(rec: Mapping) -> dict:
    suggested = rec.get("suggested")
    if suggested is not None:
        parameter = rec.get("parameter") or rec.get("knob")
        unit = rec.get("unit") or ""
        suggested = f"{parameter} = {_pretty(suggested)} {unit}".strip()
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


def _before_after(result: GapResult, before: GapResult) -> list[dict]:
    """Per recommended knob: the gap |mean synth - mean real| of its main statistic (first evidence
    item), before vs after, in the statistic's own units. (Not |effect size|: the paired d_z grows as
    pairs become more alike, so it can rise while the gap itself shrinks.)"""
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
        old = _lookup_stat(before, statistic, layer) or {}
        new = _lookup_stat(result, statistic, layer) or {}
        e_old, e_new = abs(_float(old.get("diff"))), abs(_float(new.get("diff")))
        ratio = e_new / e_old if math.isfinite(e_old) and e_old > 0 and math.isfinite(e_new) else math.nan
        zero = _ci_contains_zero(new) if new else None
        if zero:
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
            "effect": f"{format_number(_float(old.get('effect_size')))} → {format_number(_float(new.get('effect_size')))}",
            "severity_before": str(before_severity.get(knob) or "none"),
            "severity_after": str(after_severity.get(knob) or "none"),
            "verdict": verdict,
            "css": css,
        })
    return rows


def _overall(result: GapResult) -> dict:
    """Whole-comparison figures for the before/after section."""
    cka = [_float((layer.stats.get("cka_gap") or {}).get("value")) for layer in result.layers]
    cka = [v for v in cka if math.isfinite(v)]
    severities = [r.get("severity") for r in result.recommendations]
    return {
        "cka": sum(cka) / len(cka) if cka else math.nan,
        "above_low": sum(s in ("high", "medium") for s in severities),
        "high": sum(s == "high" for s in severities),
    }


def _before_after_overall(result: GapResult, before: GapResult) -> list[dict]:
    old, new = _overall(before), _overall(result)
    return [
        {"label": "mean CKA of GAP vectors over tapped layers (1 = same representation)",
         "before": format_number(old["cka"]), "after": format_number(new["cka"])},
        {"label": "recommendations above low", "before": str(old["above_low"]), "after": str(new["above_low"])},
        {"label": "high-severity recommendations", "before": str(old["high"]), "after": str(new["high"])},
    ]  # fmt: skip


def _figure_data(fig: Figure, *, dpi: float, alt: str) -> dict:
    """The figure as a lossless RGB PNG data URI (no metadata), with its pixel size for ``img``.

    RGB without the alpha channel is about a tenth smaller than matplotlib's RGBA PNG; the
    figures are opaque anyway. Nothing is quantised: faint background activations are the point.
    """
    import numpy as np
    from PIL import Image

    fig.set_dpi(dpi)
    fig.patch.set_facecolor("white")
    fig.canvas.draw()
    rgb = np.asarray(fig.canvas.buffer_rgba())[..., :3]
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb)).save(buf, format="PNG", compress_level=6)
    return {
        "src": "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii"),
        "width": int(rgb.shape[1]),
        "height": int(rgb.shape[0]),
        "alt": alt,
    }


def _model_rows(model: Mapping) -> list[tuple[str, str]]:
    sha = model.get("sha256") or ""
    shape = model.get("input_shape")
    return [
        ("path", _pretty(model.get("path") or "in-memory")),
        ("architecture", _pretty(model.get("architecture") or "–")),
        ("sha256", sha[:12] if sha else "–"),
        ("loader", _pretty(model.get("loader") or "–")),
        ("format", _pretty(model.get("format") or "–")),
        ("input shape", " x ".join("?" if d is None else str(d) for d in shape) if shape else "–"),
        ("preprocessing", _pretty(model.get("preprocess") or "–")),
        ("layer preset", _pretty(model.get("preset") or "none")),
    ]


def _masks_text(masks: Mapping) -> list[tuple[str, str]]:
    out = []
    for side in ("real", "synth"):
        info = masks.get(side)
        if info is None:
            continue
        if isinstance(info, Mapping):
            text = ", ".join(f"{k.replace('_', ' ')}: {_pretty(v)}" for k, v in info.items())
        else:
            text = _pretty(info)
        out.append((side, text))
    return out


def _data_rows(data: Mapping) -> list[tuple[str, str]]:
    from gapviz.report._provenance import provenance_rows

    paired = data.get("paired")
    rows = [("pairs", _pretty(data.get("n_pairs", "–")))]
    if data.get("n_real") is not None or data.get("n_synth") is not None:
        kinds = data.get("kinds") or {}
        rows.append(("images", ", ".join(
            f"{_pretty(data.get(f'n_{side}', '?'))} {label}" + (f" ({kinds[side]})" if kinds.get(side) else "")
            for side, label in (("real", "real"), ("synth", "synthetic")))))
    rows += [
        ("pairing", _pretty(data.get("pairing") or "–")
         + ("" if paired is None else (" (paired)" if paired else " (unpaired)"))),
    ]
    if data.get("unpaired_reason"):
        rows.append(("why unpaired", _pretty(data["unpaired_reason"])))
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


def _summary_line(result: GapResult) -> str:
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
    from gapviz.report._provenance import summary_text

    parts[-1] = summary_text(data) or parts[-1]
    return " · ".join(parts)


def _example_view(pair: Any, index: int) -> dict:
    """One example pair's panels (`gapviz.report._panels`) and the sizes the template lays out."""
    from gapviz.plots import short_layer_name
    from gapviz.report import _panels

    h, w = (np.asarray(pair.real_image).shape[:2] or (1, 1))
    scale = _panels.PHOTO / max(h, w)
    cell = _panels.CELL / max(h, w)
    return {
        "stem": str(pair.stem),
        "real_path": str(pair.real_path or "array input"),
        "synth_path": str(pair.synth_path or "array input"),
        **_panels.pair_panels(pair, index),
        "photo_w": round(w * scale), "photo_h": round(h * scale),
        "cell_w": round(w * cell), "cell_h": round(h * cell),
        "features": [{"layer": feat.layer, "short": short_layer_name(feat.layer), **_panels.layer_panels(feat)}
                     for feat in pair.features],
    }


def _furthest_view(result: GapResult) -> list[dict]:
    """Per recommended knob, the pairs furthest from their partner (`gapviz.pairs.furthest_pairs`),
    with the thumbnails `compare` kept (each embedded once, even when several knobs list a pair)."""
    from gapviz.pairs import furthest_pairs
    from gapviz.report import _panels

    thumbs: dict[str, dict] = {}
    out = []
    for item in furthest_pairs(result.pairs, result.recommendations, k=3):
        rows = []
        for row in item["rows"]:
            pair = row["pair"]
            entry = {"pair": pair, "real": format_number(row["real"]), "synth": format_number(row["synth"]),
                     "diff": format_number(row["diff"]), "thumb": None}
            images = (result.thumbnails or {}).get(pair)
            if images is not None:
                key = f"gv-th-{len(thumbs)}" if pair not in thumbs else thumbs[pair]["key"]
                if pair not in thumbs:
                    real, synth = (_panels.photo(im, _panels.THUMB) for im in images)
                    thumbs[pair] = {"key": key, "w": real["width"], "h": real["height"]}
                    entry["css"] = {f"{key}-real": real, f"{key}-synth": synth}
                entry["thumb"] = thumbs[pair]
            rows.append(entry)
        out.append({"knob": item["knob"], "statistic": item["statistic"], "layer": item["layer"] or "", "rows": rows})
    return out


def _view(result: GapResult, *, title: str | None, before: GapResult | None, dpi: float,
          figures: bool, bar: Any = None) -> dict:
    from gapviz._version import __version__

    recs = [_recommendation(r) for r in result.recommendations]
    view: dict[str, Any] = {
        "title": title or "gapviz report: the synthetic gap",
        "created": result.created or "",
        "version": __version__,
        "summary_line": _summary_line(result),
        "model_rows": _model_rows(result.model),
        "data_rows": _data_rows(result.data),
        "recommendations": recs,
        "top": recs[:3],
        "notes": report_notes(result.model, result.data),
        "warnings": report_warnings(result.data),
        "no_recommendation": no_recommendation_text(result.data),
        "renderer_script": renderer_script(result),
    }
    if not figures:
        return view

    def fig(f: Figure, alt: str, *, chart: bool = False) -> dict:
        # line charts stay sharp at 100 dpi and are few; image grids follow ``dpi`` (file size)
        return _figure_data(f, dpi=max(dpi, 100) if chart else dpi, alt=alt)

    from gapviz import plots

    bar = bar or _NoBar()
    # the panels (numpy + PIL encoders, which release the GIL) are drawn in threads while
    # matplotlib draws the two charts here
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1)), thread_name_prefix="gapviz-report")
    jobs = [pool.submit(_example_view, pair, i) for i, pair in enumerate(result.examples)]
    pool.shutdown(wait=False)
    layers = result.layers
    view["curves"] = fig(plots.plot_layer_curves(result, width=10.5),
                         "background ratio, edge sharpness and CKA across layers", chart=True) if layers else None
    bar.update(1)
    view["decay"] = [_stat_row(k, v) for k, v in result.decay.items()]

    paired_rows, set_rows = [], []
    for layer in layers:
        paired = [k for k, v in layer.stats.items() if isinstance(v, Mapping) and "real" in v]
        sets = [k for k, v in layer.stats.items() if isinstance(v, Mapping) and "value" in v and "real" not in v]
        for i, key in enumerate(_ordered(paired, _LAYER_STAT_ORDER)):
            paired_rows.append(_stat_row(key, layer.stats[key], layer=layer.name, first=i == 0,
                                         span=len(paired), shape=" x ".join(str(d) for d in layer.shape)))
        set_rows.append({
            "layer": layer.name,
            "stats": [_stat_row(k, layer.stats[k]) for k in _ordered(sets, _SET_STAT_ORDER)],
        })
    view["layer_rows"] = paired_rows
    view["set_rows"] = set_rows
    view["set_names"] = _ordered({r["name"] for s in set_rows for r in s["stats"]}, _SET_STAT_ORDER)
    for s in set_rows:
        by_name = {r["name"]: r for r in s["stats"]}
        s["cells"] = [by_name.get(name) for name in view["set_names"]]

    image_rows = _sorted_by_effect([_stat_row(k, v) for k, v in result.image_stats.items()])
    view["image_rows"] = image_rows
    view["image_fig"] = fig(plots.plot_image_stats(result, width=10.5), "image statistics as effect sizes",
                            chart=True) if image_rows else None
    bar.update(1)
    view["canny"] = {k: _pretty(v) for k, v in (result.canny or {}).items()}
    view["canny_rows"] = [r for r in image_rows if r["name"].startswith("canny")]

    examples, image_classes = [], {}
    for job, pair in zip(jobs, result.examples, strict=True):
        ex = job.result()
        image_classes.update(ex.pop("css"))
        examples.append(ex)
        bar.update(1 + len(pair.features))
    view["furthest"] = _furthest_view(result)
    view["has_pairs"] = result.pairs is not None and len(result.pairs) > 0
    for item in view["furthest"]:
        for row in item["rows"]:
            image_classes.update(row.pop("css", {}))
    view["image_classes"] = image_classes
    view["canny_caption"] = plots._canny_caption(result)
    view["examples"] = examples
    from gapviz.report._impact import impact_view

    view["impact"] = impact_view(result, fig)

    data = result.data
    view["skipped"] = [{k: str(item.get(k) or "–") for k in ("path", "side", "reason")}
                       for item in data.get("skipped") or ()]
    unmatched = data.get("unmatched") or {}
    view["unmatched"] = [(side, [str(p) for p in unmatched.get(side) or ()]) for side in ("real", "synth")]
    view["unpaired_reason"] = data.get("unpaired_reason")

    params = dict(result.parameters or {})
    view["command"] = params.pop("command", None)
    view["seed"] = _pretty(params.get("seed", "not recorded"))
    view["parameters"] = [(k, _pretty(v)) for k, v in sorted(params.items())]
    view["environment"] = [(k, _pretty(v)) for k, v in sorted((result.environment or {}).items())]
    view["run_rows"] = [("model sha256", result.model.get("sha256") or "–"), ("seed", view["seed"]),
                        ("created", result.created or "–"), ("gapviz", __version__)]

    view["before_after"] = _before_after(result, before) if before is not None else None
    view["before_after_overall"] = _before_after_overall(result, before) if before is not None else None
    view["before_created"] = before.created if before is not None else None
    view["before_summary"] = _summary_line(before) if before is not None else None

    sections = [("summary", "Summary"), ("recommendations", "Recommendations"), ("furthest-pairs", "Pairs to check")]
    if before is not None:
        sections.append(("before-after", "Before / after"))
    if view["impact"]:
        sections.append(("model-impact", "What each gap does to the model"))
    sections += [("curves", "Across layers"), ("canny", "Canny baseline"), ("features", "Feature maps"),
                 ("image-stats", "Image properties"), ("layer-stats", "Layer statistics"),
                 ("inputs", "Skipped inputs"), ("methods", "Methods")]
    view["sections"] = sections
    return view


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("gapviz.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["num"] = format_number
    env.filters["ci"] = format_ci
    return env


# -- public --------------------------------------------------------------------------------------
def render_report(result: GapResult, *, title: str | None = None, before: GapResult | None = None,
                  dpi: float = 80, progress: bool | None = False) -> str:
    """The self-contained HTML report of a comparison.

    Sections: summary, recommendations with their evidence, (before/after), curves across
    layers, the Canny baseline, feature-map galleries of the example pairs, image properties,
    per-layer statistics, skipped and unpaired inputs, methods and reproducibility.

    Parameters
    ----------
    result : GapResult
        The comparison to report.
    title : str, optional
        Page title (escaped like every other string).
    before : GapResult, optional
        An earlier comparison, e.g. before the renderer was changed. Adds a section comparing
        the gap |mean synth - mean real| of each recommended knob's main statistic (its first evidence item) before
        and after.
    dpi : float, optional
        Resolution of the two embedded charts; lower gives a smaller file. Image panels are
        stored at the size they are shown (photos as JPEG, feature maps as PNG at native size).
    progress : bool or None, default False
        A progress bar over the figures and panels: True on, False off, None where the user
        sees it (Jupyter, a terminal; see `gapviz._progress`).

    Returns
    -------
    str
        The HTML document. It makes no network request and runs no script.

    Examples
    --------
    >>> from gapviz.report import render_report
    >>> html = render_report(result, title="shackles, run 3")  # doctest: +SKIP
    >>> result.save_report("report.html")  # the same, written atomically  # doctest: +SKIP
    """
    from gapviz._progress import progress_bar

    steps = 3 + sum(1 + len(pair.features) for pair in result.examples)
    with progress_bar(steps, progress=progress, unit="figure", desc="report") as bar:
        view = _view(result, title=title, before=before, dpi=dpi, figures=True, bar=bar)
        html = _environment().get_template("report.html").render(r=view)
        bar.update(1)
    return html


def render_summary(result: GapResult) -> str:
    """A compact HTML fragment for Jupyter: one summary line and the recommendation cards.

    Parameters
    ----------
    result : GapResult
        The comparison to summarise.

    Returns
    -------
    str
        An HTML fragment without images; its CSS is scoped to the ``gapviz-summary`` class.

    Examples
    --------
    >>> result  # in Jupyter, shows render_summary(result)  # doctest: +SKIP
    """
    view = _view(result, title=None, before=None, dpi=0, figures=False)
    return _environment().get_template("summary.html").render(r=view)
