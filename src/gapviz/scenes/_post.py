"""The renderer's camera knobs applied to a finished image (for calibrating recommendations).

`apply_camera_knobs` runs the same operators, in the same order, as `render_scene` does after
shading: background defocus (object kept sharp, via its mask), lens softness, exposure and white
balance, sensor noise, JPEG. So an amount calibrated on finished synthetic images means the same
thing when it is passed back to the renderer as a knob value. `FinishedImage` keeps what does not
depend on the knob values (the object layer, the noise field), for searches that apply many
settings to the same image.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import Any

import cv2
import numpy as np

from gapviz._errors import GapvizError
from gapviz.scenes._geometry import STREAM_NOISE, stream
from gapviz.scenes._render import _GAMMA, _lens, _object_layer, _sensor
from gapviz.vocabulary import CAMERA_KNOBS, KNOBS

__all__ = ["CAMERA_KNOBS", "FinishedImage", "apply_camera_knobs"]

# CAMERA_KNOBS (the knobs that act on the finished image, in the renderer's order) is the vocabulary's
_NEUTRAL = {knob: KNOBS[knob].neutral for knob in CAMERA_KNOBS}


#: blurred images a FinishedImage keeps (oldest dropped first): 4 x 3 MB at 512x512, twice that with linear light
_OPTICS_KEPT = 4


class FinishedImage:
    """A finished uint8 RGB image and its object mask, ready for many camera-knob settings.

    Parameters
    ----------
    image : ndarray (H, W, 3) uint8
    mask : ndarray (H, W) bool
        Object mask: ``camera_focus`` blurs only outside it.
    seed : int
        Seeds the sensor noise (the same field for every setting, as in a re-render).

    Examples
    --------
    >>> img = np.full((32, 32, 3), 128, np.uint8)
    >>> fin = FinishedImage(img, np.zeros((32, 32), bool), seed=1)
    >>> 3 < float(fin.apply({"sensor_noise": 5}).astype(float).std()) < 7
    True
    """

    def __init__(self, image: np.ndarray, mask: np.ndarray, seed: int = 0) -> None:
        self.image = np.asarray(image)
        self.mask = np.asarray(mask, bool)
        self.seed = int(seed)
        self._float = self.image.astype(np.float32) / 255.0
        self._optics_cache: dict[tuple[float, float], dict[str, np.ndarray]] = {}

    @cached_property
    def _layer(self) -> tuple[np.ndarray, np.ndarray]:
        """``alpha * obj_ext`` and ``1 - alpha``: the two terms of `_composite` that do not depend on focus."""
        obj_ext, alpha = _object_layer(self._float, self.mask)
        return alpha * obj_ext, 1 - alpha

    @cached_property
    def _noise(self) -> np.ndarray:
        return stream(self.seed, STREAM_NOISE).standard_normal(self.image.shape, dtype=np.float32)

    def apply(self, settings: Mapping[str, Any]) -> np.ndarray:
        """The image with ``settings`` (knob -> value, any of `CAMERA_KNOBS`) applied."""
        unknown = set(settings) - set(CAMERA_KNOBS)
        if unknown:
            raise GapvizError(
                f"knobs {sorted(unknown)} do not act on a finished image; valid: {', '.join(CAMERA_KNOBS)}"
            )
        values = {**_NEUTRAL, **{k: KNOBS[k].validate(v) for k, v in settings.items()}}
        if not any(values[k] for k in CAMERA_KNOBS):
            return self.image.copy()
        optics = self._optics(float(values["camera_focus"]), float(values["resolution"]))
        linear = None
        if values["exposure"] or values["color"]:
            if "linear" not in optics:
                optics["linear"] = np.clip(optics["image"], 0, 1) ** _GAMMA
            linear = optics["linear"]
        noise = self._noise if values["sensor_noise"] > 0 else None
        return _sensor(optics["image"], values, self.seed, unit_noise=noise, linear=linear)

    def _optics(self, focus: float, softness: float) -> dict[str, np.ndarray]:
        """The float image after background defocus and lens softness, for the last few settings.

        A calibration search moves one knob at a time, so the blurred image is usually one it
        made a moment ago (searching noise, exposure or JPEG quality re-blurs nothing). The entry
        also keeps the image in linear light once an exposure or colour setting asked for it.
        """
        key = (focus, softness)
        if key not in self._optics_cache:
            img = self._float
            if focus > 0:
                # `_composite` with its focus-free terms computed once: alpha * obj_ext + (1 - alpha) * blurred
                alpha_obj, inv_alpha = self._layer
                img = cv2.GaussianBlur(img, (0, 0), focus, borderType=cv2.BORDER_REFLECT)
                np.multiply(inv_alpha, img, out=img)
                img += alpha_obj
            if len(self._optics_cache) >= _OPTICS_KEPT:
                self._optics_cache.pop(next(iter(self._optics_cache)))
            self._optics_cache[key] = {"image": _lens(img, softness)}
        return self._optics_cache[key]


def apply_camera_knobs(
    image: np.ndarray, mask: np.ndarray, settings: Mapping[str, Any], seed: int = 0
) -> np.ndarray:
    """Apply camera knobs to a finished uint8 RGB image, as the renderer would.

    Parameters
    ----------
    image : ndarray (H, W, 3) uint8
    mask : ndarray (H, W) bool
        Object mask: ``camera_focus`` blurs only outside it.
    settings : mapping
        Knob -> value for any of `CAMERA_KNOBS`; missing knobs are neutral (0).
    seed : int
        Seeds the sensor noise.

    Returns
    -------
    ndarray (H, W, 3) uint8

    Examples
    --------
    >>> img = np.full((32, 32, 3), 128, np.uint8)
    >>> out = apply_camera_knobs(img, np.zeros((32, 32), bool), {"sensor_noise": 5}, seed=1)
    >>> 3 < float(out.astype(float).std()) < 7
    True
    """
    return FinishedImage(image, mask, seed).apply(settings)
