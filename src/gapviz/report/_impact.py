"""The report section "What each gap does to the model": view data and its two figures.

It draws `GapResult.model_impact` (prediction impact of the recommended amounts, label errors,
attribution shares) and `GapResult.attribution_examples`; it recomputes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from gapviz.report._fig_common import (
    NEUTRAL_COLOR,
    SYNTH_COLOR,
    hide_ticks,
    mpl_text,
    new_figure,
    num,
    short_layer_name,
)
from gapviz.report._format import format_ci, format_number, pretty

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from gapviz.result import GapResult

__all__ = ["impact_view", "plot_attribution_maps", "plot_impact"]


def _amount(value: Any) -> str:
    if isinstance(value, Mapping):
        return ", ".join(f"{k} = {pretty(v)}" for k, v in value.items())
    return pretty(value)


def plot_impact(block: Mapping, *, width: float = 8.0, dpi: float = 100) -> Figure:
    """Horizontal bars: mean signed change of the prediction per knob (and all together), 95 % CI whiskers;
    a hollow diamond marks the mean absolute change (same axis, drawn with the sign of the mean change).

    Examples
    --------
    >>> block = {"unit": "wear (fraction)", "ranking": [{"knob": "camera_focus", "mean_change": 0.02,
    ...          "ci95": [0.01, 0.03], "mean_abs_change": 0.03, "excludes_zero": True}]}
    >>> fig = plot_impact(block)
    >>> [t.get_text() for t in fig.axes[0].get_yticklabels()]
    ['camera_focus']
    """
    rows = list(block.get("ranking") or ())
    if block.get("all") and len(rows) > 1:
        rows.append({"knob": "all together", **block["all"]})
    height = 0.9 + 0.42 * len(rows)
    fig = new_figure(width, height, dpi=dpi)
    ax = fig.add_axes((0.22, 0.9 / height * 0.75, 0.74, 1 - 0.9 / height))
    y = np.arange(len(rows))[::-1]
    for yi, row in zip(y, rows, strict=True):
        mean = num(row.get("mean_change"))
        lo, hi = (num(v) for v in (row.get("ci95") or (None, None)))
        color = SYNTH_COLOR if row.get("excludes_zero") else NEUTRAL_COLOR
        ax.barh(yi, mean, color=color, height=0.6)
        if np.isfinite(lo) and np.isfinite(hi):
            ax.errorbar([mean], [yi], xerr=[[mean - lo], [hi - mean]], color="black", capsize=3, lw=1)
        mean_abs = num(row.get("mean_abs_change"))
        if np.isfinite(mean_abs):
            ax.plot([np.copysign(mean_abs, mean if mean else 1.0)], [yi], marker="D", mfc="none", mec="black", ms=5)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(y)
    ax.set_yticklabels([mpl_text(r["knob"]) for r in rows])
    ax.set_xlabel(mpl_text(f"change of the prediction ({block.get('unit', 'model output')})"), fontsize=9)
    ax.tick_params(labelsize=9)
    return fig


def plot_attribution_maps(pair: Mapping, image_real: np.ndarray | None = None, image_synth: np.ndarray | None = None,
                          *, width: float = 10.0, dpi: float = 100) -> Figure:  # fmt: skip
    """One example pair: real (top) and synthetic (bottom) |gradient x activation| per layer, one colour scale per layer.

    Examples
    --------
    >>> import numpy as np
    >>> maps = {"demo/conv1": (np.ones((4, 4)), np.zeros((4, 4)))}
    >>> fig = plot_attribution_maps({"stem": "pair_0", "maps": maps})
    >>> len(fig.axes), fig.axes[0].get_title()
    (2, 'conv1')
    """
    layers = list(pair["maps"])
    with_images = image_real is not None and image_synth is not None
    ncols = len(layers) + int(with_images)
    cell = width / max(ncols, 1)
    height = 2 * cell + 0.45
    fig = new_figure(width, height, dpi=dpi)
    axes = fig.subplots(2, ncols, squeeze=False)
    fig.subplots_adjust(left=0.35 / width, right=0.995, top=1 - 0.4 / height, bottom=0.02, wspace=0.04, hspace=0.04)
    if with_images:
        for row, image in enumerate((image_real, image_synth)):
            axes[row, 0].imshow(image)
            hide_ticks(axes[row, 0])
        axes[0, 0].set_title("input", fontsize=8)
    for j, layer in enumerate(layers, start=int(with_images)):
        real, synth = (np.abs(np.asarray(m, np.float64)) for m in pair["maps"][layer])
        top = float(np.percentile(np.concatenate([real.ravel(), synth.ravel()]), 99.5)) or 1.0
        for row, m in enumerate((real, synth)):
            axes[row, j].imshow(m, cmap="inferno", vmin=0, vmax=top, interpolation="nearest")
            hide_ticks(axes[row, j])
        axes[0, j].set_title(mpl_text(short_layer_name(layer)), fontsize=8)
    axes[0, 0].set_ylabel("real", fontsize=9)
    axes[1, 0].set_ylabel("synthetic", fontsize=9)
    return fig


def impact_view(result: GapResult, fig: Callable[..., dict] | None = None) -> dict | None:
    """The section's rows, notes and figures (``fig(figure, alt, chart=...)`` embeds one); None without a block.

    Examples
    --------
    >>> from gapviz.result import example_result
    >>> impact_view(example_result()) is None  # no model impact measured
    True
    """
    block = result.model_impact or {}
    if not block:
        return None
    ranking = block.get("ranking") or []
    rows = [{
        "knob": str(r.get("knob")),
        "amount": _amount(r.get("amount")),
        "severity": str(r.get("severity") or "–"),
        "severity_rank": str(r.get("severity_rank") or "–"),
        "impact_rank": str(r.get("impact_rank") or "–"),
        "mean": format_number(r.get("mean_change")),
        "ci": format_ci(r.get("ci95")),
        "mean_abs": format_number(r.get("mean_abs_change")),
        "abs_ci": format_ci(r.get("abs_ci95")),
        "css": "" if r.get("excludes_zero") else "muted",
    } for r in ranking]  # fmt: skip
    together = block.get("all")
    view: dict[str, Any] = {
        "unit": str(block.get("unit", "")),
        "images": str(block.get("images", "")),
        "n": str(block.get("n_images", "–")),
        "baseline": format_number(block.get("baseline_mean_prediction")),
        "rows": rows,
        "all": None if not together or len(rows) < 2 else {
            "amount": _amount(together.get("amount")), "mean": format_number(together.get("mean_change")),
            "ci": format_ci(together.get("ci95")), "mean_abs": format_number(together.get("mean_abs_change")),
            "abs_ci": format_ci(together.get("abs_ci95")),
        },  # fmt: skip
        "notes": [str(n) for n in block.get("notes") or ()],
        "chart": fig(plot_impact(block), "change of the prediction per recommended adjustment", chart=True)
        if fig is not None and ranking else None,
    }
    labels = block.get("labels") or {}
    names = {"synth_mae": "MAE on the renders as they are", "estimated_real_mae":
             "MAE on the renders adjusted by all amounts (estimated real-domain error)", "real_mae":
             "MAE measured on the real partners"}  # fmt: skip
    view["labels"] = [{"label": label, "value": format_number(labels[key].get("value")),
                       "ci": format_ci(labels[key].get("ci95")), "n": str(labels[key].get("n", "–"))}
                      for key, label in names.items() if key in labels]  # fmt: skip
    share = labels.get("penalty_explained")
    view["penalty"] = None if not share else {
        "value": format_number(share.get("value")), "ci": format_ci(share.get("ci95")),
        "penalty": format_number(share.get("penalty")), "estimated": format_number(share.get("estimated_penalty")),
        "n": str(share.get("n", "–")),
    }  # fmt: skip
    view["label_scale"] = ", ".join(f"{k} x {format_number(v)}" for k, v in (labels.get("label_scale") or {}).items())
    attribution = block.get("attribution") or {}
    view["attribution"] = [{
        "layer": str(layer),
        "real": format_number(s.get("real")), "synth": format_number(s.get("synth")),
        "diff": format_number(s.get("diff")), "ci": format_ci(s.get("ci95")),
        "area": format_number((s.get("background_area") or {}).get("real")),
        "css": "" if (s.get("ci95") or [None])[0] is not None and (s["ci95"][0] > 0 or s["ci95"][1] < 0) else "muted",
    } for layer, s in (attribution.get("layers") or {}).items()]  # fmt: skip
    view["attribution_pairs"] = str(attribution.get("pairs", "–"))
    maps = []
    if fig is not None:
        images = {str(e.stem): e for e in result.examples}
        for pair in result.attribution_examples:
            ex = images.get(str(pair["stem"]))
            figure = plot_attribution_maps(pair, ex.real_image if ex else None, ex.synth_image if ex else None)
            maps.append({"stem": str(pair["stem"]), "figure": fig(figure, f"attribution maps of pair {pair['stem']}")})
    view["maps"] = maps
    return view
