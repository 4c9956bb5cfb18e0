"""Reductions of one layer's activation to small per-image summaries.

The maths is written once, against a tiny array backend (``_TFOps`` inside the tapped
``tf.function``, ``_NumpyOps`` in the numpy twin), so the two agree by construction up to the
primitive operations, which are implemented independently and tested against each other.

Regions. The object mask (1 = object) is resized to the layer's grid ``(h, w)`` by exact area
averaging, giving the object coverage ``m`` of each layer pixel. Then

* object core: ``m > 0.9``, eroded by ``band_px`` layer pixels;
* background core: ``m < 0.1``, eroded by ``band_px`` layer pixels;
* boundary band: everything else (partly covered pixels plus a ``band_px`` margin each side).

Where a core is empty for an image (a thin object on a coarse grid), its region is weighted by
coverage instead: ``m`` for the object, ``1 - m`` for the background.

Energy. ``e = mean_c |a|`` is the channel-mean absolute activation of each layer pixel.

Outputs per image (B = batch size, C = channels, p = ``pooled_size``):

============================  =========  ======================================================
key                           shape      meaning
============================  =========  ======================================================
``energy_object``             (B,)       mean ``e`` over the object core (NaN if empty)
``energy_background``         (B,)       mean ``e`` over the background core (NaN if empty)
``background_ratio``          (B,)       ``energy_background / energy_object`` (NaN if undefined)
``edge_sharpness``            (B,)       inverse edge width, 1/layer-pixel (see below)
``gap``                       (B, C)     global average pool of the activation
``pooled``                    (B, p*p*C) area-average pool to p x p, flattened (row, col, channel)
``channel_max``               (B, C)     max ``|a|`` per channel (0 for non-finite images)
``finite``                    (B,)       bool: every activation of the image is finite
============================  =========  ======================================================

Images with any non-finite activation get NaN scalars and vectors (and a zero ``channel_max``,
which cannot raise a running maximum); consumers drop them using ``finite``.

``edge_sharpness`` is ``sum_band(g**2) / sum_band(g) / |energy_object - energy_background|``,
where ``g = |grad e|`` (central differences). The gradient-weighted mean of ``g`` over the band
is the typical gradient across the boundary; for a linear ramp of width ``w`` between object and
background it is ``contrast / w``, so the statistic is ``1 / w`` in units of 1/layer pixel,
independent of the band's width and of the boundary's length. (A plain mean of ``g`` over the band
would not tell a sharp step from a ramp as long as both fit inside the band.) It is NaN where the
band is empty or the object/background contrast is below ``1e-6`` of the mean energy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from gapviz._checks import check_int
from gapviz._errors import GapvizError
from gapviz.stats._registry import REGISTRY, register

OBJECT_THRESHOLD = 0.9
BACKGROUND_THRESHOLD = 0.1
_CONTRAST_RTOL = 1e-6


# ----------------------------------------------------------------------------- backends


class _NumpyOps:
    """numpy primitives (float32) for the twin."""

    nan = np.float32(np.nan)

    def f32(self, x):
        return np.asarray(x, dtype=np.float32)

    def shape_hw(self, x):
        return x.shape[1], x.shape[2]

    def where(self, cond, a, b):
        r = np.where(cond, a, b)
        return r.astype(np.float32) if r.dtype.kind == "f" else r

    abs = staticmethod(np.abs)
    sqrt = staticmethod(np.sqrt)
    isfinite = staticmethod(np.isfinite)

    def sum(self, x, axis):
        return np.sum(x, axis=axis, dtype=np.float32)

    def mean(self, x, axis):
        return np.mean(x, axis=axis, dtype=np.float32)

    def max(self, x, axis):
        return np.max(x, axis=axis)

    def all(self, x, axis):
        return np.all(x, axis=axis)

    def einsum(self, eq, *xs):
        return np.einsum(eq, *xs, optimize=True).astype(np.float32)

    def flatten(self, x):
        return x.reshape(x.shape[0], -1)

    def erode(self, x, r):
        if r <= 0:
            return x
        import scipy.ndimage as ndi  # the twin only: keep it off the import path

        return ndi.minimum_filter(x, size=(1, 2 * r + 1, 2 * r + 1), mode="nearest")

    def central_grad(self, e):
        p = np.pad(e, ((0, 0), (1, 1), (1, 1)), mode="edge")
        gy = (p[:, 2:, 1:-1] - p[:, :-2, 1:-1]) * np.float32(0.5)
        gx = (p[:, 1:-1, 2:] - p[:, 1:-1, :-2]) * np.float32(0.5)
        return gy, gx

    def area_weights(self, n_in, n_out):
        return _area_weights_np(int(n_in), int(n_out))

    def matmul(self, a, b):
        return np.matmul(a, b, dtype=np.float32)

    def reshape(self, x, shape):
        return np.reshape(x, shape)

    def channels(self, x):
        return x.shape[-1]


class _TFOps:
    """TensorFlow primitives; every method traces into the caller's graph."""

    def __init__(self) -> None:
        import tensorflow as tf

        self.tf = tf
        self.nan = tf.constant(np.nan, tf.float32)

    def f32(self, x):
        return self.tf.cast(x, self.tf.float32)

    def shape_hw(self, x):
        # static sizes where the graph knows them: the area weights then trace as constants
        if x.shape[1] is not None and x.shape[2] is not None:
            return int(x.shape[1]), int(x.shape[2])
        s = self.tf.shape(x)
        return s[1], s[2]

    def where(self, cond, a, b):
        return self.tf.where(cond, a, b)

    def abs(self, x):
        return self.tf.abs(x)

    def sqrt(self, x):
        return self.tf.sqrt(x)

    def isfinite(self, x):
        return self.tf.math.is_finite(x)

    def sum(self, x, axis):
        return self.tf.reduce_sum(x, axis=axis)

    def mean(self, x, axis):
        return self.tf.reduce_mean(x, axis=axis)

    def max(self, x, axis):
        return self.tf.reduce_max(x, axis=axis)

    def all(self, x, axis):
        return self.tf.reduce_all(x, axis=axis)

    def einsum(self, eq, *xs):
        return self.tf.einsum(eq, *xs)

    def flatten(self, x):
        return self.tf.reshape(x, [self.tf.shape(x)[0], -1])

    def erode(self, x, r):
        if r <= 0:
            return x
        # max_pool's SAME padding ignores the padded cells: a min filter that never erodes from the border
        k = 2 * r + 1
        return -self.tf.nn.max_pool2d(-x[..., None], ksize=k, strides=1, padding="SAME")[..., 0]

    def central_grad(self, e):
        # SYMMETRIC padding by one repeats the edge value, like numpy's mode="edge"
        p = self.tf.pad(e, [[0, 0], [1, 1], [1, 1]], mode="SYMMETRIC")
        gy = (p[:, 2:, 1:-1] - p[:, :-2, 1:-1]) * 0.5
        gx = (p[:, 1:-1, 2:] - p[:, 1:-1, :-2]) * 0.5
        return gy, gx

    def area_weights(self, n_in, n_out):
        tf = self.tf
        if isinstance(n_in, int) and isinstance(n_out, int):
            return tf.constant(_area_weights_np(n_in, n_out))
        n_in = tf.cast(n_in, tf.float64)
        n_out = tf.cast(n_out, tf.float64)
        scale = n_in / n_out
        i = tf.range(n_out)[:, None]
        j = tf.range(n_in)[None, :]
        overlap = tf.minimum((i + 1.0) * scale, j + 1.0) - tf.maximum(i * scale, j)
        return tf.cast(tf.maximum(overlap, 0.0) / scale, tf.float32)

    def matmul(self, a, b):
        return self.tf.linalg.matmul(a, b)

    def reshape(self, x, shape):
        return self.tf.reshape(x, shape)

    def channels(self, x):
        return x.shape[-1] if x.shape[-1] is not None else self.tf.shape(x)[-1]


