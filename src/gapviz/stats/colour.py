"""Colour and exposure: brightness, RMS contrast, relative channel means, illumination evenness."""

from __future__ import annotations

import cv2
import numpy as np

from gapviz.stats._pixels import nan as _nan
from gapviz.stats._registry import register
from gapviz.stats.image_context import BOUNDARY_PX, ImageContext

#: erosion (px at illumination_cv's ~128 px working size, at least BOUNDARY_PX of the image) of its object core
ILLUMINATION_CORE_PX = 2
#: the core is used when it keeps at least this share of the mask (else the whole mask: a very thin object)
ILLUMINATION_MIN_CORE = 0.2


def relative_channel_means(image: np.ndarray) -> np.ndarray:
    """The R, G, B channel means over the mean of the three (float64 (3,); NaN for a black image).

    The one place the colour statistics come from (``rgb_relative`` and any statistic of the
    colour balance built on it).

    Examples
    --------
    >>> img = np.zeros((4, 4, 3), np.uint8)
    >>> img[...] = (200, 100, 100)
    >>> relative_channel_means(img).tolist()
    [1.5, 0.75, 0.75]
    """
    # exact channel sums (integer accumulation) over the pixel count: equal to numpy's float64 mean,
    # at about 1/200 of its time (a strided three-channel numpy reduction took 4 ms at 512x512)
    h, w = image.shape[:2]
    means = np.asarray(cv2.sumElems(image)[:3], np.float64) / (h * w)
    total = means.mean()
    return means / total if total > 0 else np.full(3, np.nan)


@register("brightness", kind="image")
def brightness(ctx: ImageContext) -> dict[str, float]:
    """Mean grey level / 255.

    Examples
    --------
    >>> from gapviz.scenes import render_scene
    >>> from gapviz.stats import ImageContext
    >>> scene = render_scene(0, size=128)
    >>> ctx = ImageContext(scene.image, scene.mask, canny=(20.0, 50.0, 1.0))
    >>> {k: round(v, 3) for k, v in brightness(ctx).items()}
    {'brightness': 0.441}
    """
    return {"brightness": ctx.grey_mean_sd[0] / 255.0}


@register("rms_contrast", kind="image")
def rms_contrast(ctx: ImageContext) -> dict[str, float]:
    """Standard deviation of the grey levels / 255.

    Examples
    --------
    >>> from gapviz.scenes import render_scene
    >>> from gapviz.stats import ImageContext
    >>> scene = render_scene(0, size=128)
    >>> ctx = ImageContext(scene.image, scene.mask, canny=(20.0, 50.0, 1.0))
    >>> {k: round(v, 3) for k, v in rms_contrast(ctx).items()}
    {'rms_contrast': 0.19}
    """
    return {"rms_contrast": ctx.grey_mean_sd[1] / 255.0}


@register("rgb_relative", kind="image", outputs=("rgb_relative.r", "rgb_relative.g", "rgb_relative.b", "warmth"))
def rgb_relative(ctx: ImageContext) -> dict[str, float]:
    """Each channel's mean over the mean of the three (1, 1, 1 for neutral grey), and ``warmth``: red minus blue.

    Examples
    --------
    >>> from gapviz.scenes import render_scene
    >>> from gapviz.stats import ImageContext
    >>> scene = render_scene(0, size=128)
    >>> ctx = ImageContext(scene.image, scene.mask, canny=(20.0, 50.0, 1.0))
    >>> {k: round(v, 3) for k, v in rgb_relative(ctx).items()}
    {'rgb_relative.r': 0.959, 'rgb_relative.g': 1.076, 'rgb_relative.b': 0.965, 'warmth': -0.007}
    """
    rel = relative_channel_means(ctx.image)
    out = {f"rgb_relative.{c}": float(v) for c, v in zip("rgb", rel, strict=True)}
    out["warmth"] = out["rgb_relative.r"] - out["rgb_relative.b"]  # > 0 warmer: the colour knob's statistic
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

    Examples
    --------
    >>> from gapviz.scenes import render_scene
    >>> from gapviz.stats import ImageContext
    >>> scene = render_scene(0, size=128)
    >>> ctx = ImageContext(scene.image, scene.mask, canny=(20.0, 50.0, 1.0))
    >>> {k: round(v, 3) for k, v in illumination_cv(ctx).items()}
    {'illumination_cv': 0.382}
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
