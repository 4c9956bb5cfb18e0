"""Pixel-level helpers shared by the image statistics: the input check, BT.601 grey, NaN."""

from __future__ import annotations

import cv2
import numpy as np

from gapviz._errors import GapvizError


def nan() -> float:
    return float("nan")


def check_image(image, mask) -> tuple[np.ndarray, np.ndarray]:
    """``(image, mask)`` as a C-contiguous uint8 RGB array and a bool mask, or a GapvizError."""
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


def grey(image: np.ndarray) -> np.ndarray:
    """BT.601 luma as float32, without a float copy of the whole RGB image."""
    r, g, b = cv2.split(image)
    out = cv2.addWeighted(r, 0.299, g, 0.587, 0.0, dtype=cv2.CV_32F)
    return cv2.scaleAdd(b.astype(np.float32), 0.114, out)


def erode(region: np.ndarray, radius: int) -> np.ndarray:
    """``region`` (bool) eroded by a (2r+1)-square; the image edge never erodes (OpenCV's default border)."""
    if radius <= 0:
        return region
    kernel = np.ones((2 * radius + 1, 2 * radius + 1), np.uint8)
    return cv2.erode(region.view(np.uint8), kernel).view(bool)
