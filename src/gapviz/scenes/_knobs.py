"""Rendering knobs: validation of overrides, and the named presets.

The knobs themselves (names, meaning, units, valid values) are the recommendation vocabulary of
`gapviz.vocabulary`: a recommendation's ``parameter`` is a knob name there and its ``suggested``
value can be passed straight back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

from gapviz._errors import GapvizError
from gapviz.vocabulary import BACKGROUNDS, KNOBS, PHOTO_BACKGROUNDS, TEXTURES, Knob

# the vocabulary (names, units, valid values) lives on the ground floor; the scenes re-export it
__all__ = ["BACKGROUNDS", "KNOBS", "PHOTO_BACKGROUNDS", "PRESETS", "TEXTURES", "Knob", "parse_overrides",
           "resolve_settings"]  # fmt: skip

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
