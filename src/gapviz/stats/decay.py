"""The background-noise decay: how fast ``background_ratio`` falls through the tapped layers."""

from __future__ import annotations

import numpy as np

from gapviz._errors import GapvizError
from gapviz.stats.inference import Stat, paired_stat


def decay_slope(values_by_layer_depth) -> np.ndarray:
    """Per-pair least-squares slope of ``log(background_ratio)`` against the layer's ordinal.

    Parameters
    ----------
    values_by_layer_depth : array (n_pairs, n_layers)
        ``background_ratio`` of each image (one side) at each tapped layer, shallowest first.

    Returns
    -------
    ndarray (n_pairs,)
        Slope per layer step (natural log units; negative = the background fades relative to
        the object with depth). NaN for a row with a non-finite or non-positive value, or with
        fewer than 2 layers.

    Examples
    --------
    >>> decay_slope([[1.0, np.exp(-1), np.exp(-2)], [1.0, 1.0, 1.0]]).round(6).tolist()
    [-1.0, 0.0]
    """
    v = np.asarray(values_by_layer_depth, dtype=np.float64)
    if v.ndim != 2:
        raise GapvizError(
            f"Argument 'values_by_layer_depth' must be (n_pairs, n_layers) but got shape {v.shape}"
        )
    n, n_layers = v.shape
    if n_layers < 2:
        return np.full(n, np.nan)
    ok = np.all(np.isfinite(v) & (v > 0), axis=1)
    y = np.log(np.where(ok[:, None], v, 1.0))
    x = np.arange(n_layers, dtype=np.float64) - (n_layers - 1) / 2.0
    slope = (y - y.mean(axis=1, keepdims=True)) @ x / (x @ x)
    return np.where(ok, slope, np.nan)


def decay_slope_stat(real, synth, *, seed: int = 0, n_boot: int = 1000) -> Stat:
    """Paired ``Stat`` of the per-pair decay slopes, real vs synthetic.

    Parameters
    ----------
    real, synth : array (n_pairs, n_layers)
        ``background_ratio`` per pair and layer (shallowest first) on each side.
    seed, n_boot
        As in :func:`gapviz.stats.paired_stat`.

    Returns
    -------
    Stat
        The statistic (key ``decay.background_ratio_slope`` in the JSON); a positive ``diff``
        means the background decays more slowly on the synthetic images.

    Examples
    --------
    >>> depth = np.arange(4)
    >>> real = np.exp(-1.0 * depth)[None].repeat(5, 0)
    >>> synth = np.exp(-0.5 * depth)[None].repeat(5, 0)
    >>> round(decay_slope_stat(real, synth)["diff"], 6)
    0.5
    """
    return paired_stat(decay_slope(real), decay_slope(synth), seed=seed, n_boot=n_boot)
