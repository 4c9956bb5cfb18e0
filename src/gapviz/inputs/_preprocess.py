"""Model input scaling: the named conventions of the Keras applications, plus the study's own."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from gapviz._errors import GapvizError

#: The named preprocessing modes and what each does to a float32 RGB batch in 0..255.
PREPROCESS_MODES: dict[str, str] = {
    "unit": "x / 255 (the case study's training: rescale 1/255)",
    "caffe": "RGB->BGR, minus ImageNet means [103.939, 116.779, 123.68] (Keras VGG16/ResNet50)",
    "tf": "x / 127.5 - 1, range [-1, 1] (Keras MobileNetV2/ResNet50V2)",
    "torch": "x / 255, minus mean [0.485, 0.456, 0.406], / std [0.229, 0.224, 0.225]",
    "raw": "float32 0..255, unchanged",
}

_CAFFE_MEAN_BGR = np.array([103.939, 116.779, 123.68], np.float32)
_TORCH_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
_TORCH_STD = np.array([0.229, 0.224, 0.225], np.float32)

Preprocess = str | Callable[[np.ndarray], Any]


def _check_mode(mode: Any) -> None:
    if callable(mode):
        return
    if not isinstance(mode, str) or mode not in PREPROCESS_MODES:
        valid = ", ".join(repr(m) for m in PREPROCESS_MODES)
        raise GapvizError(
            f"preprocess must be one of {valid} or a callable on a float32 0..255 batch, got {mode!r}"
        )


def preprocess(batch: np.ndarray, mode: Preprocess = "unit") -> np.ndarray:
    """Scale a ``(B, H, W, 3)`` RGB batch in 0..255 the way the model expects.

    Parameters
    ----------
    batch : numpy.ndarray
        ``(B, H, W, 3)`` uint8 (or float in 0..255), RGB channel order.
    mode : str or callable
        One of ``PREPROCESS_MODES`` (``"unit"``, ``"caffe"``, ``"tf"``, ``"torch"``, ``"raw"``),
        or a callable applied to the float32 0..255 batch (e.g. a Keras ``preprocess_input``).

    Returns
    -------
    numpy.ndarray
        float32, same shape (``"caffe"`` returns BGR order, like Keras).

    Raises
    ------
    GapvizError
        Unknown mode (the message lists the valid ones), or a callable that returns another batch size.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.full((1, 1, 1, 3), 255, np.uint8)
    >>> preprocess(x, "unit").ravel().tolist(), preprocess(x, "tf").ravel().tolist()
    ([1.0, 1.0, 1.0], [1.0, 1.0, 1.0])
    """
    _check_mode(mode)
    x = np.asarray(batch)
    if x.ndim != 4 or x.shape[-1] != 3:
        raise GapvizError(f"preprocess expects a (B, H, W, 3) batch, got shape {x.shape}")
    x = x.astype(np.float32)
    if callable(mode):
        out = np.asarray(mode(x.copy()), dtype=np.float32)
        if out.shape[:1] != x.shape[:1]:
            raise GapvizError(
                f"the preprocess callable {preprocess_name(mode)} returned shape {out.shape} "
                f"for a batch of {x.shape[0]}; it must keep the batch axis"
            )
        return out
    if mode == "unit":
        return x * np.float32(1 / 255)
    if mode == "caffe":
        return x[..., ::-1] - _CAFFE_MEAN_BGR
    if mode == "tf":
        return x / np.float32(127.5) - np.float32(1)
    if mode == "torch":
        return (x * np.float32(1 / 255) - _TORCH_MEAN) / _TORCH_STD
    return x  # "raw"


def preprocess_name(mode: Preprocess) -> str:
    """A stable name for a preprocessing mode, for the result's ``model.preprocess`` field.

    Examples
    --------
    >>> preprocess_name("caffe")
    'caffe'
    >>> import numpy as np
    >>> preprocess_name(np.negative)
    'callable:numpy.negative'
    """
    _check_mode(mode)
    if isinstance(mode, str):
        return mode
    module = getattr(mode, "__module__", None) or type(mode).__module__
    qual = getattr(mode, "__qualname__", None) or getattr(mode, "__name__", None) or type(mode).__qualname__
    return f"callable:{module}.{qual}"
