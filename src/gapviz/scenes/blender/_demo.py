"""The demo's 3D step: turn the suggested amounts into Blender settings and record them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gapviz.scenes._knobs import resolve_settings
from gapviz.scenes.blender._engine import (
    DEFAULT_SAMPLES,
    PROPERTY_KNOB,
    blender_properties,
    camera_profile,
    physical_settings,
)


def _show(value: Any) -> str:
    return "off" if value is None or value is False else str(value)


def write_camera(out: Path, size: int, samples: int | None) -> Path:
    """Write the ``dataset1`` scene's camera as a camera profile (``out/camera.json``); return its path."""
    samples = DEFAULT_SAMPLES if samples is None else samples
    phys = physical_settings(resolve_settings("dataset1"), size, samples=samples)
    path = out / "camera.json"
    path.write_text(json.dumps(camera_profile(size, phys), indent=2) + "\n")
    return path


def renderer_settings_lines(
    out: Path, adjust: Mapping[str, Any], size: int, samples: int | None
) -> list[str]:
    """Write ``renderer-settings.json`` under ``out``; one line per changed setting.

    ``adjust`` is knob -> suggested amount (the recommendations'); the settings before are those of
    the ``dataset1`` preset, after are ``dataset1`` with the amounts, both through
    `physical_settings`.
    """
    samples = DEFAULT_SAMPLES if samples is None else samples
    before_phys = physical_settings(resolve_settings("dataset1"), size, samples=samples)
    after_phys = physical_settings(resolve_settings("dataset1", dict(adjust)), size, samples=samples)
    before, after = blender_properties(before_phys), blender_properties(after_phys)
    changed = {k: {"before": before[k], "after": after[k]} for k in before if before[k] != after[k]}
    record = {"suggested": dict(adjust), "before": before, "after": after, "changed": changed}
    (out / "renderer-settings.json").write_text(json.dumps(record, indent=2) + "\n")
    lines = ["Blender settings applied (dataset1 -> dataset1 with the suggested amounts):"]
    for prop, change in changed.items():
        knob = PROPERTY_KNOB.get(prop, "")
        amount = f" ({knob}={adjust[knob]})" if knob in adjust else ""
        lines.append(f"  {prop}: {_show(change['before'])} -> {_show(change['after'])}{amount}")
    return lines
