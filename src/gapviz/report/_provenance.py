"""The report's lines on which masks the object/background statistics used, and how good the estimates are."""

from __future__ import annotations

from collections.abc import Mapping


def _num(v, digits: int = 2) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


def provenance_rows(data: Mapping) -> list[tuple[str, str]]:
    """Rows for the data panel from ``data["mask_provenance"]`` (none for results without it)."""
    prov = data.get("mask_provenance")
    if not isinstance(prov, Mapping):
        return []
    used = prov.get("used") or {}
    mode = prov.get("mode")
    how = (
        "same provenance on both sides" if mode == "match" else "as given on each side"
    ) + f" (real: {used.get('real', '–')}, synthetic: {used.get('synth', '–')})"
    rows = [("masks used for object/background statistics", how)]
    for side, label in (("real", "real"), ("synth", "synthetic")):
        q = (prov.get("estimator_quality") or {}).get(side)
        if q:
            rows.append((
                f"mask estimator vs given masks, {label}",
                f"IoU mean {_num(q.get('iou_mean'))}, median {_num(q.get('iou_median'))}, "
                f"10th percentile {_num(q.get('iou_p10'))}; boundary error mean {_num(q.get('boundary_px_mean'), 1)} px "
                f"(n = {q.get('n')})",
            ))
    if prov.get("warning"):
        rows.append(("warning", str(prov["warning"])))
    return rows


def summary_text(data: Mapping) -> str | None:
    """The summary line's words on masks, from ``data["mask_provenance"]`` (None without it)."""
    prov = data.get("mask_provenance")
    if not isinstance(prov, Mapping):
        return None
    used = prov.get("used") or {}
    real, synth = used.get("real"), used.get("synth")
    words = {"given": "masks given", "estimated": "masks estimated", "boxes": "masks estimated from boxes",
             "mixed": "mixed mask sources"}  # fmt: skip
    text = f"{words.get(real, real)} on both sides" if real == synth else (
        f"real: {words.get(real, real)}, synthetic: {words.get(synth, synth)}")
    if prov.get("warning"):
        text += " (as given: one-sided masks can create false object/background gaps)"
    return text
