"""Checks that a model and its taps are ones gapviz can measure, each failing with one actionable line."""

from __future__ import annotations

from typing import Any

from gapviz._errors import GapvizError
from gapviz.models._frameworks import declared_input_shape, is_model

#: input channel counts gapviz can feed: RGB, or the luminance of RGB for grey models
FEEDABLE_CHANNELS = (1, 3)


def check_image_input(model: Any) -> bool:
    """Refuse models with several inputs, sequence (Conv1D) inputs, and channel counts gapviz cannot feed.

    Returns whether the input is a batch of images (or unknown); other ranks are left to the
    Tapper's "does not take images" error.
    """
    shape = declared_input_shape(model)  # raises for several inputs
    if shape is None:
        return True
    dims = tuple(shape[1:])
    if len(dims) == 2:
        raise GapvizError(
            f"model {model.name!r} takes sequences of shape {dims} (rank-3 input, e.g. Conv1D layers), not "
            "images (height, width, channels); gapviz measures 2-D image models"
        )
    if len(dims) != 3:  # vectors and volumes: the Tapper's "does not take images" error names the shape
        return False
    channels = dims[2]
    if channels is not None and channels not in FEEDABLE_CHANNELS:
        raise GapvizError(
            f"model {model.name!r} takes {channels}-channel images; gapviz decodes every image to RGB and feeds "
            "3 channels (or the luminance, for 1-channel models), so it cannot fill the other channels"
        )
    return True


def check_spatial(nodes: list, paths: list[str]) -> None:
    """Refuse taps whose output is not a feature map ``(N, h, w, c)``, naming the nearest ones that are."""
    by_path = {n.path: n for n in nodes}
    spatial = [n for n in nodes if _is_map(n.shape) and not is_model(n.layer)
               and type(n.layer).__name__ != "InputLayer"]
    for path in paths:
        node = by_path[path]
        if node.shape is None or _is_map(node.shape):
            continue
        close = sorted(spatial, key=lambda n: (abs(n.depth - node.depth), n.depth > node.depth))[:3]
        names = ", ".join(n.path for n in sorted(close, key=lambda n: n.depth)) or "none"
        raise GapvizError(
            f"layer {path!r} ({type(node.layer).__name__}, output {node.shape}) is not a spatial layer, so it has "
            f"no feature map to measure: pick a convolution; the closest spatial layers are {names}"
        )


def _is_map(shape: Any) -> bool:
    return isinstance(shape, tuple) and len(shape) == 4
