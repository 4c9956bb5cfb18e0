"""Statistics of one uint8 RGB image and its object mask (the Canny baseline and friends).

Each statistic is a registered function ``fn(ctx: ImageContext) -> dict[str, float]``; the
:class:`ImageContext` computes the shared intermediates (grey image, region masks, smoothed
gradients, Canny edges) once, lazily. NaN means "not measurable on this image" (an empty
region, a flat image); the accumulators drop such pairs and count them.

Grey is ITU-R BT.601 luma (OpenCV's ``RGB2GRAY``) in grey levels 0-255, as float32.
Regions: ``object`` is the mask eroded by ``boundary_px`` and ``background`` the complement
eroded likewise, so that filters straddling the outline count on neither side; ``whole`` is
every pixel.

=============================================  ================================================================
key                                            meaning
=============================================  ================================================================
``canny_edge_density.object/.background/.whole``  fraction of Canny edge pixels in the region
``canny_straightness``                         mean orientation coherence of edge pixels (1 = straight edges)
``laplacian_var.object/.background``           variance of the 4-neighbour Laplacian (grey levels²)
``laplacian_rel.object``                       object Laplacian variance / squared mean object grey (light-invariant)
``coarse_sharpness.object/.background``        variance of the scale-normalised LoG, sigma 2 px (noise-robust)
``blur_effect``                                Crété-Roffet blur metric (0 sharp .. 1 blurred), as skimage's
``noise_sigma.background``                     robust Gaussian noise sigma on the background (per channel)
``brightness``                                 mean grey / 255
``rms_contrast``                               sd of grey / 255
``rgb_relative.r/.g/.b``                       channel mean / mean of the three channel means
``warmth``                                     rgb_relative.r - rgb_relative.b (> 0 warmer, the colour knob's statistic)
``illumination_cv``                            coefficient of variation of smoothed luminance over the object's core
``jpeg_blockiness``                            mean |gradient| on 8x8 block boundaries / inside blocks
``canny_edge_agreement`` (pair)                F1 of real vs synth edge maps with a 2 px tolerance
=============================================  ================================================================
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from functools import cached_property

import cv2
import numpy as np

from gapviz._errors import GapvizError
from gapviz.stats._registry import REGISTRY, register

#: default Gaussian sigma (px) applied before Canny, as skimage.feature.canny
CANNY_SIGMA = 1.0
#: Canny thresholds from the real set follow MATLAB's edge(..., 'canny') defaults: the high
#: threshold leaves 70 % of the pixels' gradient magnitudes below it, the low one is 0.4 x high.
CANNY_HIGH_PERCENTILE = 70.0
CANNY_LOW_RATIO = 0.4
#: erosion (px) of object and background away from the outline
BOUNDARY_PX = 3
#: erosion (px at illumination_cv's ~128 px working size, at least BOUNDARY_PX of the image) of its object core
ILLUMINATION_CORE_PX = 2
#: the core is used when it keeps at least this share of the mask (else the whole mask: a very thin object)
ILLUMINATION_MIN_CORE = 0.2
#: Gaussian sigma (px) of the Laplacian of Gaussian in coarse_sharpness
COARSE_SIGMA = 2.0
#: Gaussian sigma (px) of the orientation window used by canny_straightness
STRAIGHTNESS_SIGMA = 2.0
#: Immerkær (1996) noise kernel; it annihilates planes and separable quadratics, its gain is 6
_NOISE_KERNEL = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)
_MAD_TO_SIGMA = 1.0 / 0.6744897501960817
_MIN_NOISE_PIXELS = 64
_BLUR_H_SIZE = 11
_JPEG_BLOCK = 8


def _nan() -> float:
    return float("nan")


def _parse_canny(canny) -> tuple[float, float, float]:
    if isinstance(canny, Mapping):
        canny = (canny.get("low"), canny.get("high"), canny.get("sigma", CANNY_SIGMA))
    try:
        low, high, *rest = canny
        sigma = rest[0] if rest else CANNY_SIGMA
        low, high, sigma = float(low), float(high), float(sigma)
    except (TypeError, ValueError):
        raise GapvizError(
            f"Argument 'canny' must be (low, high, sigma) from canny_thresholds() but got {canny!r}"
        ) from None
    if not (0 <= low <= high) or sigma < 0:
        raise GapvizError(f"Argument 'canny' must have 0 <= low <= high and sigma >= 0 but got {canny!r}")
    return low, high, sigma


def _grey(image: np.ndarray) -> np.ndarray:
    """BT.601 luma as float32, without a float copy of the whole RGB image."""
    r, g, b = cv2.split(image)
    grey = cv2.addWeighted(r, 0.299, g, 0.587, 0.0, dtype=cv2.CV_32F)
    return cv2.scaleAdd(b.astype(np.float32), 0.114, grey)


def _smoothed_gradients(grey: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """int16 Sobel derivatives of the Gaussian-smoothed grey image (the input of cv2.Canny)."""
    g = cv2.GaussianBlur(grey, (0, 0), sigma, borderType=cv2.BORDER_REFLECT) if sigma > 0 else grey
    dx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3, borderType=cv2.BORDER_REFLECT)
    dy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3, borderType=cv2.BORDER_REFLECT)
    return np.rint(dx).astype(np.int16), np.rint(dy).astype(np.int16)


def _check_image(image, mask) -> tuple[np.ndarray, np.ndarray]:
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise GapvizError(
            f"Argument 'image' must be a uint8 RGB array (H, W, 3) but got {image.dtype} {image.shape}"
        )
    mask = np.asarray(mask)
    if mask.shape != image.shape[:2]:
        raise GapvizError(
            f"Argument 'mask' must be an (H, W) object mask matching the image {image.shape[:2]} "
            f"but got shape {mask.shape}"
        )
    return np.ascontiguousarray(image), mask.astype(bool)


class ImageContext:
    """One image, its mask and the intermediates its statistics share (computed lazily, once).

    Parameters
    ----------
    image : array (H, W, 3) uint8
        RGB image.
    mask : array (H, W) bool
        Object mask (True = object).
    canny : (low, high, sigma)
        Absolute Canny thresholds (Sobel magnitude units) and pre-smoothing sigma, from
        :func:`canny_thresholds`.
    boundary_px : int
        Erosion of object and background away from the outline.

    Examples
    --------
    >>> img = np.zeros((32, 32, 3), np.uint8)
    >>> img[8:24, 8:24] = 200
    >>> mask = img[..., 0] > 0
    >>> ctx = ImageContext(img, mask, canny=(20.0, 50.0, 1.0))
    >>> int(ctx.edges.sum()) > 0, ctx.grey.dtype
    (True, dtype('float32'))
    """

    def __init__(self, image, mask, *, canny, boundary_px: int = BOUNDARY_PX) -> None:
        self.image, self.mask = _check_image(image, mask)
        self.low, self.high, self.sigma = _parse_canny(canny)
        self.boundary_px = int(boundary_px)

    @cached_property
    def grey(self) -> np.ndarray:
        return _grey(self.image)

    @cached_property
    def grey_mean_sd(self) -> tuple[float, float]:
        # numpy's float64 pairwise sums are deterministic; OpenCV's threaded reductions are not
        return float(self.grey.mean(dtype=np.float64)), float(self.grey.std(dtype=np.float64))

    def _erode(self, region: np.ndarray) -> np.ndarray:
        r = self.boundary_px
        if r <= 0:
            return region
        kernel = np.ones((2 * r + 1, 2 * r + 1), np.uint8)
        # cv2.erode's default border never erodes from the image edge
        return cv2.erode(region.view(np.uint8), kernel).view(bool)

    @cached_property
    def object(self) -> np.ndarray:
        return self._erode(self.mask)

    @cached_property
    def background(self) -> np.ndarray:
        return self._erode(~self.mask)

    @cached_property
    def gradients(self) -> tuple[np.ndarray, np.ndarray]:
        return _smoothed_gradients(self.grey, self.sigma)

    @cached_property
    def edges_u8(self) -> np.ndarray:
        """Canny edge map, uint8 0/1 (the form OpenCV masks take)."""
        dx, dy = self.gradients
        return cv2.Canny(dx, dy, self.low, self.high, L2gradient=True) // 255

    @cached_property
    def edges(self) -> np.ndarray:
        """Canny edge map, bool."""
        return self.edges_u8.view(bool)


def _region_mean(values: np.ndarray, region: np.ndarray) -> float:
    n = int(np.count_nonzero(region))
    return float(np.count_nonzero(values & region)) / n if n else _nan()


# ----------------------------------------------------------------------------- statistics


@register(
    "canny_edge_density",
    kind="image",
    outputs=("canny_edge_density.object", "canny_edge_density.background", "canny_edge_density.whole"),
)
def canny_edge_density(ctx: ImageContext) -> dict[str, float]:
    """Fraction of Canny edge pixels on the object, on the background, and overall."""
    e = ctx.edges
    return {
        "canny_edge_density.object": _region_mean(e, ctx.object),
        "canny_edge_density.background": _region_mean(e, ctx.background),
        "canny_edge_density.whole": float(np.count_nonzero(e)) / e.size,
    }


@register("canny_straightness", kind="image")
def canny_straightness(ctx: ImageContext) -> dict[str, float]:
    """Mean local orientation coherence of the Canny edge pixels.

    Each edge pixel's gradient direction ``theta`` is taken as the doubled-angle unit vector
    ``(cos 2θ, sin 2θ)`` (so opposite gradients agree); around each edge pixel these are averaged
    over the edge pixels in a Gaussian window (sigma ``STRAIGHTNESS_SIGMA`` px), and the length
    of the average (1 for a straight edge, lower for curved, jagged or cluttered edges) is
    averaged over the edge pixels. NaN without edges.
    """
    e = ctx.edges
    if not e.any():
        return {"canny_straightness": _nan()}
    dx, dy = (g.astype(np.float32) for g in ctx.gradients)
    # (cos 2θ, sin 2θ) on edge pixels, 0 elsewhere, without trigonometry: OpenCV's SIMD
    # cartToPolar differs from its scalar tail in the last bits, so results would depend on threading
    w = ctx.edges_u8.astype(np.float32)
    norm = dx * dx + dy * dy
    np.maximum(norm, 1e-12, out=norm)
    c2 = w * (dx * dx - dy * dy) / norm
    s2 = w * (2.0 * dx * dy) / norm
    for a in (w, c2, s2):  # Gaussian-weighted window sums, in place
        cv2.GaussianBlur(a, (0, 0), STRAIGHTNESS_SIGMA, dst=a, borderType=cv2.BORDER_CONSTANT)
    # the length in numpy: cv2.magnitude's SIMD and scalar paths differ in the last bit, and which
    # pixels take which path follows OpenCV's thread stripes, so its result depended on threading
    coherence = np.sqrt(c2 * c2 + s2 * s2)
    cv2.divide(coherence, np.maximum(w, 1e-12, out=w), dst=coherence)
    return {"canny_straightness": float(coherence[ctx.edges].mean(dtype=np.float64))}


@register(
    "laplacian_var",
    kind="image",
    outputs=("laplacian_var.object", "laplacian_var.background", "laplacian_rel.object"),
)
def laplacian_var(ctx: ImageContext) -> dict[str, float]:
    """Variance of the 4-neighbour Laplacian over the object and over the background (focus measure).

    ``laplacian_rel.object`` is the object's Laplacian variance divided by its squared mean grey
    level: fine detail scales with the light falling on it, so this ratio does not change with
    exposure or with a shadow across the object, while lens softness lowers it as much as the plain
    variance (measured on the built-in scenes: log-ratio 3.8 for 1.5 px softening either way, and
    for partial light +0.6 plain versus -0.7 relative, i.e. the opposite, one-way-ignored direction).
    """
    lap = cv2.Laplacian(ctx.grey, cv2.CV_32F, ksize=1, borderType=cv2.BORDER_REFLECT)
    out = {}
    for name, region in (("object", ctx.object), ("background", ctx.background)):
        if np.count_nonzero(region) < 2:
            out[f"laplacian_var.{name}"] = _nan()
            continue
        out[f"laplacian_var.{name}"] = float(lap[region].var(dtype=np.float64))
    mean_obj = float(ctx.grey[ctx.object].mean(dtype=np.float64)) if np.count_nonzero(ctx.object) >= 2 else 0.0
    out["laplacian_rel.object"] = out["laplacian_var.object"] / mean_obj**2 if mean_obj > 0 else _nan()
    return out


@register("coarse_sharpness", kind="image", outputs=("coarse_sharpness.object", "coarse_sharpness.background"))
def coarse_sharpness(ctx: ImageContext) -> dict[str, float]:
    """Variance of the scale-normalised Laplacian of Gaussian (sigma ``COARSE_SIGMA`` px) per region.

    A focus measure for structures a few pixels wide. Unlike ``laplacian_var``, which pixel-level
    sensor noise dominates once a background is defocused, the Gaussian pre-filter passes only
    ``1 / (8 pi sigma^4)`` of white noise's Laplacian energy (about 1 % at sigma = 2), so defocus
    and noise can be told apart. Grey levels squared.
    """
    smooth = cv2.GaussianBlur(ctx.grey, (0, 0), COARSE_SIGMA, borderType=cv2.BORDER_REFLECT)
    log = cv2.Laplacian(smooth, cv2.CV_32F, ksize=1, borderType=cv2.BORDER_REFLECT) * np.float32(COARSE_SIGMA**2)
    out = {}
    for name, region in (("object", ctx.object), ("background", ctx.background)):
        key = f"coarse_sharpness.{name}"
        out[key] = float(log[region].var(dtype=np.float64)) if np.count_nonzero(region) >= 2 else _nan()
    return out


def _blur_effect(grey: np.ndarray, h_size: int = _BLUR_H_SIZE) -> float:
    """``skimage.measure.blur_effect`` (Crété-Roffet et al. 2007) of a 2-D image, via OpenCV.

    Same definition as scikit-image's (uniform re-blur along each axis, Sobel differences,
    borders [2:-1] excluded, the maximum over the two axes); about 5x faster.
    """
    img = grey.astype(np.float32)
    eps = 1e-10
    blur_values = []
    for axis in (0, 1):
        ksize = (1, h_size) if axis == 0 else (h_size, 1)  # OpenCV sizes are (width, height)
        reblurred = cv2.blur(img, ksize, borderType=cv2.BORDER_REFLECT)
        # derivative along `axis`, smoothed [1, 2, 1] / 4 across it (skimage.filters.sobel)
        dx, dy = (0, 1) if axis == 0 else (1, 0)
        sharp = np.abs(cv2.Sobel(img, cv2.CV_32F, dx, dy, ksize=3, scale=0.25, borderType=cv2.BORDER_REFLECT))
        soft = np.abs(
            cv2.Sobel(reblurred, cv2.CV_32F, dx, dy, ksize=3, scale=0.25, borderType=cv2.BORDER_REFLECT)
        )
        sharp = cv2.max(sharp[2:-1, 2:-1], eps)
        soft = cv2.max(soft[2:-1, 2:-1], eps)
        m1 = float(sharp.sum(dtype=np.float64))
        m2 = float(cv2.max(cv2.subtract(sharp, soft), 0.0).sum(dtype=np.float64))
        blur_values.append(abs(m1 - m2) / m1)
    return max(blur_values)


@register("blur_effect", kind="image")
def blur_effect(ctx: ImageContext) -> dict[str, float]:
    """Crété-Roffet blur metric of the grey image (0 = sharp, 1 = maximally blurred)."""
    if min(ctx.grey.shape) < 4:
        return {"blur_effect": _nan()}
    return {"blur_effect": _blur_effect(ctx.grey / 255.0)}


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
    channels = [_noise_sigma(np.ascontiguousarray(ctx.image[..., c], dtype=np.float32), ctx.background) for c in range(3)]
    return {"noise_sigma.background": float(np.mean(channels))}


@register("brightness", kind="image")
def brightness(ctx: ImageContext) -> dict[str, float]:
    """Mean grey level / 255."""
    return {"brightness": ctx.grey_mean_sd[0] / 255.0}


@register("rms_contrast", kind="image")
def rms_contrast(ctx: ImageContext) -> dict[str, float]:
    """Standard deviation of the grey levels / 255."""
    return {"rms_contrast": ctx.grey_mean_sd[1] / 255.0}


@register("rgb_relative", kind="image", outputs=("rgb_relative.r", "rgb_relative.g", "rgb_relative.b", "warmth"))
def rgb_relative(ctx: ImageContext) -> dict[str, float]:
    """Each channel's mean over the mean of the three (1, 1, 1 for neutral grey), and ``warmth``: red minus blue."""
    # exact channel sums (integer accumulation) over the pixel count: equal to numpy's float64 mean,
    # at about 1/200 of its time (a strided three-channel numpy reduction took 4 ms at 512x512)
    h, w = ctx.image.shape[:2]
    means = np.asarray(cv2.sumElems(ctx.image)[:3], np.float64) / (h * w)
    total = means.mean()
    rel = means / total if total > 0 else np.full(3, np.nan)
    out = {f"rgb_relative.{c}": float(v) for c, v in zip("rgb", rel, strict=True)}
    out["warmth"] = out["rgb_relative.r"] - out["rgb_relative.b"]
    return out


