"""The view model of the report: one dict of plain values per page, built in named steps.

`build_view` puts each section's data under one key (``r.furthest``, ``r.examples``, ...); the
templates print it. Figures come from `gapviz.report._fig_maps` / ``_fig_stats`` as PNG and the
image panels from `gapviz.report._panels`; nothing is recomputed. A section is a template plus
a context entry: ``report.html`` includes the section's template and `build_view` puts the
section's data under one key of ``r``; `_sections` lists it in the navigation.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import numpy as np

from gapviz._progress import NoBar as _NoBar
from gapviz._version import __version__
from gapviz.pairs import furthest_pairs
from gapviz.report._fig_common import figure_png, short_layer_name
from gapviz.report._fig_maps import canny_caption
from gapviz.report._fig_stats import plot_image_stats, plot_layer_curves
from gapviz.report._format import format_number, pretty
from gapviz.report._impact import impact_view
from gapviz.report._notes import no_recommendation_text, report_notes, report_warnings
from gapviz.report._panels import CELL, PHOTO, THUMB, layer_panels, pair_panels, photo
from gapviz.report._renderer import renderer_script
from gapviz.report._rows import (
    before_after,
    before_after_overall,
    data_rows,
    model_rows,
    ordered,
    recommendation_card,
    sorted_by_effect,
    stat_row,
    summary_line,
)

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from gapviz.result import GapResult

__all__ = ["build_view"]

_LAYER_STAT_ORDER = ("background_ratio", "edge_sharpness", "dead_fraction")
_SET_STAT_ORDER = ("cka_gap", "cka_pooled", "kid")


def _example_view(pair: Any, index: int) -> dict:
    """One example pair's panels (`gapviz.report._panels`) and the sizes the template lays out."""
    h, w = (np.asarray(pair.real_image).shape[:2] or (1, 1))
    scale = PHOTO / max(h, w)
    cell = CELL / max(h, w)
    return {
        "stem": str(pair.stem),
        "real_path": str(pair.real_path or "array input"),
        "synth_path": str(pair.synth_path or "array input"),
        **pair_panels(pair, index),
        "photo_w": round(w * scale), "photo_h": round(h * scale),
        "cell_w": round(w * cell), "cell_h": round(h * cell),
        "features": [{"layer": feat.layer, "short": short_layer_name(feat.layer), **layer_panels(feat)}
                     for feat in pair.features],
    }


def _furthest_view(result: GapResult) -> list[dict]:
    """Per recommended knob, the pairs furthest from their partner (`gapviz.pairs.furthest_pairs`),
    with the thumbnails `compare` kept (each embedded once, even when several knobs list a pair)."""
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
                    real, synth = (photo(im, THUMB) for im in images)
                    thumbs[pair] = {"key": key, "w": real["width"], "h": real["height"]}
                    entry["css"] = {f"{key}-real": real, f"{key}-synth": synth}
                entry["thumb"] = thumbs[pair]
            rows.append(entry)
        out.append({"knob": item["knob"], "statistic": item["statistic"], "layer": item["layer"] or "", "rows": rows})
    return out


# -- the page, step by step ---------------------------------------------------------------------------
def _summary_view(result: GapResult, title: str | None) -> dict[str, Any]:
    """What the Jupyter summary and the top of the report show: no figures."""
    recs = [recommendation_card(r) for r in result.recommendations]
    return {
        "title": title or "gapviz report: the synthetic gap",
        "created": result.created or "",
        "version": __version__,
        "summary_line": summary_line(result),
        "model_rows": model_rows(result.model),
        "data_rows": data_rows(result.data),
        "recommendations": recs,
        "top": recs[:3],
        "notes": report_notes(result.model, result.data),
        "warnings": report_warnings(result.data),
        "no_recommendation": no_recommendation_text(result.data),
        "renderer_script": renderer_script(result),
    }


def _start_panels(result: GapResult) -> list[Future]:
    """The example pairs' panels, drawn in threads (numpy + PIL encoders release the GIL) while
    matplotlib draws the charts in the caller's thread."""
    pool = ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1)), thread_name_prefix="gapviz-report")
    jobs = [pool.submit(_example_view, pair, i) for i, pair in enumerate(result.examples)]
    pool.shutdown(wait=False)
    return jobs


def _layer_tables(layers: tuple) -> dict[str, Any]:
    """The per-layer paired statistics (one row each) and the set statistics (one row per layer)."""
    paired_rows, set_rows = [], []
    for layer in layers:
        paired = [k for k, v in layer.stats.items() if isinstance(v, Mapping) and "real" in v]
        sets = [k for k, v in layer.stats.items() if isinstance(v, Mapping) and "value" in v and "real" not in v]
        for i, key in enumerate(ordered(paired, _LAYER_STAT_ORDER)):
            paired_rows.append(stat_row(key, layer.stats[key], layer=layer.name, first=i == 0,
                                        span=len(paired), shape=" x ".join(str(d) for d in layer.shape)))
        set_rows.append({
            "layer": layer.name,
            "stats": [stat_row(k, layer.stats[k]) for k in ordered(sets, _SET_STAT_ORDER)],
        })
    set_names = ordered({r["name"] for s in set_rows for r in s["stats"]}, _SET_STAT_ORDER)
    for s in set_rows:
        by_name = {r["name"]: r for r in s["stats"]}
        s["cells"] = [by_name.get(name) for name in set_names]
    return {"layer_rows": paired_rows, "set_rows": set_rows, "set_names": set_names}


