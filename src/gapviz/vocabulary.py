"""The knob vocabulary: one place for what the renderer's knobs are called and what they mean.

A recommendation names a knob (DESIGN.md, "Recommendations"); the built-in scenes render with the
same knobs; a recommendation's ``suggested`` amount can be passed straight back as a knob value.
This module holds what they share: each knob's name, kind, unit, valid values, neutral value and
one-line meaning (`KNOBS`), which knobs act on the finished image (`CAMERA_KNOBS`) and which move
each other's statistics (`COUPLED`), and the order of the severities (`SEVERITIES`). It is on the
ground floor: it imports nothing of gapviz but the error type, and scenes, recommend, report and
the CLI read it.

Examples
--------
>>> from gapviz.vocabulary import KNOBS, SEVERITIES, severity_rank
>>> list(KNOBS)[:3]
['camera_focus', 'resolution', 'lighting']
>>> KNOBS["compression"].validate("80"), KNOBS["compression"].neutral
(80, 0)
>>> sorted(["low", "high", "medium"], key=severity_rank) == list(SEVERITIES)
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from gapviz._errors import GapvizError

__all__ = [
    "BACKGROUNDS",
    "CAMERA_KNOBS",
    "COUPLED",
    "KNOBS",
    "PHOTO_BACKGROUNDS",
    "SEVERITIES",
    "TEXTURES",
    "Knob",
    "severity_rank",
]

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
    neutral : float, int, str or None
        The value that leaves the image as it is: for a knob of `CAMERA_KNOBS`, applying it to a
        finished image changes nothing; None where no value is neutral (the background).
    meaning : str
        The rendering variable, in a few words (DESIGN.md's table; the CLI help lists it).
    suggested_unit : str or None
        Unit of a recommendation's ``suggested`` amount of this knob (None: no amount is calibrated).
    reverse_unit : str or None
        Unit of the amount of a ``reverse`` recommendation (renders with too much of the knob's
        effect): how much the photos would need to match the renders.

    Examples
    --------
    >>> knob = Knob("gain", "float", "sensor gain in dB", 0.0, 24.0, neutral=0.0)
    >>> knob.valid_range()
    'a number in [0, 24]'
    >>> knob.validate("6")
    6.0
    """

    name: str
    kind: str
    unit: str
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    neutral: float | int | str | None = None
    meaning: str = ""
    suggested_unit: str | None = None
    reverse_unit: str | None = None

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
        neutral=0.0,
        meaning="depth of field / background defocus",
        suggested_unit="px (background Gaussian blur sigma at the analysed image size)",
        reverse_unit="px (background Gaussian blur sigma the photos would need to match the renders: the renders' "
        "excess background blur, at the analysed image size)",
    ),
    Knob(
        "resolution",
        "float",
        "whole-image lens softness, Gaussian sigma in px; 0 = perfectly sharp render",
        0.0,
        50.0,
        neutral=0.0,
        meaning="render resolution, anti-aliasing, lens softness",
        suggested_unit="px (whole-image Gaussian softness sigma at the analysed image size)",
        reverse_unit="px (whole-image Gaussian softness sigma the photos would need to match the renders: the renders' "
        "excess softness, at the analysed image size)",
    ),
    Knob(
        "lighting",
        "float",
        "key-light coverage of the object: 1 = uniform ambient, lower = partial light with shadow",
        0.0,
        1.0,
        neutral=1.0,
        meaning="light direction, coverage, shadows",
    ),
    Knob(
        "sensor_noise",
        "float",
        "Gaussian sensor noise sigma in 8-bit grey levels",
        0.0,
        128.0,
        neutral=0.0,
        meaning="sensor / grain noise",
        suggested_unit="grey levels (Gaussian noise sigma, 8-bit)",
        reverse_unit="grey levels (Gaussian noise sigma the photos would need to match the renders: the renders' "
        "excess noise, 8-bit)",
    ),
    Knob(
        "compression",
        "int",
        "JPEG quality; 0 = lossless (no codec artefacts)",
        0,
        100,
        neutral=0,
        meaning="codec artefacts",
        suggested_unit="JPEG quality (1-100)",
        reverse_unit="JPEG quality at which re-saving the photos matches the renders' block artefacts",
    ),
    Knob(
        "exposure",
        "float",
        "exposure shift in EV stops; 0 = none",
        -10.0,
        10.0,
        neutral=0.0,
        meaning="brightness, contrast, tone mapping",
        suggested_unit="EV stops",
    ),
    Knob(
        "color",
        "float",
        "white-balance cast: < 0 cool/blue, > 0 warm/orange",
        -1.0,
        1.0,
        neutral=0.0,
        meaning="white balance, colour grading",
        suggested_unit="white-balance cast (-1 cool .. +1 warm)",
    ),
    Knob(
        "texture",
        "choice",
        "surface texture of the links",
        choices=TEXTURES,
        neutral="clean",
        meaning="surface texture detail on the object",
    ),
    Knob(
        "background",
        "choice",
        "background content: plain, procedural clutter, a scikit-image photo, or mixed",
        choices=BACKGROUNDS,
        meaning="background content and clutter",
    ),
)

#: Every knob by name, in DESIGN.md's order (also the order of CSV columns and docs).
KNOBS: Mapping[str, Knob] = MappingProxyType({k.name: k for k in _KNOB_LIST})

#: knobs that act on the finished image (the others change the scene itself), in the order the
#: renderer applies them after shading
CAMERA_KNOBS = ("camera_focus", "resolution", "exposure", "color", "sensor_noise", "compression")

#: knobs whose operators move each other's statistics (blur lowers sharpness and the noise
#: estimate alike), so their amounts are fitted together whenever one of them is
COUPLED = ("camera_focus", "resolution", "sensor_noise")

#: recommendation severities, most severe first
SEVERITIES = ("high", "medium", "low")
_SEVERITY_RANK = MappingProxyType({s: i for i, s in enumerate(SEVERITIES)})


def severity_rank(severity: str) -> int:
    """Position of ``severity`` in `SEVERITIES` (0 = ``"high"``), for sorting.

    Raises
    ------
    GapvizError
        For a name that is not a severity.

    Examples
    --------
    >>> [severity_rank(s) for s in ("high", "medium", "low")]
    [0, 1, 2]
    """
    try:
        return _SEVERITY_RANK[severity]
    except (KeyError, TypeError):
        raise GapvizError(
            f"Argument 'severity' must be one of {', '.join(SEVERITIES)} but got {severity!r}"
        ) from None
