"""Image figures of a `GapResult`: the feature maps of an example pair, and its Canny edge maps.

Every function draws only what the result holds (nothing is recomputed) and returns a
:class:`matplotlib.figure.Figure` on the Agg canvas (`gapviz.report._fig_common`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from gapviz.report._fig_common import (
    REAL_COLOR,
    SYNTH_COLOR,
    ci_bounds,
    example_pair,
    feature_of,
    hide_ticks,
    mpl_text,
    new_figure,
    num,
    short_layer_name,
)

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from gapviz.result import GapResult

__all__ = ["canny_caption", "plot_canny", "plot_feature_maps"]


# -- feature maps --------------------------------------------------------------------------------
def _draw_feature_rows(fig: Figure, axes: np.ndarray, rows: list, maps: list, k: int, *, cmap: str,
                       alpha: float, e_max: float, width: float) -> None:
    """The real and the synthetic row: input, energy overlay (one scale), ``k`` channels (one scale each)."""
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
    >>> import io
    >>> from gapviz.result import example_result
    >>> fig = plot_feature_maps(example_result(), example=1, layer="conv1", max_channels=1)
    >>> len(fig.axes), fig.axes[2].get_title()
    (6, 'ch 0')
    >>> fig.savefig(io.BytesIO(), format="png")  # or a path: fig.savefig("conv1.png")
    """
    pair = example_pair(result, example)
    feat = feature_of(pair, layer)
    channels = list(feat.channels)[: max_channels if max_channels is not None else None]
    k = len(channels)
    ncols = 2 + k
    cell = (width - 0.45) / ncols
    height = cell * 2 + 0.5
    fig = new_figure(width, height, dpi=dpi)
    axes = fig.subplots(2, ncols, squeeze=False)
    fig.subplots_adjust(left=0.4 / width, right=0.995, top=1 - 0.42 / height, bottom=0.02 / height,
                        wspace=0.04, hspace=0.04)

    energies = [np.asarray(feat.real_energy, dtype=np.float32), np.asarray(feat.synth_energy, dtype=np.float32)]
    e_max = max(float(np.nanmax(e)) if e.size else 0.0 for e in energies) or 1.0
    maps = [np.asarray(feat.real, dtype=np.float32), np.asarray(feat.synth, dtype=np.float32)]
    rows = [("real", pair.real_image, energies[0], maps[0]), ("synthetic", pair.synth_image, energies[1], maps[1])]
    shape = f"{maps[0].shape[0]}x{maps[0].shape[1]}" if maps[0].ndim >= 2 else ""

    _draw_feature_rows(fig, axes, rows, maps, k, cmap=cmap, alpha=alpha, e_max=e_max, width=width)

    axes[0, 0].set_title("input", fontsize=9)
    axes[0, 1].set_title("energy overlay", fontsize=9)
    for c, channel in enumerate(channels):
        axes[0, 2 + c].set_title(f"ch {channel}", fontsize=9)
    fig.suptitle(
        mpl_text(f"{short_layer_name(feat.layer)} ({shape}) · pair {pair.stem} · top channels, "
                 "shared scale per column"),
        fontsize=10, x=0.4 / width, ha="left", y=1 - 0.04 / height, va="top",
    )
    return fig


# -- Canny baseline ------------------------------------------------------------------------------
def canny_caption(result: GapResult) -> str:
    """The caption under the Canny figure: the stored edge-map agreement and its CI (empty without one).

    Examples
    --------
    >>> from gapviz.result import example_result
    >>> canny_caption(example_result())
    'edge-map agreement over all pairs: real 1, synthetic 0.6 (diff 95 % CI -0.45, -0.35)'
    """
    stat = result.image_stats.get("canny_edge_agreement") or result.image_stats.get("canny_agreement")
    if not stat:
        return ""
    lo, hi = ci_bounds(stat)
    if "value" in stat:
        return f"edge-map agreement over all pairs: {num(stat['value']):.3g} [95 % CI {lo:.3g}, {hi:.3g}]"
    return (f"edge-map agreement over all pairs: real {num(stat.get('real')):.3g}, synthetic "
            f"{num(stat.get('synth')):.3g} (diff 95 % CI {lo:.3g}, {hi:.3g})")


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
    >>> from gapviz.result import example_result
    >>> fig = plot_canny(example_result(), example=0)
    >>> [text.get_text() for text in fig.texts]  # the title, and the stored edge-map agreement
    ['pair pair_0 · Canny low 20, high 50, sigma 1', 'edge-map agreement over all pairs: real 1, synthetic 0.6 (diff 95 % CI -0.45, -0.35)']
    """
    pair = example_pair(result, example)
    canny = result.canny or {}
    caption = canny_caption(result)
    W, H = cell * 2 + 0.4, cell * 2 + (0.95 if caption else 0.7)
    fig = new_figure(W, H, dpi=dpi)
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
            hide_ticks(ax)
            for spine in ax.spines.values():
                spine.set_visible(True)
                spine.set_color("#cccccc")
    axes[0, 0].set_title("image", fontsize=9)
    axes[0, 1].set_title("Canny edges", fontsize=9)
    parts = [f"{k} {canny[k]:.3g}" if isinstance(canny.get(k), (int, float)) else f"{k} {canny.get(k)}"
             for k in ("low", "high", "sigma") if k in canny]
    fig.suptitle(mpl_text(f"pair {pair.stem} · Canny " + (", ".join(parts) or "thresholds not recorded")),
                 fontsize=10, y=1 - 0.2 / H)
    if caption:
        fig.text(0.5, 0.1 / H, mpl_text(caption), ha="center", va="bottom", fontsize=8.5, color="#444444",
                 wrap=True)
    return fig