def _statistics_view(result: GapResult, fig: Callable[..., dict], bar: Any) -> dict[str, Any]:
    """The curves across layers, the layer and image statistics, and the Canny baseline."""
    view: dict[str, Any] = {}
    view["curves"] = fig(plot_layer_curves(result, width=10.5),
                         "background ratio, edge sharpness and CKA across layers", chart=True) if result.layers else None
    bar.update(1)
    view["decay"] = [stat_row(k, v) for k, v in result.decay.items()]
    view.update(_layer_tables(result.layers))
    image_rows = sorted_by_effect([stat_row(k, v) for k, v in result.image_stats.items()])
    view["image_rows"] = image_rows
    view["image_fig"] = fig(plot_image_stats(result, width=10.5), "image statistics as effect sizes",
                            chart=True) if image_rows else None
    bar.update(1)
    view["canny"] = {k: pretty(v) for k, v in (result.canny or {}).items()}
    view["canny_rows"] = [r for r in image_rows if r["name"].startswith("canny")]
    return view


def _pairs_view(result: GapResult, jobs: list[Future], bar: Any) -> dict[str, Any]:
    """The example pairs' panels and the pairs to check, with every photo embedded once as a CSS class."""
    examples, image_classes = [], {}
    for job, pair in zip(jobs, result.examples, strict=True):
        ex = job.result()
        image_classes.update(ex.pop("css"))
        examples.append(ex)
        bar.update(1 + len(pair.features))
    furthest = _furthest_view(result)
    for item in furthest:
        for row in item["rows"]:
            image_classes.update(row.pop("css", {}))
    return {
        "furthest": furthest,
        "has_pairs": result.pairs is not None and len(result.pairs) > 0,
        "image_classes": image_classes,
        "canny_caption": canny_caption(result),
        "examples": examples,
    }


def _inputs_and_run_view(result: GapResult) -> dict[str, Any]:
    """Skipped and unmatched inputs, and what reproduces the run (command, seed, parameters, versions)."""
    data = result.data
    unmatched = data.get("unmatched") or {}
    params = dict(result.parameters or {})
    seed = pretty(params.get("seed", "not recorded"))
    return {
        "skipped": [{k: str(item.get(k) or "–") for k in ("path", "side", "reason")}
                    for item in data.get("skipped") or ()],
        "unmatched": [(side, [str(p) for p in unmatched.get(side) or ()]) for side in ("real", "synth")],
        "unpaired_reason": data.get("unpaired_reason"),
        "command": params.pop("command", None),
        "seed": seed,
        "parameters": [(k, pretty(v)) for k, v in sorted(params.items())],
        "environment": [(k, pretty(v)) for k, v in sorted((result.environment or {}).items())],
        "run_rows": [("model sha256", result.model.get("sha256") or "–"), ("seed", seed),
                     ("created", result.created or "–"), ("gapviz", __version__)],
    }


def _before_after_view(result: GapResult, before: GapResult | None) -> dict[str, Any]:
    """The before/after section, when an earlier comparison is given (all None otherwise)."""
    return {
        "before_after": before_after(result, before) if before is not None else None,
        "before_after_overall": before_after_overall(result, before) if before is not None else None,
        "before_created": before.created if before is not None else None,
        "before_summary": summary_line(before) if before is not None else None,
    }


def _sections(view: Mapping[str, Any], before: GapResult | None) -> list[tuple[str, str]]:
    """The navigation: (anchor, title) of every section the page shows, in order."""
    sections = [("summary", "Summary"), ("recommendations", "Recommendations"), ("furthest-pairs", "Pairs to check")]
    if before is not None:
        sections.append(("before-after", "Before / after"))
    if view["impact"]:
        sections.append(("model-impact", "What each gap does to the model"))
    sections += [("curves", "Across layers"), ("canny", "Canny baseline"), ("features", "Feature maps"),
                 ("image-stats", "Image properties"), ("layer-stats", "Layer statistics"),
                 ("inputs", "Skipped inputs"), ("methods", "Methods")]
    return sections


def build_view(result: GapResult, *, title: str | None, before: GapResult | None, dpi: float,
               figures: bool, bar: Any = None) -> dict:
    """The page's view model; ``figures=False`` gives only the summary (the Jupyter fragment).

    Examples
    --------
    >>> from gapviz.result import example_result
    >>> view = build_view(example_result(), title=None, before=None, dpi=40, figures=True)
    >>> view["title"], len(view["examples"]), view["sections"][0], view["image_fig"]["src"][:14]
    ('gapviz report: the synthetic gap', 2, ('summary', 'Summary'), 'data:image/png')
    """
    view = _summary_view(result, title)
    if not figures:
        return view

    def fig(f: Figure, alt: str, *, chart: bool = False) -> dict:
        # line charts stay sharp at 100 dpi and are few; image grids follow ``dpi`` (file size)
        return figure_png(f, dpi=max(dpi, 100) if chart else dpi, alt=alt)

    bar = bar or _NoBar()
    jobs = _start_panels(result)
    view.update(_statistics_view(result, fig, bar))
    view.update(_pairs_view(result, jobs, bar))
    view["impact"] = impact_view(result, fig)
    view.update(_inputs_and_run_view(result))
    view.update(_before_after_view(result, before))
    view["sections"] = _sections(view, before)
    return view
