"""Shared argument checks, all in one wording: ``Argument 'x' must be ... but got ...``.

Library functions name the keyword argument; the command line passes the flag (``--workers``), which is
named as it is typed (``--workers must be ...``). Each check returns the value in its canonical type, so
callers write ``n = check_int("n", n, low=1)``. Numpy integers count as ints; the module imports no
numpy, so the command line can check its flags before any heavy import.

Examples
--------
>>> check_int("batch_size", 16, low=1)
16
>>> check_int("batch_size", 0, low=1)
Traceback (most recent call last):
...
gapviz._errors.GapvizError: Argument 'batch_size' must be an int >= 1 but got 0
>>> check_int("--workers", True, low=1)
Traceback (most recent call last):
...
gapviz._errors.GapvizError: --workers must be an int >= 1 but got True
>>> check_size("image_size", 224)
(224, 224)
>>> check_size("--analysis-size", (4, 4), high=8192, hint="the default is the images' median size")
Traceback (most recent call last):
...
gapviz._errors.GapvizError: --analysis-size must be an int or (height, width) in [8, 8192] but got (4, 4); the default is the images' median size
>>> check_choice("kind", "image", ("image", "layer"))
'image'
>>> check_number("wear", 40, low=0, high=95)
40.0
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

from gapviz._errors import GapvizError

__all__ = ["argument_error", "check_choice", "check_int", "check_number", "check_size", "is_int"]


def _subject(name: str) -> str:
    return name if name.startswith("-") else f"Argument {name!r}"


def argument_error(name: str, expected: str, got: Any, *, hint: str = "") -> GapvizError:
    """The one-line error for argument ``name``: what it must be, what it got, and optionally what to do."""
    shown = got if isinstance(got, str) and got.startswith("<") else repr(got)
    return GapvizError(f"{_subject(name)} must be {expected} but got {shown}" + (f"; {hint}" if hint else ""))


def is_int(value: Any) -> bool:
    """True for Python and numpy integers, False for bools (which Python counts as ints)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _bounded(kind: str, low: Any, high: Any, fmt: Callable[[Any], str]) -> str:
    """``kind`` with its bounds as the messages say them: ``in [low, high]``, ``>= low``, ``<= high``."""
    if low is not None and high is not None:
        return f"{kind} in [{fmt(low)}, {fmt(high)}]"
    if low is not None:
        return f"{kind} >= {fmt(low)}"
    if high is not None:
        return f"{kind} <= {fmt(high)}"
    return kind


def check_int(
    name: str, value: Any, *, low: int | None = None, high: int | None = None, hint: str = ""
) -> int:
    """``value`` as an ``int`` in ``[low, high]`` (either bound optional), or the one-line error."""
    expected = _bounded("an int", low, high, str)
    if not is_int(value) or (low is not None and value < low) or (high is not None and value > high):
        raise argument_error(name, expected, value, hint=hint)
    return int(value)


def check_size(
    name: str, value: Any, *, low: int = 8, high: int | None = None, hint: str = ""
) -> tuple[int, int]:
    """An image size given as one int or ``(height, width)``, each in ``[low, high]``, as ``(height, width)``.

    A sequence or a 1-D array of two ints is a ``(height, width)`` pair.
    """
    sequence = isinstance(value, Sequence) or getattr(value, "ndim", None) == 1
    if is_int(value):
        size: tuple = (int(value), int(value))
    elif sequence and not isinstance(value, str) and all(is_int(v) for v in value):
        size = tuple(int(v) for v in value)
    else:
        size = ()
    if len(size) != 2 or min(size) < low or (high is not None and max(size) > high):
        raise argument_error(name, _bounded("an int or (height, width)", low, high, str), value, hint=hint)
    return size  # type: ignore[return-value]


def check_choice(name: str, value: Any, choices: Sequence[str]) -> str:
    """``value`` if it is one of ``choices``, else the one-line error listing them."""
    if not isinstance(value, str) or value not in choices:
        raise argument_error(name, "one of " + ", ".join(repr(c) for c in choices), value)
    return value


def check_number(name: str, value: Any, *, low: float | None = None, high: float | None = None,
                 hint: str = "") -> float:
    """``value`` as a finite ``float`` in ``[low, high]`` (either bound optional), or the one-line error.

    Examples
    --------
    >>> check_number("wear", 100, low=0, high=95)
    Traceback (most recent call last):
    ...
    gapviz._errors.GapvizError: Argument 'wear' must be a number in [0, 95] but got 100
    """
    expected = _bounded("a number", low, high, "{:g}".format) if (low, high) != (None, None) else "a finite number"
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    x = float(value) if ok else float("nan")
    if not math.isfinite(x) or (low is not None and x < low) or (high is not None and x > high):
        raise argument_error(name, expected, value, hint=hint)
    return x