def _area_weights_np(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) matrix of exact area-averaging weights; each row sums to 1."""
    scale = n_in / n_out
    i = np.arange(n_out, dtype=np.float64)[:, None]
    j = np.arange(n_in, dtype=np.float64)[None, :]
    overlap = np.minimum((i + 1) * scale, j + 1) - np.maximum(i * scale, j)
    return (np.maximum(overlap, 0.0) / scale).astype(np.float32)


def _area_pool(ops, x, n_h, n_w):
    """Exact area-average pool of (B, H, W) or (B, H, W, C) to ``n_h x n_w`` cells, as matrix products.

    One pass over ``x`` with no transposed copy: a 2-D map is ``A_h @ x @ A_w^T``; a 4-D activation
    is flattened to (B, H*W, C) and multiplied by the (n_h*n_w, H*W) Kronecker weights. (An einsum
    over the three operands transposed the activation first and cost 7x more on ResNet50's maps.)
    """
    big_h, big_w = ops.shape_hw(x)
    a_h, a_w = ops.area_weights(big_h, n_h), ops.area_weights(big_w, n_w)
    if len(x.shape) == 3:
        return ops.matmul(ops.matmul(a_h[None], x), ops.einsum("wW->Ww", a_w)[None])
    c = ops.channels(x)
    weights = ops.reshape(ops.einsum("ph,qw->pqhw", a_h, a_w), [n_h * n_w, big_h * big_w])
    pooled = ops.matmul(weights[None], ops.reshape(x, [-1, big_h * big_w, c]))
    return ops.reshape(pooled, [-1, n_h, n_w, c])


def _safe_div(ops, num, den):
    ok = den > 0
    return ops.where(ok, num / ops.where(ok, den, 1.0), ops.nan)


# ----------------------------------------------------------------------------- context


@dataclass(frozen=True)
class LayerContext:
    """What the layer statistics share, computed once per layer and batch.

    Attributes
    ----------
    activation : tensor (B, h, w, C)
        float32, as the layer produced it (outputs of non-finite images are masked, not inputs).
    abs_activation : tensor (B, h, w, C)
        ``|activation|``, shared by the energy map and the channel maxima.
    finite : tensor (B,) of bool
    energy : tensor (B, h, w)
        Channel-mean ``|activation|``.
    object, background, band : tensor (B, h, w)
        float32 0/1 region indicators (see the module docstring).
    coverage : tensor (B, h, w)
        Area-averaged object mask on the layer grid.
    pooled_size : int
    cache : dict
        Intermediates shared by several statistics (the pooled map), computed on first use.

    Examples
    --------
    A registered ``"layer"`` statistic is ``fn(ops, ctx)``: it reads these fields. Built by hand
    here with numpy arrays (the reducer builds it from the activation and the mask):

    >>> a = np.ones((1, 4, 4, 2), np.float32)
    >>> a[:, 1:3, 1:3] = 3.0  # the object's activation is three times the background's
    >>> obj = np.zeros((1, 4, 4), np.float32)
    >>> obj[:, 1:3, 1:3] = 1.0
    >>> ctx = LayerContext(activation=a, abs_activation=np.abs(a), finite=np.array([True]),
    ...                    energy=np.abs(a).mean(axis=3), object=obj, background=1 - obj,
    ...                    band=np.zeros_like(obj), coverage=obj, pooled_size=2, cache={})
    >>> e_obj = (ctx.energy * ctx.object).sum(axis=(1, 2)) / ctx.object.sum(axis=(1, 2))
    >>> e_bg = (ctx.energy * ctx.background).sum(axis=(1, 2)) / ctx.background.sum(axis=(1, 2))
    >>> round(float(e_bg[0] / e_obj[0]), 3)
    0.333

    which is what the registered ``background_ratio`` gives for this activation and mask:

    >>> out = layer_summaries_np(a, obj, band_px=0, stats=["background_ratio"])
    >>> round(float(out["background_ratio"][0]), 3)
    0.333
    """

    activation: Any
    abs_activation: Any
    finite: Any
    energy: Any
    object: Any
    background: Any
    band: Any
    coverage: Any
    pooled_size: int
    cache: dict


def _context(ops, activation, mask, *, pooled_size: int, band_px: int) -> LayerContext:
    # The activation is the biggest tensor in the graph: it is read once for |a| and once for the
    # pooled map, and never copied. A NaN/Inf anywhere in an image makes its energy sum non-finite
    # (|a| only grows a sum), which is how non-finite images are found; their outputs are masked.
    a = ops.f32(activation)
    abs_a = ops.abs(a)
    energy = ops.mean(abs_a, axis=3)
    finite = ops.isfinite(ops.sum(energy, axis=(1, 2)))
    m = ops.f32(mask)
    if len(m.shape) == 4:
        m = m[..., 0]
    h, w = ops.shape_hw(a)
    coverage = _area_pool(ops, m, h, w)
    obj = ops.erode(ops.f32(coverage > OBJECT_THRESHOLD), band_px)
    bg = ops.erode(ops.f32(coverage < BACKGROUND_THRESHOLD), band_px)
    band = 1.0 - obj - bg
    # On coarse grids (deep layers, small inputs) a thin object leaves no core pixel: weight by
    # coverage instead, so the background-noise decay curve does not stop at the deep layers.
    has_obj = ops.sum(obj, axis=(1, 2)) > 0
    has_bg = ops.sum(bg, axis=(1, 2)) > 0
    obj = ops.where(has_obj[:, None, None], obj, coverage)
    bg = ops.where(has_bg[:, None, None], bg, 1.0 - coverage)
    return LayerContext(a, abs_a, finite, energy, obj, bg, band, coverage, pooled_size, {})


def _masked_scalar(ops, ctx: LayerContext, value):
    """NaN for images whose activation was not finite."""
    return ops.where(ctx.finite, value, ops.nan)


# ----------------------------------------------------------------------------- statistics


def _region_means(ops, ctx: LayerContext):
    """Mean energy over the object core and over the background core (NaN where empty)."""
    e = ctx.energy
    e_obj = _safe_div(ops, ops.sum(e * ctx.object, axis=(1, 2)), ops.sum(ctx.object, axis=(1, 2)))
    e_bg = _safe_div(ops, ops.sum(e * ctx.background, axis=(1, 2)), ops.sum(ctx.background, axis=(1, 2)))
    return e_obj, e_bg


@register(
    "background_ratio", kind="layer", outputs=("background_ratio", "energy_object", "energy_background")
)
def _background_ratio(ops, ctx: LayerContext) -> dict:
    e_obj, e_bg = _region_means(ops, ctx)
    ratio = _safe_div(ops, e_bg, e_obj)
    return {
        "background_ratio": _masked_scalar(ops, ctx, ratio),
        "energy_object": _masked_scalar(ops, ctx, e_obj),
        "energy_background": _masked_scalar(ops, ctx, e_bg),
    }


@register("edge_sharpness", kind="layer")
def _edge_sharpness(ops, ctx: LayerContext) -> dict:
    e_obj, e_bg = _region_means(ops, ctx)
    gy, gx = ops.central_grad(ctx.energy)
    g = ops.sqrt(gy * gy + gx * gx)
    s1 = ops.sum(g * ctx.band, axis=(1, 2))
    s2 = ops.sum(g * g * ctx.band, axis=(1, 2))
    typical = ops.where(s1 > 0, _safe_div(ops, s2, s1), 0.0)
    typical = ops.where(ops.sum(ctx.band, axis=(1, 2)) > 0, typical, ops.nan)
    contrast = ops.abs(e_obj - e_bg)
    ok = contrast > _CONTRAST_RTOL * 0.5 * (e_obj + e_bg)
    sharp = ops.where(ok, _safe_div(ops, typical, contrast), ops.nan)
    return {"edge_sharpness": _masked_scalar(ops, ctx, sharp)}


def _pooled_map(ops, ctx: LayerContext):
    """(B, p, p, C) exact area-average pool of the activation (computed once per context)."""
    if "pooled" not in ctx.cache:
        ctx.cache["pooled"] = _area_pool(ops, ctx.activation, ctx.pooled_size, ctx.pooled_size)
    return ctx.cache["pooled"]


@register("gap", kind="layer")
def _gap(ops, ctx: LayerContext) -> dict:
    # every cell of the exact area pool has the same total weight, so the mean of the cells is the
    # global average: one pass over the activation serves both outputs
    gap = ops.mean(_pooled_map(ops, ctx), axis=(1, 2))
    return {"gap": ops.where(ctx.finite[:, None], gap, ops.nan)}


@register("pooled", kind="layer")
def _pooled(ops, ctx: LayerContext) -> dict:
    pooled = ops.flatten(_pooled_map(ops, ctx))
    return {"pooled": ops.where(ctx.finite[:, None], pooled, ops.nan)}


@register("channel_max", kind="layer")
def _channel_max(ops, ctx: LayerContext) -> dict:
    # 0 for non-finite images, so they cannot raise a running maximum
    return {"channel_max": ops.where(ctx.finite[:, None], ops.max(ctx.abs_activation, axis=(1, 2)), 0.0)}


# ----------------------------------------------------------------------------- entry points


def _check_options(pooled_size: int, band_px: int, stats) -> tuple[str, ...]:
    check_int("pooled_size", pooled_size, low=1)
    check_int("band_px", band_px, low=0)
    names = tuple(REGISTRY.names(kind="layer")) if stats is None else tuple(stats)
    for name in names:
        REGISTRY.get(name, kind="layer")  # a miss lists the valid names
    return names


def _summaries(ops, activation, mask, *, pooled_size: int, band_px: int, stats: tuple[str, ...]) -> dict:
    ctx = _context(ops, activation, mask, pooled_size=pooled_size, band_px=band_px)
    out = {"finite": ctx.finite}
    for name in stats:
        out.update(REGISTRY.get(name, kind="layer").fn(ops, ctx))
    return out


@dataclass(frozen=True)
class LayerReducer:
    """A reducer for ``Tapper.reduce``: ``reducer(name, activation, aux) -> dict[str, tf.Tensor]``.

    Build it with :func:`make_layer_reducer`; keep the object to reuse the Tapper's traced
    function (the trace is cached per reducer object).

    Attributes
    ----------
    pooled_size : int
    band_px : int
    stats : tuple of str
        The registered ``"layer"`` statistics it computes.

    Examples
    --------
    >>> import keras
    >>> from gapviz.models import tap
    >>> reducer = make_layer_reducer(pooled_size=2, stats=["gap", "background_ratio"])
    >>> reducer
    LayerReducer(pooled_size=2, band_px=1, stats=('gap', 'background_ratio'))
    >>> conv = keras.layers.Conv2D(2, 3, padding="same", kernel_initializer="ones", name="conv")
    >>> model = keras.Sequential([keras.Input((8, 8, 3)), conv])
    >>> x = np.zeros((1, 8, 8, 3), np.float32)
    >>> x[:, 2:6, 2:6] = 1.0  # a bright square object on a black background
    >>> mask = (x[..., :1] > 0).astype(np.float32)  # (B, H, W, 1), 1 = object
    >>> out = tap(model, "conv").reduce(x, reducer, {"mask": mask})["conv"]
    >>> sorted(out)
    ['background_ratio', 'energy_background', 'energy_object', 'finite', 'gap']
    >>> out["gap"].shape, out["energy_object"].tolist(), out["background_ratio"].tolist()
    ((1, 2), [27.0], [0.0])
    """

    pooled_size: int = 4
    band_px: int = 1
    stats: tuple[str, ...] = ()

    def __call__(self, name: str, activation, aux) -> dict:
        if not aux or "mask" not in aux:
            raise GapvizError(
                f"layer {name!r}: the layer reducer needs aux['mask'], the (B, H, W, 1) float32 object mask "
                "at model input resolution"
            )
        return _summaries(
            _TFOps(),
            activation,
            aux["mask"],
            pooled_size=self.pooled_size,
            band_px=self.band_px,
            stats=self.stats,
        )


def make_layer_reducer(*, pooled_size: int = 4, band_px: int = 1, stats=None) -> LayerReducer:
    """Build the in-graph reducer of layer activations for ``Tapper.reduce``.

    Parameters
    ----------
    pooled_size : int, default 4
        Side of the average-pooled spatial map (``pooled`` has ``pooled_size**2 * C`` values).
    band_px : int, default 1
        Margin, in layer pixels, by which the object and background cores are eroded away
        from the partly covered boundary pixels.
    stats : sequence of str, optional
        Registered ``"layer"`` statistics to compute; all of them by default.

    Returns
    -------
    LayerReducer
        ``reducer(name, activation, aux)`` where ``activation`` is a (B, h, w, C) tensor and
        ``aux["mask"]`` a (B, H, W, 1) float32 object mask (1 = object); returns the dict of
        small tensors described in the module docstring. TensorFlow ops only.

    Examples
    --------
    >>> import tensorflow as tf
    >>> reducer = make_layer_reducer(pooled_size=2)
    >>> act = tf.random.normal((2, 8, 8, 3))
    >>> mask = tf.pad(tf.ones((2, 8, 8, 1)), [[0, 0], [4, 4], [4, 4], [0, 0]])
    >>> out = tf.function(reducer)("conv1", act, {"mask": mask})
    >>> tuple(out["pooled"].shape), tuple(out["background_ratio"].shape)
    ((2, 12), (2,))
    """
    names = _check_options(pooled_size, band_px, stats)
    return LayerReducer(int(pooled_size), int(band_px), names)


def layer_summaries_np(activation, mask, *, pooled_size: int = 4, band_px: int = 1, stats=None) -> dict:
    """The numpy twin of :func:`make_layer_reducer`'s reducer.

    Parameters
    ----------
    activation : array (B, h, w, C)
        One layer's activation for a batch.
    mask : array (B, H, W) or (B, H, W, 1)
        Object masks at model input resolution (bool or float, 1 = object).
    pooled_size, band_px, stats
        As in :func:`make_layer_reducer`.

    Returns
    -------
    dict of str to ndarray
        The same keys, shapes and values (float32, ``finite`` bool) as the in-graph reducer.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> act = np.abs(rng.normal(size=(1, 16, 16, 4))).astype(np.float32)
    >>> act[:, :, :8] *= 0.1                     # attenuate the left half (the background)
    >>> mask = np.zeros((1, 32, 32), bool)
    >>> mask[:, :, 16:] = True
    >>> out = layer_summaries_np(act, mask)
    >>> bool(out["background_ratio"][0] < 0.2)
    True
    """
    names = _check_options(pooled_size, band_px, stats)
    activation = np.asarray(activation)
    mask = np.asarray(mask)
    if activation.ndim != 4:
        raise GapvizError(f"Argument 'activation' must be (B, h, w, C) but got shape {activation.shape}")
    if mask.ndim not in (3, 4) or mask.shape[0] != activation.shape[0]:
        raise GapvizError(
            f"Argument 'mask' must be (B, H, W) or (B, H, W, 1) with B={activation.shape[0]} but got {mask.shape}"
        )
    with np.errstate(invalid="ignore", divide="ignore"):
        out = _summaries(
            _NumpyOps(),
            activation,
            mask.astype(np.float32),
            pooled_size=int(pooled_size),
            band_px=int(band_px),
            stats=names,
        )
    return {k: np.asarray(v) for k, v in out.items()}
