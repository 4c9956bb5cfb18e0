"""The example pairs' feature maps: which channels to show, their energy maps, and the in-graph gather.

`compare` keeps a few pairs for display. Their full activations ride on their batch's one forward
pass (`WithMaps`, a wrapper of the layer reducer), and `top_channels` picks the channels with the
most energy over the pair (mean absolute activation, real plus synthetic) for the galleries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["MAPS", "TOP_CHANNELS", "WithMaps", "top_channels"]

#: channels shown per layer in the feature-map galleries
TOP_CHANNELS = 8
#: reducer output key of the example rows' full activations (popped before accumulation)
MAPS = "_example_maps"


def top_channels(real: np.ndarray, synth: np.ndarray, k: int = TOP_CHANNELS) -> dict:
    """The ``k`` channels of most energy over one pair's (h, w, C) activations, and the energy maps.

    Non-finite activations count as 0. Energy of a channel: its mean absolute activation on the
    real map plus that on the synthetic map; ties keep channel order.

    Returns
    -------
    dict
        ``channels`` (tuple of int, highest energy first), ``real`` and ``synth`` (h, w, k) maps of
        those channels, ``real_energy`` and ``synth_energy`` (h, w) mean absolute activation over
        all channels.

    Examples
    --------
    >>> real = np.zeros((2, 2, 3), np.float32); real[..., 2] = 1.0
    >>> synth = np.zeros((2, 2, 3), np.float32); synth[..., 0] = -0.5
    >>> out = top_channels(real, synth, k=2)
    >>> out["channels"], out["real"].shape, round(float(out["synth_energy"][0, 0]), 4)
    ((2, 0), (2, 2, 2), 0.1667)
    """
    r = np.nan_to_num(np.asarray(real, np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    s = np.nan_to_num(np.asarray(synth, np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    abs_r, abs_s = np.abs(r), np.abs(s)
    energy = abs_r.mean(axis=(0, 1)) + abs_s.mean(axis=(0, 1))
    top = np.argsort(-energy, kind="stable")[: min(k, energy.size)]
    return {
        "channels": tuple(int(c) for c in top),
        "real": r[..., top],
        "synth": s[..., top],
        "real_energy": abs_r.mean(axis=-1),
        "synth_energy": abs_s.mean(axis=-1),
    }


@dataclass(frozen=True)
class WithMaps:
    """The layer reducer, plus the full activations of the rows flagged in ``aux[MAPS]`` ((B,) bool).

    The example pairs' feature maps ride on their batch's one forward pass instead of a second
    pass over their images; batches without examples flag no row (an empty, free gather) and run
    the same traced function. Plain TensorFlow ops, so it runs wherever the model does.

    Examples
    --------
    >>> import keras, numpy as np
    >>> from gapviz.models import tap
    >>> from gapviz.stats import make_layer_reducer
    >>> model = keras.Sequential([keras.Input((16, 16, 3)), keras.layers.Conv2D(4, 3, name="c")])
    >>> out = tap(model, "c").reduce(np.ones((3, 16, 16, 3), "float32"), WithMaps(make_layer_reducer()),
    ...                              {"mask": np.ones((3, 16, 16, 1), "float32"), MAPS: np.array([True, False, True])})
    >>> out["c"][MAPS].shape  # the full maps of the two flagged rows only
    (2, 14, 14, 4)
    >>> out["c"]["background_ratio"].shape  # beside the reducer's per-row values
    (3,)
    """

    base: Any

    def __call__(self, name: str, activation: Any, aux: Any) -> dict:
        import tensorflow as tf

        out = dict(self.base(name, activation, aux))
        out[MAPS] = tf.boolean_mask(activation, aux[MAPS])
        return out
