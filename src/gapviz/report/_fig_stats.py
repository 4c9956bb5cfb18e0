"""Statistics figures of a `GapResult`: curves across layers, and image statistics as effect sizes.

Every function draws only what the result holds (nothing is recomputed) and returns a
:class:`matplotlib.figure.Figure` on the Agg canvas (`gapviz.report._fig_common`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from gapviz.report._fig_common import (
    NEUTRAL_COLOR,
    REAL_COLOR,
    SYNTH_COLOR,
    ci_bounds,
    mpl_text,
    new_figure,
    num,
    short_layer_name,
)
from gapviz.report._format import VERDICT_TEXT, verdict_of

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from gapviz.result import GapResult

__all__ = ["plot_image_stats", "plot_layer_curves"]


# -- curves across layers ------------------------------------------------------------------------
def _layer_series(result: GapResult, key: str) -> dict[str, np.ndarray]:
    cols: dict[str, list[float]] = {k: [] for k in ("real", "synth", "diff", "lo", "hi", "value")}
    for layer in result.layers:
        stat = layer.stats.get(key) or {}
        lo, hi = ci_bounds(stat)
        for k in ("real", "synth", "diff", "value"):
            cols[k].append(num(stat.get(k)))
        cols["lo"].append(lo)
        cols["hi"].append(hi)
    return {k: np.asarray(v, dtype=float) for k, v in cols.items()}


def plot_layer_curves(result: GapResult, *, dpi: float = 100, width: float = 11.0) -> Figure:
    """Background-noise decay, edge sharpness and CKA across the tapped layers (shallow to deep).

    Three panels. ``background_ratio`` and ``edge_sharpness`` each take two stacked axes: the top
    one shows the real and the synthetic means; the bottom one shows the paired difference
    (synthetic - real) with its 95 % bootstrap CI as a band, against zero. The CI belongs to the
    difference, not to either side, which is why it is drawn there. The third panel shows
    ``cka_gap`` and ``cka_pooled`` with their 95 % CI bands on a [0, 1] scale.

    Parameters
    ----------
    result : GapResult
        The comparison to draw from.
    dpi : float, optional
        Figure resolution.
    width : float, optional
        Figure width in inches.

    Returns
    -------
    matplotlib.figure.Figure
        Five axes: two per paired statistic and one for CKA.

    Examples
    --------
    >>> from gapviz.result import example_result
    >>> fig = plot_layer_curves(example_result())
    >>> len(fig.axes), fig.axes[-1].get_title()
    (5, 'CKA real vs synthetic (1 = same)')
    """
    fig = new_figure(width, 4.2, dpi=dpi)
    grid = fig.add_gridspec(2, 3, height_ratios=(1.5, 1), hspace=0.08, wspace=0.32,
                            left=0.07, right=0.99, top=0.92, bottom=0.24)
    x = np.arange(len(result.layers))
    labels = [mpl_text(short_layer_name(layer.name)) for layer in result.layers]

    def xaxis(ax, *, show: bool) -> None:
        ax.set_xticks(x)
        if show:
            ax.set_xticklabels(labels, rotation=30, ha="right", fontsize=8)
        else:
            ax.tick_params(labelbottom=False)
        if len(x):
            ax.set_xlim(x[0] - 0.3, x[-1] + 0.3)
        ax.grid(alpha=0.25)

    titles = {"background_ratio": "background / object energy", "edge_sharpness": "edge sharpness"}
    for col, key in enumerate(("background_ratio", "edge_sharpness")):
        s = _layer_series(result, key)
        top = fig.add_subplot(grid[0, col])
        top.plot(x, s["real"], "o-", color=REAL_COLOR, label="real")
        top.plot(x, s["synth"], "s-", color=SYNTH_COLOR, label="synthetic")
        top.set_title(mpl_text(f"{titles[key]} ({key})"), fontsize=10)
        top.set_ylabel("mean over pairs", fontsize=8)
        top.legend(fontsize=8, frameon=False)
        xaxis(top, show=False)
        bottom = fig.add_subplot(grid[1, col])
        bottom.axhline(0, color="black", lw=0.8)
        bottom.fill_between(x, s["lo"], s["hi"], color=SYNTH_COLOR, alpha=0.2, lw=0, label="95 % CI")
        bottom.plot(x, s["diff"], "d--", color=SYNTH_COLOR, lw=1.2, label="synth - real")
        bottom.set_ylabel("paired diff", fontsize=8)
        bottom.legend(fontsize=7, frameon=False, loc="best")
        xaxis(bottom, show=True)

    ax = fig.add_subplot(grid[:, 2])
    ymin, ymax = 0.0, 1.0
    for key, color, marker in (("cka_gap", "#5b3a8c", "o"), ("cka_pooled", "#2a8c6e", "s")):
        s = _layer_series(result, key)
        ax.fill_between(x, s["lo"], s["hi"], color=color, alpha=0.18, lw=0)
        ax.plot(x, s["value"], marker + "-", color=color, label=f"{key} (95 % CI band)")
        finite = np.concatenate([s["value"], s["lo"], s["hi"]])
        finite = finite[np.isfinite(finite)]
        if finite.size:
            ymin, ymax = min(ymin, float(finite.min())), max(ymax, float(finite.max()))
    ax.set_ylim(ymin - 0.02, ymax + 0.02)
    ax.set_title("CKA real vs synthetic (1 = same)", fontsize=10)
    ax.set_ylabel("debiased linear CKA", fontsize=8)
    ax.legend(fontsize=8, frameon=False, loc="lower left")
    xaxis(ax, show=True)
    return fig


# -- image statistics ----------------------------------------------------------------------------
def _effect_rows(stats: Mapping[str, Mapping]) -> list[dict]:
    """Rows for the effect-size chart: effect, CI and noise floor in effect (SD of diff) units."""
    rows = []
    for name, stat in stats.items():
        effect = num((stat or {}).get("effect_size"))
        if not math.isfinite(effect):
            continue
        diff = num(stat.get("diff"))
        lo, hi = ci_bounds(stat)
        # effect = diff / sd, so sd = diff / effect: the stored CI of the diff is rescaled by that sd
        sd = diff / effect if effect != 0 and math.isfinite(diff) and diff != 0 else math.nan
        scale = 1 / abs(sd) if math.isfinite(sd) and sd != 0 else math.nan
        floor = num(stat.get("noise_floor"))
        verdict = verdict_of(stat)
        # grey, with the reason, unless the statistic shows a gap (an effect size comes with a CI)
        noise = VERDICT_TEXT[verdict] if verdict in ("within noise", "below floor") else ""
        rows.append({
            "name": name, "effect": effect, "lo": lo * scale, "hi": hi * scale,
            "floor": abs(floor) * scale, "noise": noise, "diff": diff, "ci": (lo, hi),
        })
    rows.sort(key=lambda r: abs(r["effect"]), reverse=True)
    return rows


def plot_image_stats(result: GapResult, *, dpi: float = 100, width: float = 9.5,
                     stats: Sequence[str] | None = None) -> Figure:
    """Paired effect sizes of the image statistics, largest gap on top.

    Each bar is ``effect_size`` (mean paired difference / SD of the differences, synthetic - real).
    The whiskers are the stored 95 % bootstrap CI of the difference divided by that same SD, so
    they ignore the uncertainty of the SD itself; the grey band is the split-half noise floor in the
    same units (clipped to the axis, which fits the bars and whiskers). Bars are grey where the CI
    contains zero ("within noise") or the difference is no larger than the noise floor. The right-hand column gives
    the raw difference and its CI in the statistic's own units.

    Parameters
    ----------
    result : GapResult
        The comparison to draw from.
    dpi : float, optional
        Figure resolution.
    width : float, optional
        Figure width in inches.
    stats : sequence of str, optional
        Only these statistics (default: all of ``result.image_stats``).

    Returns
    -------
    matplotlib.figure.Figure
        One axes.

    Examples
    --------
    >>> from gapviz.result import example_result
    >>> fig = plot_image_stats(example_result(), stats=["brightness", "noise_sigma.background"])
    >>> [t.get_text() for t in fig.axes[0].get_yticklabels()]
    ['brightness', 'noise_sigma.background']
    """
    source = result.image_stats if stats is None else {k: result.image_stats[k] for k in stats}
    rows = _effect_rows(source)
    n = len(rows)
    H = 1.4 + 0.3 * max(n, 1)
    fig = new_figure(width, H, dpi=dpi)
    ax = fig.add_subplot(1, 1, 1)
    fig.subplots_adjust(left=0.25, right=0.72, top=1 - 0.45 / H, bottom=0.85 / H)
    y = np.arange(n)[::-1]
    for yi, row in zip(y, rows, strict=True):
        if math.isfinite(row["floor"]):
            ax.fill_betweenx([yi - 0.42, yi + 0.42], -row["floor"], row["floor"], color="#e6e6e6", lw=0, zorder=0)
        color = NEUTRAL_COLOR if row["noise"] else (SYNTH_COLOR if row["effect"] > 0 else REAL_COLOR)
        ax.barh(yi, row["effect"], height=0.6, color=color, zorder=2)
        if math.isfinite(row["lo"]) and math.isfinite(row["hi"]):
            ax.plot([row["lo"], row["hi"]], [yi, yi], color="black", lw=1.2, zorder=3)
            ax.plot([row["lo"], row["hi"]], [yi, yi], "|", color="black", ms=7, zorder=3)
        lo, hi = row["ci"]
        note = f"{row['diff']:+.3g}  [{lo:.3g}, {hi:.3g}]" + (f"  {row['noise']}" if row["noise"] else "")
        ax.annotate(mpl_text(note), xy=(1.02, yi), xycoords=("axes fraction", "data"), va="center", fontsize=8,
                    color="#666666" if row["noise"] else "#222222")
    ax.annotate("synth - real  [95 % CI], own units", xy=(1.02, 1.0), xycoords="axes fraction",
                va="bottom", fontsize=8, fontweight="bold")
    # the axis fits the bars and whiskers; a noise-floor band wider than that is clipped, so one
    # noisy statistic (e.g. a colour ratio with a tiny SD) cannot squash every bar to a sliver
    reach = [v for r in rows for v in (r["effect"], r["lo"], r["hi"]) if math.isfinite(v)]
    if reach:
        left, right = min(min(reach), -0.5), max(max(reach), 0.5)
        pad = 0.06 * (right - left)
        ax.set_xlim(left - pad, right + pad)
    ax.set_yticks(y)
    ax.set_yticklabels([mpl_text(r["name"]) for r in rows], fontsize=8.5)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_ylim(-0.7, n - 0.3)
    ax.grid(axis="x", alpha=0.25)
    ax.set_xlabel("effect size = mean paired diff / SD of diff;  whiskers: CI95 of diff in SD units",
                  fontsize=8)
    ax.set_title("Image statistics, sorted by |effect size|", fontsize=10, loc="left")
    from matplotlib.patches import Patch

    handles = [Patch(color=SYNTH_COLOR, label="synthetic higher"), Patch(color=REAL_COLOR, label="synthetic lower"),
               Patch(color=NEUTRAL_COLOR, label="CI contains 0 or |diff| ≤ floor"), Patch(color="#e6e6e6", label="noise floor")]
    fig.legend(handles=handles, fontsize=7.5, loc="lower center", bbox_to_anchor=(0.485, 0.0), ncol=4,
               frameon=False)
    return fig
