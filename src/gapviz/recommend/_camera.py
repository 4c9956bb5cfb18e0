"""Camera profiles and thin-lens optics: turning a background blur in pixels into an f-number.

A camera profile describes one render rig once (engine, lens, sensor, distances, render width and,
optionally, the settings it renders with now). `load_camera` reads and validates it; the thin-lens
functions here are the optics `gapviz.recommend._renderer` uses to say a recommendation in the
engine's own settings. Formulas and assumptions: docs/recommendations.md, "Renderer settings".
"""

from __future__ import annotations

import difflib
import json
import math
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from gapviz._errors import GapvizError

__all__ = [
    "DISC_TO_SIGMA",
    "CameraProfile",
    "blur_disc_mm",
    "blur_sigma_px",
    "fstop_for_blur",
    "fstop_for_sigma_px",
    "load_camera",
]

#: per-axis standard deviation of a uniform disc of diameter c, as a share of c: a disc of radius
#: R has E[x^2] = R^2 / 4, so sigma = R / 2 = c / 4. Matching the second moment is what matters for
#: the statistics gapviz measures: at spatial frequencies below the blur's cut-off, every symmetric
#: kernel's transfer function is 1 - 2 pi^2 sigma^2 f^2 + ..., so it depends on its variance only.
DISC_TO_SIGMA = 0.25

ENGINES = ("blender", "unreal")


@dataclass(frozen=True)
class CameraProfile:
    """One render rig, as written once by the rendering team (``--camera camera.json``).

    Attributes
    ----------
    engine : str
        ``"blender"`` or ``"unreal"``: whose property names and units the settings use.
    focal_length_mm, sensor_width_mm : float
        Lens focal length and sensor (filmback) width; the sensor width spans the image width.
    focus_distance_m : float
        Camera to subject (the object the camera focuses on), along the optical axis.
    background_distance_m : float or None
        Camera to backdrop plane, or the HDRI sphere's radius; None = infinitely far.
    image_width_px : int
        Width of the images as rendered and saved (Blender: ``resolution_x`` times
        ``resolution_percentage`` / 100).
    fstop : float or None
        The f-number rendered with now, or None when depth of field is off.
    resolution_percentage : float or None
        Current render scale in percent (Blender ``render.resolution_percentage``, Unreal
        ``r.ScreenPercentage``), when the images are rendered smaller and scaled up.
    filter_width : float or None
        Current Cycles pixel filter width in px (Blender only).
    samples : int or None
        Current Cycles samples per pixel (Blender) or path-tracer samples.
    exposure_ev : float or None
        Current exposure (Blender ``view_settings.exposure``, Unreal ``AutoExposureBias``).
    white_balance_kelvin : float or None
        Current white-balance temperature (Blender ``white_balance_temperature``, Unreal ``WhiteTemp``).
    jpeg_quality : int or None
        JPEG quality the renders are saved with now; None = lossless.
    name : str or None
        Free text naming the rig.
    """

    engine: str
    focal_length_mm: float
    sensor_width_mm: float
    focus_distance_m: float
    background_distance_m: float | None
    image_width_px: int
    fstop: float | None = None
    resolution_percentage: float | None = None
    filter_width: float | None = None
    samples: int | None = None
    exposure_ev: float | None = None
    white_balance_kelvin: float | None = None
    jpeg_quality: int | None = None
    name: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def px_per_mm(self) -> float:
        """Rendered pixels per millimetre of sensor."""
        return self.image_width_px / self.sensor_width_mm

    def sigma_px(self, fstop: float | None) -> float:
        """Background blur sigma in rendered px at ``fstop`` (0 for None: depth of field off)."""
        if fstop is None:
            return 0.0
        return blur_sigma_px(self.focal_length_mm, fstop, self.focus_distance_m, self.background_distance_m,
                             self.sensor_width_mm, self.image_width_px)  # fmt: skip


