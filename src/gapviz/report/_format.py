"""Numbers and values as the report prints them, and the words for a statistic's verdict."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from gapviz.stats.inference import Verdict, as_stat, verdict

__all__ = ["VERDICT_TEXT", "as_float", "format_ci", "format_number", "pretty", "verdict_of"]

#: how the report and the figures word `gapviz.stats.inference.verdict` (None: no CI to decide with)
VERDICT_TEXT = {
    "gap": "gap",
    "within noise": "within noise",
    "below floor": "below noise floor",
    None: "no CI",
}


def format_number(value: Any, digits: int = 3) -> str:
    """A number with ``digits`` significant digits; ``"–"`` for a missing or non-finite value.

    Examples
    --------
    >>> format_number(0.123456), format_number(12345.6), format_number(None), format_number(3.2e-6)
    ('0.123', '12,346', '–', '3.2e-06')
    """
    if isinstance(value, bool):
        return "yes" if value else "no"
    try:
        x = float(value)
    except (TypeError, ValueError):
        return "–" if value is None else str(value)
    if not math.isfinite(x):
        return "–"
    if x == 0:
        return "0"
    if abs(x) >= 10**digits:
        return f"{x:,.0f}"
    if abs(x) < 1e-3:
        return f"{x:.{max(digits - 1, 1)}g}"
    return f"{x:.{digits}g}"


def format_ci(ci: Any, digits: int = 3) -> str:
    """A confidence interval ``[lo, hi]`` formatted as ``"[0.1, 0.3]"``; ``"–"`` when absent.

    Examples
    --------
    >>> format_ci([0.01234, 0.5])
    '[0.0123, 0.5]'
    """
    if not ci or len(ci) != 2 or ci[0] is None or ci[1] is None:
        return "–"
    return f"[{format_number(ci[0], digits)}, {format_number(ci[1], digits)}]"


def pretty(value: Any) -> str:
    """A value as the report prints it: numbers through `format_number`, the rest as JSON.

    Examples
    --------
    >>> pretty(0.123456), pretty(3), pretty("text"), pretty([1, None])
    ('0.123', '3', 'text', '[1, null]')
    """
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return format_number(value) if isinstance(value, float) else str(value)
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(value)


def as_float(value: Any) -> float:
    """``float(value)``, or NaN for a missing or non-numeric value.

    Examples
    --------
    >>> as_float("2"), as_float(None)
    (2.0, nan)
    """
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def verdict_of(stat: Any) -> Verdict | None:
    """The ``verdict`` of a stored statistic (`gapviz.stats.inference.Stat`); None without a CI.

    A hand-built result may hold the plain JSON dicts: they are read as their `Stat` or `SetStat`,
    and a partial dict by the same rule (`gapviz.stats.inference.verdict`); the ``nonfinite``
    counts and other non-statistics have none.

    Examples
    --------
    >>> verdict_of({"diff": 0.01, "ci95": [-0.02, 0.04], "noise_floor": 0.01}), verdict_of({"real": 0})
    ('within noise', None)
    """
    typed = as_stat(stat)
    if typed is not None:
        return typed.verdict
    return verdict(stat) if isinstance(stat, Mapping) else None
