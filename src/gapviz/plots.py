"""Figures of a `GapResult`: feature maps, curves across layers, the Canny baseline, image statistics.

Every function draws only what the result holds (nothing is recomputed), returns a
:class:`matplotlib.figure.Figure` built on the Agg canvas, and never touches ``pyplot``'s global
state: no ``plt.show()``, no figure manager, so the report can draw dozens of figures in a loop
without leaking them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from gapviz._errors import GapvizError

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from gapviz.result import ExamplePair, FeatureExample, GapResult

__all__ = [
    "plot_canny",
    "plot_feature_maps",
    "plot_image_stats",
    "plot_layer_curves",
    "short_layer_name",
]

REAL_COLOR = "#1f6fb2"
SYNTH_COLOR = "#d9541e"
NEUTRAL_COLOR = "#9a9a9a"


# -- helpers -------------------------------------------------------------------------------------
def _figure(width: float, height: float, *, dpi: float) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def _text(value: Any) -> str:
    """A user string made safe for matplotlib text: ``$`` would start mathtext."""
    return str(value).replace("$", r"\$")


def short_layer_name(name: str) -> str:
    """The last component of a layer path: ``"resnet50/conv1_conv"`` -> ``"conv1_conv"``.

    Examples
    --------
    >>> short_layer_name("base/conv2_block3_3_conv")
    'conv2_block3_3_conv'
    """
    return str(name).rsplit("/", 1)[-1]


def _num(value: Any) -> float:
    """A float, or NaN for a missing value (matplotlib leaves a gap)."""
    try:
        out = float(value)
    except (TypeError, ValueError):
        return math.nan
    return out


def _ci(stat: Mapping | None) -> tuple[float, float]:
    ci = (stat or {}).get("ci95") or (None, None)
    return _num(ci[0]), _num(ci[1])


def _example(result: GapResult, example: int) -> ExamplePair:
    n = len(result.examples)
    if not isinstance(example, (int, np.integer)) or not -n <= example < n:
        raise GapvizError(
            f"Argument 'example' must be an index into the {n} example pairs of this result "
            f"(0..{n - 1}) but got {example!r}"
            if n
            else "this result holds no example pairs; run compare() with examples > 0 to draw them"
        )
    return result.examples[example]


def _feature(pair: ExamplePair, layer: str | int) -> FeatureExample:
    features = pair.features
    if isinstance(layer, (int, np.integer)):
        if not -len(features) <= layer < len(features):
            raise GapvizError(
                f"Argument 'layer' must be an index into the {len(features)} layers with feature maps "
                f"(0..{len(features) - 1}) but got {layer!r}"
            )
        return features[layer]
    for feat in features:
        if feat.layer == layer or short_layer_name(feat.layer) == layer:
            return feat
    names = ", ".join(f.layer for f in features) or "none"
    raise GapvizError(f"layer {layer!r} has no feature maps in example {pair.stem!r}; layers with maps: {names}")


def _hide_ticks(ax) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)


# -- feature maps --------------------------------------------------------------------------------
def plot_feature_maps(
    result: GapResult,
    *,
    example: int = 0,
    layer: str | int = 0,
    max_channels: int | None = None,
    cmap: str = "inferno",
    alpha: float = 0.6,
    dpi: float = 100,
    width: float = 10.0,
) -> Figure:
    """Feature maps of one example pair at one layer: real (top row) and synthetic (bottom row).

    Columns: the input image, the activation-energy map (channel-mean absolute activation)
    stretched to the image size and overlaid semi-transparently, then the top channels as grey
    maps. Energy maps share one colour scale across real and synthetic, and so does each channel,
    so brightness compares directly between the rows.

    Parameters
    ----------
    result : GapResult
        The comparison to draw from.
    example : int, optional
        Index of the example pair.
    layer : str or int, optional
        Layer path, bare layer name, or index into the tapped layers.
    max_channels : int or None, optional
        Show at most this many of the stored top channels (all by default).
    cmap : str, optional
        Colormap of the energy overlay.
    alpha : float, optional
        Opacity of the energy overlay.
    dpi : float, optional
        Figure resolution.
    width : float, optional
        Figure width in inches; the maps are square, so the height follows from the number of
        columns.

    Returns
    -------
    matplotlib.figure.Figure
        ``2 * (2 + channels)`` axes.

    Examples
    --------
    >>> fig = result.plot_feature_maps(example=0, layer="conv1_conv")  # doctest: +SKIP
    >>> fig.savefig("conv1_conv.png")  # doctest: +SKIP
    """
    pair = _example(result, example)
    feat = _feature(pair, layer)
    channels = list(feat.channels)[: max_channels if max_channels is not None else None]
    k = len(channels)
    ncols = 2 + k
    cell = (width - 0.45) / ncols
    height = cell * 2 + 0.5
    fig = _figure(width, height, dpi=dpi)
    axes = fig.subplots(2, ncols, squeeze=False)
    fig.subplots_adjust(left=0.4 / width, right=0.995, top=1 - 0.42 / height, bottom=0.02 / height,
                        wspace=0.04, hspace=0.04)

    energies = [np.asarray(feat.real_energy, dtype=np.float32), np.asarray(feat.synth_energy, dtype=np.float32)]
    e_max = max(float(np.nanmax(e)) if e.size else 0.0 for e in energies) or 1.0
    maps = [np.asarray(feat.real, dtype=np.float32), np.asarray(feat.synth, dtype=np.float32)]
    rows = [("real", pair.real_image, energies[0], maps[0]), ("synthetic", pair.synth_image, energies[1], maps[1])]
    shape = f"{maps[0].shape[0]}x{maps[0].shape[1]}" if maps[0].ndim >= 2 else ""

    for r, (label, image, energy, fmap) in enumerate(rows):
        image = np.asarray(image)
        h, w = image.shape[:2]
        axes[r, 0].imshow(image, interpolation="antialiased")
        axes[r, 1].imshow(image, interpolation="antialiased")
        # extent stretches the (h, w) energy map over the (H, W) image; bilinear hides the blocks
        axes[r, 1].imshow(energy, cmap=cmap, alpha=alpha, vmin=0, vmax=e_max, extent=(0, w, h, 0),
                          interpolation="bilinear")
        for c in range(k):
            both = np.concatenate([maps[0][..., c].ravel(), maps[1][..., c].ravel()])
            lo, hi = (float(np.nanmin(both)), float(np.nanmax(both))) if both.size else (0.0, 1.0)
            axes[r, 2 + c].imshow(fmap[..., c], cmap="gray", vmin=lo, vmax=hi if hi > lo else lo + 1,
                                  interpolation="antialiased")
        for ax in axes[r]:
            ax.set_axis_off()  # no ticks to lay out: a third of the drawing time with a dozen axes
        box = axes[r, 0].get_position()
        fig.text(box.x0 - 0.12 / width, (box.y0 + box.y1) / 2, label, rotation=90, ha="right", va="center",
                 fontsize=10, fontweight="bold", color=REAL_COLOR if r == 0 else SYNTH_COLOR)

    axes[0, 0].set_title("input", fontsize=9)
    axes[0, 1].set_title("energy overlay", fontsize=9)
    for c, channel in enumerate(channels):
        axes[0, 2 + c].set_title(f"ch {channel}", fontsize=9)
    fig.suptitle(
        _text(f"{short_layer_name(feat.layer)} ({shape}) · pair {pair.stem} · top channels, "
              "shared scale per column"),
        fontsize=10, x=0.4 / width, ha="left", y=1 - 0.04 / height, va="top",
    )
    return fig


# -- curves across layers ------------------------------------------------------------------------
def _layer_series(result: GapResult, key: str) -> dict[str, np.ndarray]:
    cols: dict[str, list[float]] = {k: [] for k in ("real", "synth", "diff", "lo", "hi", "value")}
    for layer in result.layers:
        stat = layer.stats.get(key) or {}
        lo, hi = _ci(stat)
        for k in ("real", "synth", "diff", "value"):
            cols[k].append(_num(stat.get(k)))
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
    >>> result.plot_layer_curves().savefig("curves.png")  # doctest: +SKIP
    """
    fig = _figure(width, 4.2, dpi=dpi)
    grid = fig.add_gridspec(2, 3, height_ratios=(1.5, 1), hspace=0.08, wspace=0.32,
                            left=0.07, right=0.99, top=0.92, bottom=0.24)
    x = np.arange(len(result.layers))
    labels = [_text(short_layer_name(layer.name)) for layer in result.layers]

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
        top.set_title(_text(f"{titles[key]} ({key})"), fontsize=10)
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