#: field -> (required, kind, low bound, low bound exclusive, high bound); kinds: number, int, engine, text
_FIELDS: Mapping[str, tuple] = {
    "engine": (True, "engine", None, False, None),
    "focal_length_mm": (True, "number", 0.0, True, 5000.0),
    "sensor_width_mm": (True, "number", 0.0, True, 500.0),
    "focus_distance_m": (True, "number", 0.0, True, 1e6),
    "background_distance_m": (True, "number_or_null", 0.0, True, 1e9),
    "image_width_px": (True, "int", 8, False, 100000),
    "fstop": (False, "number_or_null", 0.0, True, 1000.0),
    "resolution_percentage": (False, "number_or_null", 0.0, True, 1000.0),
    "filter_width": (False, "number_or_null", 0.0, True, 100.0),
    "samples": (False, "int_or_null", 1, False, 10**7),
    "exposure_ev": (False, "number_or_null", -20.0, False, 20.0),
    "white_balance_kelvin": (False, "number_or_null", 800.0, False, 40000.0),
    "jpeg_quality": (False, "int_or_null", 1, False, 100),
    "name": (False, "text", None, False, None),
}


def _where(source: str | None) -> str:
    return f" in {source}" if source else ""


def _check_field(key: str, value: Any, source: str | None) -> Any:
    _required, kind, low, exclusive, high = _FIELDS[key]
    if kind == "engine":
        if not isinstance(value, str) or value.strip().lower() not in ENGINES:
            raise GapvizError(f"camera profile field 'engine'{_where(source)} must be one of "
                              f"{', '.join(repr(e) for e in ENGINES)} but got {value!r}")  # fmt: skip
        return value.strip().lower()
    if kind == "text":
        if value is not None and not isinstance(value, str):
            raise GapvizError(f"camera profile field {key!r}{_where(source)} must be a string but got {value!r}")
        return value
    if value is None and kind.endswith("_or_null"):
        return None
    integer = kind.startswith("int")
    what = "an integer" if integer else "a number"
    bound = f"{'>' if exclusive else '>='} {low:g}" if low is not None else ""
    expected = f"{what} {bound} and <= {high:g}".replace("  ", " ")
    if kind.endswith("_or_null"):
        expected += " (or null)"
    bad = GapvizError(f"camera profile field {key!r}{_where(source)} must be {expected} but got {value!r}")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise bad
    number = float(value)
    if not math.isfinite(number) or (integer and number != int(number)):
        raise bad
    if low is not None and (number <= low if exclusive else number < low):
        raise bad
    if high is not None and number > high:
        raise bad
    return int(number) if integer else number


