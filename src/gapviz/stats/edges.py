"""Edge statistics on the shared Canny edge map: density per region, straightness, pair agreement."""

from __future__ import annotations

import cv2
import numpy as np

from gapviz.stats._pixels import nan as _nan
from gapviz.stats._registry import register
from gapviz.stats.canny import edge_agreement
from gapviz.stats.image_context import ImageContext

#: Gaussian sigma (px) of the orientation window used by canny_straightness
STRAIGHTNESS_SIGMA = 2.0


def _region_mean(values: np.ndarray, region: np.ndarray) -> float:
    n = int(np.count_nonzero(region))
    return float(np.count_nonzero(values & region)) / n if n else _nan()


@register(
    "canny_edge_density",
    kind="image",
    outputs=("canny_edge_density.object", "canny_edge_density.background", "canny_edge_density.whole"),
)
def canny_edge_density(ctx: ImageContext) -> dict[str, float]:
    """Fraction of Canny edge pixels on the object, on the background, and overall.

    Examples
    --------
    >>> from gapviz.scenes import render_scene
    >>> from gapviz.stats import ImageContext
    >>> scene = render_scene(0, size=128)
    >>> ctx = ImageContext(scene.image, scene.mask, canny=(20.0, 50.0, 1.0))
    >>> {k: round(v, 3) for k, v in canny_edge_density(ctx).items()}
    {'canny_edge_density.object': 0.071, 'canny_edge_density.background': 0.194, 'canny_edge_density.whole': 0.196}
    """
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

    Examples
    --------
    >>> from gapviz.scenes import render_scene
    >>> from gapviz.stats import ImageContext
    >>> scene = render_scene(0, size=128)
    >>> ctx = ImageContext(scene.image, scene.mask, canny=(20.0, 50.0, 1.0))
    >>> {k: round(v, 3) for k, v in canny_straightness(ctx).items()}
    {'canny_straightness': 0.586}
    """
    idx = ctx.edge_index
    if idx.size == 0:
        return {"canny_straightness": _nan()}
    # (cos 2θ, sin 2θ) on edge pixels, 0 elsewhere, without trigonometry: OpenCV's SIMD
    # cartToPolar differs from its scalar tail in the last bits, so results would depend on threading.
    # Only the edge pixels are computed; the integer gradients make every product and sum exact.
    dx, dy = (g.ravel()[idx].astype(np.float32) for g in ctx.gradients)
    norm = dx * dx + dy * dy
    np.maximum(norm, 1e-12, out=norm)
    w = ctx.edges_u8.astype(np.float32)
    c2, s2 = np.zeros_like(w), np.zeros_like(w)
    c2.ravel()[idx] = (dx * dx - dy * dy) / norm
    s2.ravel()[idx] = (2.0 * dx * dy) / norm
    for a in (w, c2, s2):  # Gaussian-weighted window sums, in place
        cv2.GaussianBlur(a, (0, 0), STRAIGHTNESS_SIGMA, dst=a, borderType=cv2.BORDER_CONSTANT)
    c2, s2, w = c2.ravel()[idx], s2.ravel()[idx], w.ravel()[idx]
    # the length in numpy: cv2.magnitude's SIMD and scalar paths differ in the last bit, and which
    # pixels take which path follows OpenCV's thread stripes, so its result depended on threading
    coherence = np.sqrt(c2 * c2 + s2 * s2)
    cv2.divide(coherence, np.maximum(w, 1e-12, out=w), dst=coherence)
    return {"canny_straightness": float(coherence.mean(dtype=np.float64))}


@register("canny_edge_agreement", kind="pair")
def canny_edge_agreement(real: ImageContext, synth: ImageContext) -> dict[str, float]:
    """F1 agreement (2 px tolerance) between the real and the synthetic Canny edge maps.

    Examples
    --------
    >>> from gapviz.scenes import render_pair
    >>> from gapviz.stats import ImageContext
    >>> real, synth = render_pair(0, size=128)
    >>> ctx_r, ctx_s = (ImageContext(s.image, s.mask, canny=(20.0, 50.0, 1.0)) for s in (real, synth))
    >>> round(canny_edge_agreement(ctx_r, ctx_s)["canny_edge_agreement"], 3)
    0.511
    >>> canny_edge_agreement(ctx_r, ctx_r)
    {'canny_edge_agreement': 1.0}
    """
    return {"canny_edge_agreement": edge_agreement(real.edges, synth.edges, tol_px=2.0)}
