"""Rendering knobs: their meaning and units, validation, and the named presets.

The knob names are the recommendation vocabulary of ``docs/architecture.md``: a recommendation's
``parameter`` is a knob name here and its ``suggested`` value can be passed straight back.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from gapviz._errors import GapvizError

#: scikit-image sample photos usable as backgrounds; each one was checked to load offline from the
#: files shipped inside the scikit-image wheel (``skin``, ``eagle``, ``lily``, ``kidney`` need pooch
#: and a download, so they are not offered).
PHOTO_BACKGROUNDS = (
    "astronaut",
    "brick",
    "camera",
    "chelsea",
    "coffee",
    "grass",
    "gravel",
    "moon",
    "rocket",
)

#: ``mixed`` picks, per seed, either procedural clutter or one of the photos (an extension of the
#: contract's choices; the presets use it so that a data set has varied backgrounds).
BACKGROUNDS = ("plain", "clutter", "mixed", *PHOTO_BACKGROUNDS)
TEXTURES = ("clean", "scratched", "rusty")


@dataclass(frozen=True)
class Knob:
    """One rendering knob.

    Attributes
    ----------
    name : str
        The knob name (the recommendation vocabulary).
    kind : str
        ``"float"``, ``"int"`` or ``"choice"``.
    unit : str
        Unit and meaning of the value, in words.
    low, high : float or None
        Inclusive bounds for numeric knobs (None = unbounded on that side).
    choices : tuple of str
        Valid values of a ``"choice"`` knob.
    """

    name: str
    kind: str
    unit: str
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()

    def valid_range(self) -> str:
        """The valid values, in words, for error messages and docs."""
        if self.kind == "choice":
            return "one of " + ", ".join(repr(c) for c in self.choices)
        what = "an integer" if self.kind == "int" else "a number"
        if self.low is not None and self.high is not None:
            return f"{what} in [{self.low:g}, {self.high:g}]"
        if self.low is not None:
            return f"{what} >= {self.low:g}"
        return what

    def validate(self, value: Any) -> float | int | str:
        """Return ``value`` converted to the knob's type, or raise `GapvizError`.

        Strings are parsed (the CLI passes ``"3"``), so ``"3"`` and ``3`` give the same result.
        """
        bad = GapvizError(f"knob {self.name!r} got {value!r}; expected {self.valid_range()} ({self.unit})")
        if self.kind == "choice":
            if not isinstance(value, str) or value.strip().lower() not in self.choices:
                raise bad
            return value.strip().lower()
        if isinstance(value, bool):
            raise bad
        if isinstance(value, str):
            try:
                value = float(value.strip())
            except ValueError:
                raise bad from None
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise bad from None
        if not math.isfinite(number):
            raise bad
        if self.low is not None and number < self.low:
            raise bad
        if self.high is not None and number > self.high:
            raise bad
        if self.kind == "int":
            if number != int(number):
                raise bad
            return int(number)
        return number


_KNOB_LIST = (
    Knob(
        "camera_focus",
        "float",
        "background defocus, Gaussian sigma in px at the rendered size; 0 = in focus",
        0.0,
        100.0,
    ),
    Knob(
        "resolution",
        "float",
        "whole-image lens softness, Gaussian sigma in px; 0 = perfectly sharp render",
        0.0,
        50.0,
    ),
    Knob(
        "lighting",
        "float",
        "key-light coverage of the object: 1 = uniform ambient, lower = partial light with shadow",
        0.0,
        1.0,
    ),
    Knob("sensor_noise", "float", "Gaussian sensor noise sigma in 8-bit grey levels", 0.0, 128.0),
    Knob("compression", "int", "JPEG quality; 0 = lossless (no codec artefacts)", 0, 100),
    Knob("exposure", "float", "exposure shift in EV stops; 0 = none", -10.0, 10.0),
    Knob("color", "float", "white-balance cast: < 0 cool/blue, > 0 warm/orange", -1.0, 1.0),
    Knob("texture", "choice", "surface texture of the links", choices=TEXTURES),
    Knob(
        "background",
        "choice",
        "background content: plain, procedural clutter, a scikit-image photo, or mixed",
        choices=BACKGROUNDS,
    ),
)

#: Every knob by name, in the order used for CSV columns and docs.
KNOBS: Mapping[str, Knob] = MappingProxyType({k.name: k for k in _KNOB_LIST})

_DATASET1 = {
    "camera_focus": 0.0,
    "resolution": 0.0,
    "lighting": 1.0,
    "sensor_noise": 0.0,
    "compression": 0,
    "exposure": 0.0,
    "color": 0.0,
    "texture": "clean",
    "background": "mixed",
}

#: Named settings. ``field``: photo-like (what a drone camera sees); ``dataset1``: render-like, as the
#: study's first data set; ``dataset2``: dataset1 adjusted as the study did after its analysis
#: (camera focused on the object, so the background is defocused, and partial light).
PRESETS: Mapping[str, Mapping[str, Any]] = MappingProxyType(
    {
        "field": MappingProxyType(
            {
                "camera_focus": 3.0,
                "resolution": 0.8,
                "lighting": 0.5,
                "sensor_noise": 4.0,
                "compression": 80,
                "exposure": -0.3,
                "color": 0.15,
                "texture": "scratched",
                "background": "mixed",
            }
        ),
        "dataset1": MappingProxyType(dict(_DATASET1)),
        "dataset2": MappingProxyType({**_DATASET1, "camera_focus": 3.0, "lighting": 0.7}),
    }
)


def _check_preset(preset: str) -> Mapping[str, Any]:
    if not isinstance(preset, str) or preset not in PRESETS:
        raise GapvizError(f"unknown preset {preset!r}; expected one of {', '.join(PRESETS)}")
    return PRESETS[preset]


def _check_knob_name(name: Any) -> Knob:
    if name not in KNOBS:
        raise GapvizError(f"unknown knob {name!r}; valid knobs: {', '.join(KNOBS)}")
    return KNOBS[name]


def override_items(overrides: Iterable[str] | Mapping[str, Any] | None) -> list[tuple[str, Any]]:
    """``(name, value)`` pairs from ``"knob=value"`` strings or a mapping, names not yet checked."""
    if overrides is None:
        return []
    if isinstance(overrides, Mapping):
        return list(overrides.items())
    if isinstance(overrides, str):
        raise GapvizError(
            f"overrides must be a list of 'knob=value' strings or a mapping, got the string {overrides!r}"
        )
    items = []
    for item in overrides:
        if not isinstance(item, str) or "=" not in item:
            raise GapvizError(
                f"override {item!r} is not of the form knob=value (valid knobs: {', '.join(KNOBS)})"
            )
        name, _, value = item.partition("=")
        items.append((name.strip(), value.strip()))
    return items


def parse_overrides(overrides: Iterable[str] | Mapping[str, Any] | None) -> dict[str, Any]:
    """Validate knob overrides and convert their values to the knobs' types.

    Parameters
    ----------
    overrides : iterable of str, mapping, or None
        ``"knob=value"`` strings (as given to ``gapviz scenes --set``) or a ``{knob: value}``
        mapping. None means no overrides.

    Returns
    -------
    dict
        ``{knob: value}`` with each value converted (floats, an int JPEG quality, lower-case choices).

    Raises
    ------
    GapvizError
        For an unknown knob, a malformed item, or a value outside the knob's range; the message
        names the knob, the value and what is valid.

    Examples
    --------
    >>> from gapviz.scenes import parse_overrides
    >>> parse_overrides(["camera_focus=3", "texture=rusty"])
    {'camera_focus': 3.0, 'texture': 'rusty'}
    """
    return {name: _check_knob_name(name).validate(value) for name, value in override_items(overrides)}


def resolve_settings(
    preset: str, overrides: Iterable[str] | Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The full knob settings of ``preset`` with ``overrides`` applied (all validated).

    Examples
    --------
    >>> from gapviz.scenes import resolve_settings
    >>> resolve_settings("dataset1", {"lighting": 0.6})["lighting"]
    0.6
    """
    settings = dict(_check_preset(preset))
    settings.update(parse_overrides(overrides))
    return settings
