"""The report's Notes and Warnings: per-image records summarised by kind, never one raw dict per image."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

#: how each per-image note kind reads in a summary line
_KIND_TEXT = {
    "image_resized": "resized to the analysis size",
    "image_upscaled": "upscaled to the analysis size (they hold less detail than the analysis size shows)",
    "model_upscaled": "upscaled to the model's input size",
    "aspect_cropped": "centre-cropped to the analysis aspect ratio (nothing is stretched)",
    "decoded_reduced": "decoded at reduced size (large files)",
    "mask_resized": "masks resized to their image",
    "mask_empty": "masks empty (no object pixels)",
    "alpha_dropped": "non-opaque alpha channel dropped",
    "first_frame_only": "multi-frame files: first frame used",
}
_EXAMPLES = 3


def summarise_notes(notes: Sequence[Any]) -> list[str]:
    """One line per kind of note: how many images per side, and a few examples.

    Examples
    --------
    >>> summarise_notes([{"stem": "a", "side": "real", "kind": "image_resized", "detail": "9x9 resized"},
    ...                  {"stem": "b", "side": "real", "kind": "image_resized", "detail": "8x8 resized"}])
    ['2 images resized to the analysis size (real 2), e.g. a: 9x9 resized; b: 8x8 resized']
    """
    groups: dict[str, list[Mapping]] = {}
    plain: list[str] = []
    for note in notes or ():
        if isinstance(note, Mapping) and "kind" in note:
            groups.setdefault(str(note["kind"]), []).append(note)
        else:
            plain.append(str(note))
    lines = []
    for kind, items in groups.items():
        sides: dict[str, int] = {}
        for item in items:
            sides[str(item.get("side", "?"))] = sides.get(str(item.get("side", "?")), 0) + 1
        per_side = ", ".join(f"{side} {n}" for side, n in sorted(sides.items()))
        examples = "; ".join(f"{item.get('stem', '?')}: {item.get('detail', '')}" for item in items[:_EXAMPLES])
        more = f" (+{len(items) - _EXAMPLES} more in the JSON)" if len(items) > _EXAMPLES else ""
        what = _KIND_TEXT.get(kind, kind.replace("_", " "))
        lines.append(f"{len(items)} image{'s' if len(items) != 1 else ''} {what} ({per_side}), e.g. {examples}{more}")
    return plain + lines


def report_notes(model: Mapping, data: Mapping) -> list[str]:
    """The model's notes, then the data's notes summarised by kind."""
    return [str(n) for n in model.get("notes") or ()] + summarise_notes(data.get("notes") or ())


def report_warnings(data: Mapping) -> list[str]:
    """The run's warnings (unpaired sets, masks that matched nothing, NaN/inf layers), as recorded."""
    return [str(w) for w in data.get("warnings") or ()]


def no_recommendation_text(data: Mapping) -> str:
    """What the report says where there is no recommendation: withheld (and why), or no gap found."""
    withheld = data.get("recommendations_withheld")
    if withheld:
        return f"No recommendation: {withheld} (see Warnings)."
    return "No recommendation: no gap beyond the noise floor was measured."
