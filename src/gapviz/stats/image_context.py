"""One image, its mask and the intermediates that its statistics share, each computed once, lazily."""

from __future__ import annotations

import math
from functools import cached_property

import cv2
import numpy as np

from gapviz.stats._pixels import check_image, erode, grey, mean_var
from gapviz.stats.canny import Canny, smoothed_gradients

#: erosion (px) of object and background away from the outline
BOUNDARY_PX = 3


class ImageContext:
    """One image, its mask and the intermediates its statistics share (computed lazily, once).

    Grey is ITU-R BT.601 luma (OpenCV's ``RGB2GRAY``) in grey levels 0-255, as float32.
    Regions: ``object`` is the mask eroded by ``boundary_px`` and ``background`` the complement
    eroded likewise, so that filters straddling the outline count on neither side.

    Parameters
    ----------
    image : array (H, W, 3) uint8
        RGB image.
    mask : array (H, W) bool
        Object mask (True = object).
    canny : Canny or (low, high, sigma)
        Absolute Canny thresholds (Sobel magnitude units) and pre-smoothing sigma, from
        :meth:`Canny.from_images` (or :func:`canny_thresholds` plus the sigma).
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
    >>> ctx.canny
    Canny(low=20.0, high=50.0, sigma=1.0)
    """

    def __init__(self, image, mask, *, canny, boundary_px: int = BOUNDARY_PX) -> None:
        self.image, self.mask = check_image(image, mask)
        self.canny = Canny.coerce(canny)
        self.low, self.high, self.sigma = self.canny
        self.boundary_px = int(boundary_px)

    @cached_property
    def grey(self) -> np.ndarray:
        return grey(self.image)

    @cached_property
    def grey_mean_sd(self) -> tuple[float, float]:
        mean, var = mean_var(self.grey)
        return mean, math.sqrt(var)

    @cached_property
    def object(self) -> np.ndarray:
        return erode(self.mask, self.boundary_px)

    @cached_property
    def background(self) -> np.ndarray:
        return erode(~self.mask, self.boundary_px)

    @cached_property
    def gradients(self) -> tuple[np.ndarray, np.ndarray]:
        return smoothed_gradients(self.grey, self.sigma)

    @cached_property
    def edges_u8(self) -> np.ndarray:
        """Canny edge map, uint8 0/1 (the form OpenCV masks take)."""
        dx, dy = self.gradients
        return cv2.Canny(dx, dy, self.low, self.high, L2gradient=True) // 255

    @cached_property
    def edges(self) -> np.ndarray:
        """Canny edge map, bool."""
        return self.edges_u8.view(bool)

    @cached_property
    def edge_index(self) -> np.ndarray:
        """Flat (row-major) indices of the Canny edge pixels."""
        return np.flatnonzero(self.edges)

    def region_values(self, values: np.ndarray) -> dict[str, np.ndarray]:
        """``values`` (H, W) on the object and on the background, as 1-D arrays in row-major order."""
        return {"object": values[self.object], "background": values[self.background]}