@register("illumination_cv", kind="image")
def illumination_cv(ctx: ImageContext) -> dict[str, float]:
    """Coefficient of variation of the object's luminance after removing fine texture.

    Grey and mask are area-reduced so the short side is about 128 px, the object's *core* is the
    mask at that size eroded by ``max(2, ceil(3 / f))`` px (``f`` the reduction factor: at least
    3 px of the analysed image), the luminance is smoothed inside the core only (normalised
    convolution: blur(grey x core) / blur(core), Gaussian sigma 2 px at that size, i.e. 1/64 of
    the short side) and the CV (sd / mean) is taken over the core. Partial lighting and shadows
    raise it; uniform lighting gives a value near 0. The core keeps the silhouette's shading and
    any mislabelled boundary pixels out: with the whole mask a mask 2-3 px too large or too small
    moved the value by up to 1.2 across-scene SDs, with the core by at most 0.24
    (``scripts/measure_mask_sensitivity.py``, docs/masks.md). Objects too thin for a core (under
    20 % of the mask left) use the whole mask.
    """
    h, w = ctx.mask.shape
    f = max(1, min(h, w) // 128)
    size = (max(1, w // f), max(1, h // f))
    grey = cv2.resize(ctx.grey, size, interpolation=cv2.INTER_AREA)
    m = cv2.resize(ctx.mask.astype(np.float32), size, interpolation=cv2.INTER_AREA)
    inside = m > 0.5
    n_inside = np.count_nonzero(inside)
    if n_inside < 4:
        return {"illumination_cv": _nan()}
    r = max(ILLUMINATION_CORE_PX, -(-BOUNDARY_PX // f))
    core = cv2.erode(inside.view(np.uint8), np.ones((2 * r + 1, 2 * r + 1), np.uint8)).view(bool)
    n_core = np.count_nonzero(core)
    if n_core >= 4 and n_core >= ILLUMINATION_MIN_CORE * n_inside:
        inside = core
    m = inside.astype(np.float32)
    sigma = max(1.0, min(size) / 64.0)
    num = cv2.GaussianBlur(grey * m, (0, 0), sigma, borderType=cv2.BORDER_CONSTANT)
    den = cv2.GaussianBlur(m, (0, 0), sigma, borderType=cv2.BORDER_CONSTANT)
    lum = num[inside] / den[inside]
    mean = float(lum.mean(dtype=np.float64))
    return {"illumination_cv": float(lum.std(dtype=np.float64)) / mean if mean > 0 else _nan()}


@register("jpeg_blockiness", kind="image")
def jpeg_blockiness(ctx: ImageContext) -> dict[str, float]:
    """Mean |grey difference| across 8x8 block boundaries over that inside blocks.

    About 1 for images without block artefacts, above 1 for JPEG at quality ~70 and below.
    Only meaningful on images still aligned with their codec's grid (not resized or cropped
    after decoding). NaN for images smaller than two blocks; 1 for a flat image.
    """
    g = ctx.grey
    b = _JPEG_BLOCK
    if min(g.shape) < 2 * b:
        return {"jpeg_blockiness": _nan()}
    col = np.abs(np.diff(g, axis=1)).sum(axis=0, dtype=np.float64)  # difference between col j and j+1
    row = np.abs(np.diff(g, axis=0)).sum(axis=1, dtype=np.float64)
    on_col = (np.arange(col.size) % b) == b - 1
    on_row = (np.arange(row.size) % b) == b - 1
    boundary = (col[on_col].sum() / g.shape[0] + row[on_row].sum() / g.shape[1]) / (
        on_col.sum() + on_row.sum()
    )
    inside = (col[~on_col].sum() / g.shape[0] + row[~on_row].sum() / g.shape[1]) / (
        (~on_col).sum() + (~on_row).sum()
    )
    if inside == 0:
        return {"jpeg_blockiness": 1.0 if boundary == 0 else _nan()}
    return {"jpeg_blockiness": float(boundary / inside)}


# ----------------------------------------------------------------------------- Canny helpers


def canny_thresholds(
    images: Iterable,
    *,
    sigma: float = CANNY_SIGMA,
    high_percentile: float = CANNY_HIGH_PERCENTILE,
    low_ratio: float = CANNY_LOW_RATIO,
    stride: int = 2,
) -> tuple[float, float]:
    """Absolute Canny thresholds from a sample of (real) images, shared by both sides.

    The gradient magnitude (Sobel of the Gaussian-smoothed grey, exactly what
    :func:`canny_edges` thresholds) is pooled over the images (every ``stride``-th pixel in
    each direction); ``high`` is its ``high_percentile`` and ``low = low_ratio * high``.

    Parameters
    ----------
    images : iterable of array (H, W, 3) uint8
        The sample, usually the first batch(es) of real images.
    sigma : float
        Gaussian pre-smoothing, px.
    high_percentile : float
        Percentile of pixel gradient magnitudes taken as the high threshold (MATLAB's default).
    low_ratio : float
        Low threshold as a fraction of the high one.
    stride : int
        Pixel subsampling of the pooled magnitudes (memory).

    Returns
    -------
    (low, high) : tuple of float
        Thresholds in Sobel-magnitude units of 0-255 grey; pass ``(low, high, sigma)`` on.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> imgs = [rng.integers(0, 255, (32, 32, 3), dtype=np.uint8) for _ in range(2)]
    >>> low, high = canny_thresholds(imgs)
    >>> 0 < low < high
    True
    """
    mags = []
    for image in images:
        image, _ = _check_image(image, np.zeros(np.shape(image)[:2], bool))
        dx, dy = _smoothed_gradients(_grey(image), sigma)
        dx = dx[::stride, ::stride].astype(np.float32)
        dy = dy[::stride, ::stride].astype(np.float32)
        mags.append(np.sqrt(dx * dx + dy * dy).ravel())
    if not mags:
        raise GapvizError("Argument 'images' must hold at least one image to derive Canny thresholds from")
    high = float(np.percentile(np.concatenate(mags), high_percentile))
    high = max(high, 1.0)  # a flat sample would give 0: every pixel an edge
    return low_ratio * high, high


def canny_edges(image, low: float, high: float, *, sigma: float = CANNY_SIGMA) -> np.ndarray:
    """Canny edge map with absolute thresholds.

    Parameters
    ----------
    image : array (H, W, 3) uint8
    low, high : float
        Hysteresis thresholds on the L2 Sobel magnitude of the smoothed grey image.
    sigma : float
        Gaussian pre-smoothing, px.

    Returns
    -------
    array (H, W) bool

    Examples
    --------
    >>> img = np.zeros((32, 32, 3), np.uint8)
    >>> img[:, 16:] = 255
    >>> edges = canny_edges(img, 50.0, 100.0)
    >>> bool(edges[:, 15:17].any()), bool(edges[:, :10].any())
    (True, False)
    """
    image, _ = _check_image(image, np.zeros(np.shape(image)[:2], bool))
    dx, dy = _smoothed_gradients(_grey(image), sigma)
    return cv2.Canny(dx, dy, float(low), float(high), L2gradient=True) > 0


def edge_agreement(edges_a, edges_b, *, tol_px: float = 2.0) -> float:
    """Symmetric F1 of two edge maps, an edge pixel matching if the other map has one within ``tol_px``.

    Parameters
    ----------
    edges_a, edges_b : array (H, W) bool
    tol_px : float
        Matching distance (Euclidean, px).

    Returns
    -------
    float
        ``2PR / (P + R)`` with P the fraction of ``a``'s edge pixels near one of ``b``'s and R
        the converse; 1 when both maps are empty, 0 when exactly one is.

    Examples
    --------
    >>> a = np.zeros((20, 20), bool)
    >>> a[:, 10] = True
    >>> edge_agreement(a, np.roll(a, 1, axis=1)), edge_agreement(a, np.roll(a, 5, axis=1))
    (1.0, 0.0)
    """
    a = np.ascontiguousarray(edges_a, dtype=bool)
    b = np.ascontiguousarray(edges_b, dtype=bool)
    if a.shape != b.shape:
        raise GapvizError(
            f"Arguments 'edges_a' and 'edges_b' must have the same shape but got {a.shape} and {b.shape}"
        )
    na, nb = np.count_nonzero(a), np.count_nonzero(b)
    if na == 0 or nb == 0:
        return 1.0 if na == nb else 0.0

    # "an edge of the other map within tol_px" = the other map dilated by a Euclidean disk
    r = int(np.floor(tol_px))
    yy, xx = np.mgrid[-r : r + 1, -r : r + 1]
    disk = (yy * yy + xx * xx <= tol_px * tol_px).astype(np.uint8)

    def near(edges):
        return cv2.dilate(edges.view(np.uint8), disk).view(bool)

    precision = np.count_nonzero(a & near(b)) / na
    recall = np.count_nonzero(b & near(a)) / nb
    if precision + recall == 0:
        return 0.0
    return float(2 * precision * recall / (precision + recall))


@register("canny_edge_agreement", kind="pair")
def canny_edge_agreement(real: ImageContext, synth: ImageContext) -> dict[str, float]:
    """F1 agreement (2 px tolerance) between the real and the synthetic Canny edge maps."""
    return {"canny_edge_agreement": edge_agreement(real.edges, synth.edges, tol_px=2.0)}


# ----------------------------------------------------------------------------- entry points


def _selected(kind: str, stats: Sequence[str] | None):
    if stats is None:
        return REGISTRY.entries(kind=kind)
    return [REGISTRY.get(name, kind=kind) for name in stats]


def image_stats(image, mask, *, canny, stats: Sequence[str] | None = None) -> dict[str, float]:
    """Every registered image statistic (or those named in ``stats``) of one image.

    Parameters
    ----------
    image : array (H, W, 3) uint8
    mask : array (H, W) bool
    canny : (low, high, sigma)
        From :func:`canny_thresholds` (plus the sigma), or a dict with those keys.
    stats : sequence of str, optional
        Registered ``"image"`` statistic names; all by default.

    Returns
    -------
    dict of str to float
        The keys in the module docstring's table (NaN where not measurable).

    Examples
    --------
    >>> img = np.full((64, 64, 3), 128, np.uint8)
    >>> mask = np.zeros((64, 64), bool)
    >>> mask[16:48, 16:48] = True
    >>> out = image_stats(img, mask, canny=(20.0, 50.0, 1.0))
    >>> out["brightness"], out["canny_edge_density.whole"]
    (0.5019607843137255, 0.0)
    """
    ctx = ImageContext(image, mask, canny=canny)
    out: dict[str, float] = {}
    for entry in _selected("image", stats):
        out.update(entry.fn(ctx))
    return out


def _stack(rows: list[dict[str, float]]) -> dict[str, np.ndarray]:
    if not rows:
        return {}
    return {k: np.array([r[k] for r in rows], dtype=np.float64) for k in rows[0]}


def _contexts(images, masks, canny) -> list[ImageContext]:
    images = list(images) if not isinstance(images, np.ndarray) else images
    masks = list(masks) if not isinstance(masks, np.ndarray) else masks
    if len(images) != len(masks):
        raise GapvizError(
            f"Arguments 'images' and 'masks' must have the same length but got {len(images)} and {len(masks)}"
        )
    canny = _parse_canny(canny)
    return [ImageContext(img, m, canny=canny) for img, m in zip(images, masks, strict=True)]


def image_stats_batch(images, masks, *, canny, stats: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """:func:`image_stats` of a batch, as one float64 array (N,) per key.

    Parameters
    ----------
    images : array (N, H, W, 3) uint8 or sequence of (H, W, 3) arrays
    masks : array (N, H, W) bool or sequence of (H, W) arrays
    canny : (low, high, sigma)
    stats : sequence of str, optional

    Returns
    -------
    dict of str to ndarray (N,)

    Examples
    --------
    >>> imgs = np.full((2, 32, 32, 3), 100, np.uint8)
    >>> masks = np.zeros((2, 32, 32), bool)
    >>> image_stats_batch(imgs, masks, canny=(20.0, 50.0, 1.0))["brightness"].shape
    (2,)
    """
    entries = _selected("image", stats)
    rows = []
    for ctx in _contexts(images, masks, canny):
        row: dict[str, float] = {}
        for entry in entries:
            row.update(entry.fn(ctx))
        rows.append(row)
    return _stack(rows)


def image_stats_pairs(
    real, real_masks, synth, synth_masks, *, canny, stats: Sequence[str] | None = None
) -> dict[str, dict[str, np.ndarray]]:
    """Image statistics of a batch of aligned pairs, with the pair statistics, in one pass.

    Parameters
    ----------
    real, synth : array (N, H, W, 3) uint8 or sequences
        Pair ``i`` is ``(real[i], synth[i])``; sizes may differ between pairs but not within one
        for the pair statistics (edge agreement needs aligned images).
    real_masks, synth_masks : array (N, H, W) bool or sequences
    canny : (low, high, sigma)
        One set of absolute thresholds for both sides.
    stats : sequence of str, optional
        Registered ``"image"`` and ``"pair"`` names; all by default.

    Returns
    -------
    dict
        ``{"real": {key: (N,)}, "synth": {key: (N,)}, "pair": {key: (N,)}}``, the input of
        :meth:`gapviz.stats.PairAccumulator.add_images`.

    Examples
    --------
    >>> imgs = np.full((2, 32, 32, 3), 100, np.uint8)
    >>> masks = np.zeros((2, 32, 32), bool)
    >>> out = image_stats_pairs(imgs, masks, imgs, masks, canny=(20.0, 50.0, 1.0))
    >>> sorted(out), out["pair"]["canny_edge_agreement"].tolist()
    (['pair', 'real', 'synth'], [1.0, 1.0])
    """
    if stats is None:
        image_entries, pair_entries = REGISTRY.entries(kind="image"), REGISTRY.entries(kind="pair")
    else:
        image_entries = [REGISTRY.get(s) for s in stats if REGISTRY.get(s).kind == "image"]
        pair_entries = [REGISTRY.get(s) for s in stats if REGISTRY.get(s).kind == "pair"]
    real_ctx = _contexts(real, real_masks, canny)
    synth_ctx = _contexts(synth, synth_masks, canny)
    if len(real_ctx) != len(synth_ctx):
        raise GapvizError(
            f"Arguments 'real' and 'synth' must hold the same number of images (pairs) "
            f"but got {len(real_ctx)} and {len(synth_ctx)}"
        )
    rows: dict[str, list] = {"real": [], "synth": [], "pair": []}
    for rc, sc in zip(real_ctx, synth_ctx, strict=True):
        for side, ctx in (("real", rc), ("synth", sc)):
            row: dict[str, float] = {}
            for entry in image_entries:
                row.update(entry.fn(ctx))
            rows[side].append(row)
        pair_row: dict[str, float] = {}
        if rc.image.shape == sc.image.shape:
            for entry in pair_entries:
                pair_row.update(entry.fn(rc, sc))
        else:
            pair_row = {k: math.nan for e in pair_entries for k in e.outputs}
        rows["pair"].append(pair_row)
    return {side: _stack(r) for side, r in rows.items()}
