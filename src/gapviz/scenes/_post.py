"""The renderer's camera knobs applied to a finished image (for calibrating recommendations).

`apply_camera_knobs` runs the same operators, in the same order, as `render_scene` does after
shading: background defocus (object kept sharp, via its mask), lens softness, exposure and white
balance, sensor noise, JPEG. So an amount calibrated on finished synthetic images means the same
thing when it is passed back to the renderer as a knob value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from gapviz.scenes._knobs import KNOBS
from gapviz.scenes._render import _camera, _composite

__all__ = ["CAMERA_KNOBS", "apply_camera_knobs"]

#: knobs that act on the finished image (the others change the scene itself)
CAMERA_KNOBS = ("camera_focus", "resolution", "exposure", "color", "sensor_noise", "compression")
_NEUTRAL = {"camera_focus": 0.0, "resolution": 0.0, "exposure": 0.0, "color": 0.0, "sensor_noise": 0.0, "compression": 0}


def apply_camera_knobs(image: np.ndarray, mask: np.ndarray, settings: Mapping[str, Any], seed: int = 0) -> np.ndarray:
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
    unknown = set(settings) - set(CAMERA_KNOBS)
    if unknown:
        from gapviz._errors import GapvizError

        raise GapvizError(f"knobs {sorted(unknown)} do not act on a finished image; valid: {', '.join(CAMERA_KNOBS)}")
    values = {**_NEUTRAL, **{k: KNOBS[k].validate(v) for k, v in settings.items()}}
    img = np.asarray(image, np.float32) / 255.0
    mask = np.asarray(mask, bool)
    if values["camera_focus"] > 0:
        img = _composite(img, mask, img, float(values["camera_focus"]))
    return _camera(img, values, int(seed))
