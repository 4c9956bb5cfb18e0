"""Sensor noise: a robust Gaussian sigma from the Immerkaer residual on the background."""

from __future__ import annotations

import cv2
import numpy as np

from gapviz.stats._pixels import nan as _nan
from gapviz.stats._registry import register
from gapviz.stats.image_context import ImageContext

#: Immerkær (1996) noise kernel; it annihilates planes and separable quadratics, its gain is 6
_NOISE_KERNEL = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)
_MAD_TO_SIGMA = 1.0 / 0.6744897501960817
_MIN_NOISE_PIXELS = 64


def _noise_sigma(grey: np.ndarray, region: np.ndarray) -> float:
    """Robust Gaussian noise sigma on ``region``: MAD of the Immerkær residual / its gain (6)."""
    residual = cv2.filter2D(grey, cv2.CV_32F, _NOISE_KERNEL, borderType=cv2.BORDER_REFLECT)
    # the 3x3 kernel must lie inside the region; every other row and column is plenty for a median
    inside = cv2.erode(region.view(np.uint8), np.ones((3, 3), np.uint8)).view(bool)
    r = np.abs(residual[::2, ::2][inside[::2, ::2]])
    if r.size < _MIN_NOISE_PIXELS:
        return _nan()
    return float(np.median(r)) * _MAD_TO_SIGMA / 6.0


@register("noise_sigma", kind="image", outputs=("noise_sigma.background",))
def noise_sigma(ctx: ImageContext) -> dict[str, float]:
    """Sensor-noise sigma (8-bit levels per RGB channel) estimated on the background.

    The Immerkær (1996) residual removes the smooth image content; the median absolute
    residual, divided by 0.6745 and by the kernel's noise gain (6), is the sigma of additive
    Gaussian noise, robust to the few edges and textures left. It is measured on each colour
    channel and averaged: sensor noise is independent per channel, so on the grey image it would
    read about 0.67 x the per-channel sigma that cameras and renderers specify.
    """
    channels = [
        _noise_sigma(np.ascontiguousarray(ctx.image[..., c], dtype=np.float32), ctx.background)
        for c in range(3)
    ]
    return {"noise_sigma.background": float(np.mean(channels))}
