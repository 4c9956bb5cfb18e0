"""What the model is fed: the preprocessed RGB batch, or its luminance for 1-channel (grey) models."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from gapviz.inputs._preprocess import preprocess

#: ITU-R BT.601 luma weights, the ones Pillow's ``convert("L")`` uses
LUMA = np.array([0.299, 0.587, 0.114], np.float32)

GREY_NOTE = (
    "the model takes 1-channel (grey) images: gapviz feeds it the luminance of each image "
    "(L = 0.299 R + 0.587 G + 0.114 B, as Pillow's convert('L')), preprocessed like a grey RGB image"
)


def model_input(images: np.ndarray, mode: str | Callable, channels: int | None) -> np.ndarray:
    """``(B, H, W, 3)`` uint8 RGB -> the float32 model batch with ``channels`` channels (1 or 3).

    Examples
    --------
    >>> rgb = np.zeros((1, 2, 2, 3), np.uint8); rgb[..., 1] = 255
    >>> x = model_input(rgb, "unit", 1)
    >>> x.shape, round(float(x[0, 0, 0, 0]), 3)
    ((1, 2, 2, 1), 0.587)
    """
    if channels != 1:
        return preprocess(images, mode)
    luma = np.asarray(images, np.float32) @ LUMA
    grey = np.repeat(luma[..., None], 3, axis=-1)
    return np.ascontiguousarray(preprocess(grey, mode)[..., :1])
