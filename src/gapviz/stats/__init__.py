"""Pure maths on arrays: in-graph layer reductions, image statistics, CKA/KID, bootstrap CIs,
mergeable accumulators. Nothing here does I/O or touches a Keras model; TensorFlow is imported
only inside the layer reducer's functions.

Statistics are registered by name (``gapviz.stats.REGISTRY``; the name is the JSON key) with a
kind: ``"layer"`` (in-graph reductions), ``"image"`` (one image + mask), ``"pair"`` (an aligned
real/synth image pair) or ``"set"`` (two samples of vectors).

How ``compare()`` uses it, per batch of B pairs::

    from gapviz import stats

    reducer = stats.make_layer_reducer(pooled_size=4, band_px=1)       # once
    canny = stats.Canny.from_images(first_real_images)                 # once, real side only
    acc = stats.PairAccumulator(layers=tapper.layers, cap=500, seed=seed)

    # per batch (pair_ids: ints or stems; masks at model input size, (B, H, W, 1) float32 for the graph)
    out_r = tapper.reduce(real_batch, reducer, {"mask": real_masks_f32})
    out_s = tapper.reduce(synth_batch, reducer, {"mask": synth_masks_f32})
    for layer in tapper.layers:
        acc.add_layer(layer, pair_ids, real=out_r[layer], synth=out_s[layer])
    acc.add_images(pair_ids, stats.image_stats_pairs(real_u8, real_masks, synth_u8, synth_masks,
                                                     canny=canny))

    part = acc.merge(other_acc)              # e.g. from another process
    result = acc.finalize(seed=seed, n_boot=1000)

``result`` is ``{"n_pairs", "image_stats": {key: Stat}, "layers": {name: {"stats": {...},
"nonfinite", "images", "channels"}}, "decay": {"background_ratio_slope": Stat}}`` where
``Stat`` = ``{"real", "synth", "diff", "effect_size", "ci95", "noise_floor", "n", "paired",
"dropped"}`` and a set statistic (``SetStat``) = ``{"value", "ci95", "noise_floor", "n"}``: typed
frozen records that are also read-only mappings of those JSON keys, with a ``verdict`` ("gap",
"within noise", "below floor") decided by `gapviz.stats.inference.verdict` alone.

Public API
----------
Layer reductions (:mod:`gapviz.stats.layer`)
    ``make_layer_reducer(*, pooled_size=4, band_px=1, stats=None) -> LayerReducer``;
    ``layer_summaries_np(activation, mask, *, pooled_size=4, band_px=1, stats=None) -> dict``.
Canny baseline (:mod:`gapviz.stats.canny`)
    ``Canny(low, high, sigma=1.0)`` (frozen; ``Canny.from_images(images)``, ``to_dict()``, unpacks as
    ``low, high, sigma``); ``canny_thresholds(images, *, sigma=1.0, high_percentile=70, low_ratio=0.4)
    -> (low, high)``; ``canny_edges(image, low, high, *, sigma=1.0) -> bool (H, W)``;
    ``edge_agreement(edges_a, edges_b, *, tol_px=2) -> float``.
Image statistics (:mod:`gapviz.stats.image`; the statistics by idea in :mod:`~gapviz.stats.edges`,
:mod:`~gapviz.stats.sharpness`, :mod:`~gapviz.stats.noise`, :mod:`~gapviz.stats.colour`,
:mod:`~gapviz.stats.compression`)
    ``image_stats(image, mask, *, canny) -> dict[str, float]``;
    ``image_stats_batch(images, masks, *, canny) -> dict[str, ndarray (N,)]``;
    ``image_stats_pairs(real, real_masks, synth, synth_masks, *, canny) -> {"real", "synth", "pair"}``;
    ``ImageContext`` (:mod:`gapviz.stats.image_context`: shared intermediates of one image).
    ``canny`` is a ``Canny`` or a ``(low, high, sigma)`` tuple.
Similarity (:mod:`gapviz.stats.similarity`)
    ``cka(x, y, *, debiased=True) -> float``; ``kid(x, y, *, n_subsets=None, subset_size=None,
    seed=0) -> float``; ``cka_stat(x, y, *, seed, n_boot) -> SetStat``;
    ``kid_stat(x, y, *, seed, n_boot, paired=True) -> SetStat``.
Inference (:mod:`gapviz.stats.inference`)
    ``paired_stat(real, synth, *, seed, n_boot) -> Stat``; ``unpaired_stat(...) -> Stat``;
    ``bootstrap_paired(real, synth, stat_fn=None, *, n_boot, seed, level) -> [lo, hi]``;
    ``noise_floor(values, *, seed) -> float | None``.
Decay (:mod:`gapviz.stats.decay`)
    ``decay_slope(values_by_layer_depth) -> ndarray``; ``decay_slope_stat(real, synth, *, seed,
    n_boot) -> Stat``.
Accumulation (:mod:`gapviz.stats.accumulate`)
    ``PairAccumulator(*, layers, cap=500, seed=0, paired=True, dead_atol=0.0)`` with
    ``add_images``, ``add_layer``, ``merge``, ``finalize``.
"""

from __future__ import annotations

from gapviz.stats._registry import REGISTRY, Registry, register
from gapviz.stats.accumulate import SET_STATS, PairAccumulator
from gapviz.stats.canny import CANNY_SIGMA, Canny, canny_edges, canny_thresholds, edge_agreement
from gapviz.stats.decay import decay_slope, decay_slope_stat
from gapviz.stats.image import image_stats, image_stats_batch, image_stats_pairs
from gapviz.stats.image_context import ImageContext
from gapviz.stats.inference import (
    SetStat,
    Stat,
    bootstrap_paired,
    noise_floor,
    paired_stat,
    unpaired_stat,
    verdict,
)
from gapviz.stats.layer import LayerReducer, layer_summaries_np, make_layer_reducer
from gapviz.stats.similarity import cka, cka_stat, kid, kid_stat

__all__ = [
    "CANNY_SIGMA",
    "Canny",
    "REGISTRY",
    "SET_STATS",
    "SetStat",
    "Stat",
    "ImageContext",
    "LayerReducer",
    "PairAccumulator",
    "Registry",
    "bootstrap_paired",
    "canny_edges",
    "canny_thresholds",
    "cka",
    "cka_stat",
    "decay_slope",
    "decay_slope_stat",
    "edge_agreement",
    "image_stats",
    "image_stats_batch",
    "image_stats_pairs",
    "kid",
    "kid_stat",
    "layer_summaries_np",
    "make_layer_reducer",
    "noise_floor",
    "paired_stat",
    "register",
    "unpaired_stat",
    "verdict",
]