def load_camera(camera: str | os.PathLike | Mapping[str, Any] | CameraProfile) -> CameraProfile:
    """Read and validate a camera profile (a JSON file path, a mapping, or a `CameraProfile`).

    Parameters
    ----------
    camera : str, os.PathLike, mapping or CameraProfile
        ``{"engine": "blender", "focal_length_mm": 50, "sensor_width_mm": 36,
        "focus_distance_m": 2.0, "background_distance_m": null, "image_width_px": 512, ...}``;
        optional current settings as in `CameraProfile`.

    Returns
    -------
    CameraProfile

    Raises
    ------
    GapvizError
        One line naming the field, what it must be and what it got (an unknown field names the
        closest valid one; a focus distance inside the focal length or a backdrop nearer than the
        subject name both fields).

    Examples
    --------
    >>> cam = load_camera({"engine": "blender", "focal_length_mm": 50, "sensor_width_mm": 36,
    ...                    "focus_distance_m": 2, "background_distance_m": None, "image_width_px": 512})
    >>> cam.engine, round(cam.px_per_mm, 2)
    ('blender', 14.22)
    """
    if isinstance(camera, CameraProfile):
        return camera
    source = None
    if isinstance(camera, (str, os.PathLike)):
        source = os.fspath(camera)
        try:
            with open(source, encoding="utf-8") as fh:
                data = json.load(fh)
        except FileNotFoundError:
            raise GapvizError(f"camera profile {source!r} does not exist; give the path of a JSON file") from None
        except json.JSONDecodeError as exc:
            raise GapvizError(f"camera profile {source!r} is not valid JSON ({exc.msg} at line {exc.lineno})") from None
        except OSError as exc:
            raise GapvizError(f"camera profile {source!r} could not be read ({exc.strerror})") from None
    else:
        data = camera
    if not isinstance(data, Mapping):
        raise GapvizError(f"camera profile{_where(source)} must be a JSON object of fields but got "
                          f"{type(data).__name__}")  # fmt: skip
    for key in data:
        if key not in _FIELDS:
            close = difflib.get_close_matches(str(key), list(_FIELDS), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; valid fields: {', '.join(_FIELDS)}"
            raise GapvizError(f"camera profile field {key!r}{_where(source)} is not a known field{hint}")
    missing = [key for key, spec in _FIELDS.items() if spec[0] and key not in data]
    if missing:
        raise GapvizError(f"camera profile field {missing[0]!r}{_where(source)} is missing (required: "
                          f"{', '.join(k for k, s in _FIELDS.items() if s[0])}; background_distance_m may be null "
                          "for an infinitely far background)")  # fmt: skip
    values = {key: _check_field(key, value, source) for key, value in data.items()}
    if values["focus_distance_m"] * 1000.0 <= values["focal_length_mm"]:
        raise GapvizError(f"camera profile field 'focus_distance_m'{_where(source)} must be beyond the focal length "
                          f"({values['focal_length_mm']:g} mm) but got {values['focus_distance_m']!r} m")  # fmt: skip
    background = values["background_distance_m"]
    if background is not None and background <= values["focus_distance_m"]:
        raise GapvizError(f"camera profile field 'background_distance_m'{_where(source)} must be farther than "
                          f"focus_distance_m ({values['focus_distance_m']:g} m) but got {background!r}; "
                          "use null for an infinitely far background")  # fmt: skip
    return CameraProfile(**values)


# -- thin-lens optics --------------------------------------------------------------------------------
def _depth_factor(focus_m: float, background_m: float | None) -> float:
    """(D - S) / D, 1 for a background at infinity."""
    return 1.0 if background_m is None or math.isinf(background_m) else (background_m - focus_m) / background_m


def blur_disc_mm(focal_mm: float, fstop: float, focus_m: float, background_m: float | None) -> float:
    """Blur-disc diameter on the sensor, in mm, of a point at ``background_m`` with the lens focused at ``focus_m``.

    Thin lens: ``c = f^2 / (N (S - f)) * (D - S) / D`` (all lengths in mm inside).

    Examples
    --------
    >>> round(blur_disc_mm(50, 2.0, 2.0, None), 4)   # 2500 / (2 * 1950)
    0.641
    """
    f, s = float(focal_mm), float(focus_m) * 1000.0
    return f * f / (float(fstop) * (s - f)) * _depth_factor(focus_m, background_m)


def fstop_for_blur(disc_mm: float, focal_mm: float, focus_m: float, background_m: float | None) -> float:
    """The f-number giving a blur disc of ``disc_mm`` (the inverse of `blur_disc_mm` in N).

    Examples
    --------
    >>> round(fstop_for_blur(0.641, 50, 2.0, None), 3)
    2.0
    """
    if not disc_mm > 0:
        raise GapvizError(f"a blur disc must be > 0 mm to solve for an f-number but got {disc_mm!r}")
    f, s = float(focal_mm), float(focus_m) * 1000.0
    return f * f / (float(disc_mm) * (s - f)) * _depth_factor(focus_m, background_m)


def blur_sigma_px(focal_mm: float, fstop: float, focus_m: float, background_m: float | None,
                  sensor_width_mm: float, image_width_px: int) -> float:  # fmt: skip
    """Gaussian-equivalent background blur sigma in rendered pixels (``DISC_TO_SIGMA`` x disc x px/mm)."""
    return DISC_TO_SIGMA * blur_disc_mm(focal_mm, fstop, focus_m, background_m) * image_width_px / sensor_width_mm


def fstop_for_sigma_px(sigma_px: float, focal_mm: float, focus_m: float, background_m: float | None,
                       sensor_width_mm: float, image_width_px: int) -> float:  # fmt: skip
    """The f-number whose background blur has Gaussian-equivalent sigma ``sigma_px`` rendered pixels.

    Examples
    --------
    >>> n = fstop_for_sigma_px(3.0, 85, 1.5, 6.0, 36, 160)
    >>> round(blur_sigma_px(85, n, 1.5, 6.0, 36, 160), 6)
    3.0
    """
    disc = float(sigma_px) / DISC_TO_SIGMA * sensor_width_mm / image_width_px
    return fstop_for_blur(disc, focal_mm, focus_m, background_m)
