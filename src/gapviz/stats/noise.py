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


#: the same kernel as the outer product of [1, -2, 1] with itself, for OpenCV's separable filter
_NOISE_KERNEL_1D = np.array([1, -2, 1], np.float32)


def _noise_sigma(grey: np.ndarray, region: np.ndarray) -> float:
    """Robust Gaussian noise sigma on ``region``: MAD of the Immerkær residual / its gain (6).

    ``grey`` is one float32 channel (any values); :func:`noise_sigma` computes the same on uint8
    channels in integers.
    """
    residual = cv2.filter2D(grey, cv2.CV_32F, _NOISE_KERNEL, borderType=cv2.BORDER_REFLECT)
    # the 3x3 kernel must lie inside the region; every other row and column is plenty for a median
    inside = cv2.erode(region.view(np.uint8), np.ones((3, 3), np.uint8)).view(bool)
    r = np.abs(residual[::2, ::2][inside[::2, ::2]])
    if r.size < _MIN_NOISE_PIXELS:
        return _nan()
    return float(np.median(r)) * _MAD_TO_SIGMA / 6.0


#: |residual| <= 16 x 255 on 8-bit channels; signed residuals shifted by this are non-negative
_MAX_RESIDUAL = 16 * 255
_BINS = 2 * _MAX_RESIDUAL + 1
#: per-channel shifts into one int16 histogram index (3 x 8161 bins stay below 2**15)
_SHIFTS = (_MAX_RESIDUAL + _BINS * np.arange(3)).astype(np.int16)


def _median_abs(residuals: np.ndarray) -> list[float]:
    """``np.median(np.abs(r))`` of each channel of integer residuals (n, 3), exactly, from histograms."""
    n = len(residuals)
    residuals += _SHIFTS
    counts = np.bincount(residuals.ravel(), minlength=3 * _BINS).reshape(3, _BINS)
    hist = counts[:, _MAX_RESIDUAL:].copy()  # |r| = 0, 1, ...: fold the negative half onto the positive
    hist[:, 1:] += counts[:, _MAX_RESIDUAL - 1 :: -1]
    cum = np.cumsum(hist, axis=1)
    # sorted[k] is the first value whose cumulative count exceeds k
    k = [(n - 1) // 2, n // 2]
    return [float(np.searchsorted(row, k, side="right").sum()) / 2 for row in cum]


def channel_noise_sigmas(image: np.ndarray, region: np.ndarray) -> list[float]:
    """:func:`_noise_sigma` of each channel of a uint8 RGB image on ``region``, in integer arithmetic.

    On 8-bit channels the Immerkær residual is an integer (at most 16 x 255), so OpenCV's separable
    filter to int16 gives it exactly, for the three channels in one pass; the median comes from a
    histogram. The values equal the float32 path's to the last bit.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> img = np.clip(128 + rng.normal(0, 5, (64, 64, 3)), 0, 255).astype(np.uint8)
    >>> [round(s, 1) for s in channel_noise_sigmas(img, np.ones((64, 64), bool))]
    [5.2, 4.7, 4.7]
    """
    residual = cv2.sepFilter2D(
        image, cv2.CV_16S, _NOISE_KERNEL_1D, _NOISE_KERNEL_1D, borderType=cv2.BORDER_REFLECT
    )
    inside = cv2.erode(np.ascontiguousarray(region).view(np.uint8), np.ones((3, 3), np.uint8)).view(bool)
    ys, xs = np.nonzero(inside[::2, ::2])
    if ys.size < _MIN_NOISE_PIXELS:
        return [_nan()] * 3
    idx = ys * (2 * inside.shape[1]) + 2 * xs  # flat indices of those even-row, even-column pixels
    residuals = np.take(residual.reshape(-1, 3), idx, axis=0)  # (n, 3) int16
    return [m * _MAD_TO_SIGMA / 6.0 for m in _median_abs(residuals)]


@register("noise_sigma", kind="image", outputs=("noise_sigma.background",))
def noise_sigma(ctx: ImageContext) -> dict[str, float]:
    """Sensor-noise sigma (8-bit levels per RGB channel) estimated on the background.

    The Immerkær (1996) residual removes the smooth image content; the median absolute
    residual, divided by 0.6745 and by the kernel's noise gain (6), is the sigma of additive
    Gaussian noise, robust to the few edges and textures left. It is measured on each colour
    channel and averaged: sensor noise is independent per channel, so on the grey image it would
    read about 0.67 x the per-channel sigma that cameras and renderers specify.

    Examples
    --------
    >>> from gapviz.scenes import render_scene
    >>> from gapviz.stats import ImageContext
    >>> scene = render_scene(0, size=128)
    >>> ctx = ImageContext(scene.image, scene.mask, canny=(20.0, 50.0, 1.0))
    >>> {k: round(v, 3) for k, v in noise_sigma(ctx).items()}
    {'noise_sigma.background': 0.577}
    """
    channels = channel_noise_sigmas(ctx.image, ctx.background)
    return {"noise_sigma.background": float(np.mean(channels))}
