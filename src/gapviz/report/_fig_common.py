"""What every figure of the report shares: colours, an Agg figure, safe text, argument checks, PNG encoding.

Figures are built on the Agg canvas and never touch ``pyplot``'s global state: no ``plt.show()``,
no figure manager, so the report can draw dozens of figures in a loop without leaking them.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from gapviz._errors import GapvizError

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from gapviz.result import ExamplePair, FeatureExample, GapResult

__all__ = [
    "NEUTRAL_COLOR",
    "REAL_COLOR",
    "SYNTH_COLOR",
    "ci_bounds",
    "example_pair",
    "feature_of",
    "figure_png",
    "hide_ticks",
    "mpl_text",
    "new_figure",
    "num",
    "short_layer_name",
]

REAL_COLOR = "#1f6fb2"
SYNTH_COLOR = "#d9541e"
NEUTRAL_COLOR = "#9a9a9a"


def new_figure(width: float, height: float, *, dpi: float) -> Figure:
    """A matplotlib figure on its own Agg canvas (no pyplot, no figure manager).

    Examples
    --------
    >>> fig = new_figure(4, 3, dpi=50)
    >>> fig.get_size_inches().tolist(), type(fig.canvas).__name__
    ([4.0, 3.0], 'FigureCanvasAgg')
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def mpl_text(value: Any) -> str:
    """A user string made safe for matplotlib text: ``$`` would start mathtext.

    Examples
    --------
    >>> text = mpl_text("price $5")
    >>> len(text), text.endswith("$5")  # one backslash more
    (9, True)
    """
    return str(value).replace("$", r"\$")


def short_layer_name(name: str) -> str:
    """The last component of a layer path: ``"resnet50/conv1_conv"`` -> ``"conv1_conv"``.

    Examples
    --------
    >>> short_layer_name("base/conv2_block3_3_conv")
    'conv2_block3_3_conv'
    """
    return str(name).rsplit("/", 1)[-1]


def num(value: Any) -> float:
    """A float, or NaN for a missing value (matplotlib leaves a gap).

    Examples
    --------
    >>> num("0.5"), num(None)
    (0.5, nan)
    """
    try:
        out = float(value)
    except (TypeError, ValueError):
        return math.nan
    return out


def ci_bounds(stat: Mapping | None) -> tuple[float, float]:
    """The ``ci95`` of a stored statistic as two floats (NaN where missing).

    Examples
    --------
    >>> ci_bounds({"ci95": [0.1, None]}), ci_bounds(None)
    ((0.1, nan), (nan, nan))
    """
    ci = (stat or {}).get("ci95") or (None, None)
    return num(ci[0]), num(ci[1])


def example_pair(result: GapResult, example: int) -> ExamplePair:
    """The example pair at index ``example``, or a `GapvizError` naming the valid range.

    Examples
    --------
    >>> from gapviz.result import example_result
    >>> example_pair(example_result(), -1).stem
    'pair_1'
    >>> example_pair(example_result(), 5)
    Traceback (most recent call last):
    ...
    gapviz._errors.GapvizError: Argument 'example' must be an index into the 2 example pairs of this result (0..1) but got 5
    """
    n = len(result.examples)
    if not isinstance(example, (int, np.integer)) or not -n <= example < n:
        raise GapvizError(
            f"Argument 'example' must be an index into the {n} example pairs of this result "
            f"(0..{n - 1}) but got {example!r}"
            if n
            else "this result holds no example pairs; run compare() with examples > 0 to draw them"
        )
    return result.examples[example]


def feature_of(pair: ExamplePair, layer: str | int) -> FeatureExample:
    """A pair's feature maps at one layer (path, bare name or index), or a `GapvizError`.

    Examples
    --------
    >>> from gapviz.result import example_result
    >>> pair = example_result().examples[0]
    >>> feature_of(pair, "conv2").layer, feature_of(pair, 0).layer
    ('demo/conv2', 'demo/conv1')
    """
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


def hide_ticks(ax) -> None:
    """Remove an axes' ticks and frame (for image panels).

    Examples
    --------
    >>> ax = new_figure(2, 2, dpi=50).add_subplot()
    >>> hide_ticks(ax)
    >>> list(ax.get_xticks()), any(s.get_visible() for s in ax.spines.values())
    ([], False)
    """
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)


def figure_png(fig: Figure, *, dpi: float, alt: str) -> dict:
    """The figure as a lossless RGB PNG data URI (no metadata), with its pixel size for ``img``.

    RGB without the alpha channel is about a tenth smaller than matplotlib's RGBA PNG; the
    figures are opaque anyway. Nothing is quantised: faint background activations are the point.

    Examples
    --------
    >>> data = figure_png(new_figure(2, 1, dpi=50), dpi=40, alt="empty")
    >>> data["src"][:22], data["width"], data["height"], data["alt"]
    ('data:image/png;base64,', 80, 40, 'empty')
    """
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
