"""Codec artefacts: JPEG blockiness on the 8x8 block grid."""

from __future__ import annotations

import cv2
import numpy as np

from gapviz.stats._pixels import nan as _nan
from gapviz.stats._registry import register
from gapviz.stats.image_context import ImageContext

_JPEG_BLOCK = 8


@register("jpeg_blockiness", kind="image")
def jpeg_blockiness(ctx: ImageContext) -> dict[str, float]:
    """Mean |grey difference| across 8x8 block boundaries over that inside blocks.

    About 1 for images without block artefacts, above 1 for JPEG at quality ~70 and below.
    Only meaningful on images still aligned with their codec's grid (not resized or cropped
    after decoding). NaN for images smaller than two blocks; 1 for a flat image.

    Examples
    --------
    >>> from gapviz.scenes import render_scene
    >>> from gapviz.stats import ImageContext
    >>> scene = render_scene(0, size=128)
    >>> ctx = ImageContext(scene.image, scene.mask, canny=(20.0, 50.0, 1.0))
    >>> {k: round(v, 3) for k, v in jpeg_blockiness(ctx).items()}
    {'jpeg_blockiness': 1.004}
    """
    g = ctx.grey
    b = _JPEG_BLOCK
    if min(g.shape) < 2 * b:
        return {"jpeg_blockiness": _nan()}
    # |difference| between column j and j+1 summed down each column, and likewise for rows; numpy's
    # float64 sums, as OpenCV's depend on the rows' memory alignment in the last bits
    col = cv2.absdiff(g[:, 1:], g[:, :-1]).sum(axis=0, dtype=np.float64)
    row = cv2.absdiff(g[1:], g[:-1]).sum(axis=1, dtype=np.float64)
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
