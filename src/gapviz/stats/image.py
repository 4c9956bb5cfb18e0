"""Statistics of one uint8 RGB image and its object mask (the Canny baseline and friends), per batch.

Each statistic is a registered function ``fn(ctx: ImageContext) -> dict[str, float]``; the
:class:`~gapviz.stats.image_context.ImageContext` computes the shared intermediates (grey image,
region masks, smoothed gradients, Canny edges) once, lazily. This module runs them over images,
batches and aligned pairs; the statistics live by idea in :mod:`~gapviz.stats.edges` (Canny
density, straightness, pair agreement), :mod:`~gapviz.stats.sharpness` (Laplacian, LoG, blur
effect), :mod:`~gapviz.stats.noise`, :mod:`~gapviz.stats.colour` (exposure, colour, lighting)
and :mod:`~gapviz.stats.compression` (JPEG blocks); the thresholds in :mod:`~gapviz.stats.canny`. NaN means "not measurable on this image" (an empty
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
from collections.abc import Sequence

import numpy as np

from gapviz._errors import GapvizError
from gapviz.stats._registry import REGISTRY
from gapviz.stats.canny import Canny
from gapviz.stats.image_context import ImageContext

# The statistic modules register themselves on import, and this order is the registry's, hence that
# of the result's keys and the report's rows (the order of the one module they came from).
# isort: off
import gapviz.stats.edges  # noqa: F401
import gapviz.stats.sharpness  # noqa: F401
import gapviz.stats.noise  # noqa: F401
import gapviz.stats.colour  # noqa: F401
import gapviz.stats.compression  # noqa: F401
# isort: on


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
    canny = Canny.coerce(canny)
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