# -- Canny baseline ------------------------------------------------------------------------------
def _canny_caption(result: GapResult) -> str:
    stat = result.image_stats.get("canny_edge_agreement") or result.image_stats.get("canny_agreement")
    if not stat:
        return ""
    lo, hi = _ci(stat)
    if "value" in stat:
        return f"edge-map agreement over all pairs: {_num(stat['value']):.3g} [95 % CI {lo:.3g}, {hi:.3g}]"
    return (f"edge-map agreement over all pairs: real {_num(stat.get('real')):.3g}, synthetic "
            f"{_num(stat.get('synth')):.3g} (diff 95 % CI {lo:.3g}, {hi:.3g})")


def plot_canny(result: GapResult, *, example: int = 0, dpi: float = 100, cell: float = 2.6) -> Figure:
    """An example pair and its Canny edge maps with the shared absolute thresholds.

    Rows: real, synthetic. Columns: the image, its edge map (black edges on white). The
    thresholds were taken once from the real set and used for both sides; they are in the title.

    Parameters
    ----------
    result : GapResult
        The comparison to draw from.
    example : int, optional
        Index of the example pair.
    dpi : float, optional
        Figure resolution.
    cell : float, optional
        Width and height of one image, in inches.

    Returns
    -------
    matplotlib.figure.Figure
        Four axes.

    Examples
    --------
    >>> result.plot_canny(example=0).savefig("canny.png")  # doctest: +SKIP
    """
    pair = _example(result, example)
    canny = result.canny or {}
    caption = _canny_caption(result)
    W, H = cell * 2 + 0.4, cell * 2 + (0.95 if caption else 0.7)
    fig = _figure(W, H, dpi=dpi)
    axes = fig.subplots(2, 2, squeeze=False)
    fig.subplots_adjust(left=0.4 / W, right=0.99, top=1 - 0.55 / H,
                        bottom=(0.35 if caption else 0.1) / H, wspace=0.03, hspace=0.03)
    rows = (("real", pair.real_image, pair.real_edges, REAL_COLOR),
            ("synthetic", pair.synth_image, pair.synth_edges, SYNTH_COLOR))
    for r, (label, image, edges, color) in enumerate(rows):
        axes[r, 0].imshow(np.asarray(image), interpolation="antialiased")
        # edges are thin: area-averaging keeps them visible when the map is shown smaller
        axes[r, 1].imshow(~np.asarray(edges, dtype=bool), cmap="gray", vmin=0, vmax=1, interpolation="antialiased")
        axes[r, 0].set_ylabel(label, fontsize=10, color=color, fontweight="bold")
        for ax in axes[r]:
            _hide_ticks(ax)
            for spine in ax.spines.values():
                spine.set_visible(True)
                spine.set_color("#cccccc")
    axes[0, 0].set_title("image", fontsize=9)
    axes[0, 1].set_title("Canny edges", fontsize=9)
    parts = [f"{k} {canny[k]:.3g}" if isinstance(canny.get(k), (int, float)) else f"{k} {canny.get(k)}"
             for k in ("low", "high", "sigma") if k in canny]
    fig.suptitle(_text(f"pair {pair.stem} · Canny " + (", ".join(parts) or "thresholds not recorded")),
                 fontsize=10, y=1 - 0.2 / H)
    if caption:
        fig.text(0.5, 0.1 / H, _text(caption), ha="center", va="bottom", fontsize=8.5, color="#444444",
                 wrap=True)
    return fig


