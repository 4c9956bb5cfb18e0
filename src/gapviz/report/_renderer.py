"""The report's view of ``renderer_settings``: per card, and one script for every recommendation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gapviz.recommend._renderer import combined_script

__all__ = ["renderer_card", "renderer_script"]

_ENGINES = {"blender": "Blender (bpy)", "unreal": "Unreal Editor Python"}


def _value(item: Mapping) -> str:
    value = item.get("value")
    if value is None:
        return item.get("change", "change")
    text = f"{value:g}" if isinstance(value, float) else str(value)
    if item.get("unit") == "f-number":
        return f"f/{text}"
    return f"{text} {item['unit']}" if item.get("unit") else text


def _how(item: Mapping) -> str:
    if item.get("alternative"):
        return "alternative"
    return "direction" if item.get("value") is None else str(item.get("change", "set"))


def renderer_card(settings: Mapping | None) -> dict | None:
    """Rows (property, value, how) for one card, the derivation, notes and the snippet; None without settings."""
    if not settings:
        return None
    rows = [
        {"property": str(item.get("property", "")), "value": _value(item),
         "how": _how(item)}
        for item in settings.get("settings") or ()
    ]  # fmt: skip
    return {
        "engine": _ENGINES.get(settings.get("engine"), str(settings.get("engine", ""))),
        "rows": rows,
        "derivation": str(settings.get("derivation") or ""),
        "notes": [str(n) for n in settings.get("notes") or ()],
        "snippet": str(settings.get("snippet") or ""),
    }


def renderer_script(result: Any) -> dict | None:
    """The script setting every recommendation's properties, highest priority first; None without a camera."""
    camera = (result.parameters or {}).get("camera")
    recs = [r for r in result.recommendations if r.get("renderer_settings")]
    if not camera or not recs:
        return None

    engine = camera.get("engine", "blender")
    return {"engine": _ENGINES.get(engine, engine), "script": combined_script(recs, engine), "camera": camera}