# -- image statistics ----------------------------------------------------------------------------
def _effect_rows(stats: Mapping[str, Mapping]) -> list[dict]:
    """Rows for the effect-size chart: effect, CI and noise floor in effect (SD of diff) units."""
    rows = []
    for name, stat in stats.items():
        effect = _num((stat or {}).get("effect_size"))
        if not math.isfinite(effect):
            continue
        diff = _num(stat.get("diff"))
        lo, hi = _ci(stat)
        # effect = diff / sd, so sd = diff / effect: the stored CI of the diff is rescaled by that sd
        sd = diff / effect if effect != 0 and math.isfinite(diff) and diff != 0 else math.nan
        scale = 1 / abs(sd) if math.isfinite(sd) and sd != 0 else math.nan
        floor = _num(stat.get("noise_floor"))
        if math.isfinite(lo + hi) and lo <= 0 <= hi:
            noise = "within noise"
        elif math.isfinite(diff + floor) and abs(diff) <= floor:
            noise = "below noise floor"
        else:
            noise = ""
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
    >>> result.plot_image_stats().savefig("image_stats.png")  # doctest: +SKIP
    """
    source = result.image_stats if stats is None else {k: result.image_stats[k] for k in stats}
    rows = _effect_rows(source)
    n = len(rows)
    H = 1.4 + 0.3 * max(n, 1)
    fig = _figure(width, H, dpi=dpi)
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
        ax.annotate(_text(note), xy=(1.02, yi), xycoords=("axes fraction", "data"), va="center", fontsize=8,
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
    ax.set_yticklabels([_text(r["name"]) for r in rows], fontsize=8.5)
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
