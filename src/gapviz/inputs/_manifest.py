"""Pairing by a CSV manifest: ``real,synth[,mask_real,mask_synth]`` rows, paths relative to the CSV."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

import numpy as np

from gapviz._errors import GapvizError
from gapviz.inputs._listing import _read_side, _Side, _stem_index
from gapviz.inputs._pairset import SIDES, Item, Pair, PairSet, Ref


def _read_manifest(
    path: Path, real: _Side, synth: _Side, stem_masks: dict[str, dict[str, Ref]]
) -> tuple[list[Pair], list[dict[str, Any]], dict[str, list[Ref]]]:
    """The manifest's pairs, the rows skipped (with why), and each side's listed files that no row names."""
    rows = _manifest_rows(path)
    pairs: list[Pair] = []
    skipped: list[dict[str, Any]] = []
    stems_seen: dict[str, int] = {}
    for row, line in rows:
        if not any(row.values()):
            continue
        found = _row_files(row, line, path, skipped)
        if found is None:
            continue
        refs, masks = found
        for side in SIDES:  # an empty mask cell falls back to the masks= folder, matched by stem
            if masks[side] is None:
                masks[side] = stem_masks[side].get(Path(refs[side]).stem)
        stem = Path(refs["real"]).stem
        n = stems_seen.get(stem, 0)
        stems_seen[stem] = n + 1
        pairs.append(
            Pair(
                stem if n == 0 else f"{stem}#{n + 1}",
                refs["real"],
                refs["synth"],
                masks["real"],
                masks["synth"],
            )
        )
    if not pairs:
        raise GapvizError(
            f"pairing manifest {str(path)!r}: none of its {len(rows)} rows is usable "
            f"(first problem: {skipped[0]['reason'] if skipped else 'empty rows'}); fix the paths"
        )
    unmatched: dict[str, list[Ref]] = {}
    for s in (real, synth):
        named = {os.path.normpath(getattr(p, s.side)) for p in pairs}
        unmatched[s.side] = [r for r in s.refs if os.path.normpath(str(r)) not in named]
    return pairs, skipped, unmatched


def _manifest_rows(path: Path) -> list[tuple[dict[str, str], int]]:
    """The manifest's rows as ``(cells stripped, line number)``; a GapvizError for a missing file, column or row."""
    if not path.is_file():
        raise GapvizError(f"pairing manifest {str(path)!r} does not exist; pass an existing CSV file")
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        header = [h.strip() for h in (reader.fieldnames or [])]
        missing = [c for c in ("real", "synth") if c not in header]
        if missing:
            raise GapvizError(
                f"pairing manifest {str(path)!r} lacks column(s) {missing}; its header is {header}. "
                "It needs columns real,synth and optionally mask_real,mask_synth"
            )
        rows = [
            ({(k or "").strip(): (v or "").strip() for k, v in row.items()}, reader.line_num)
            for row in reader
        ]
    if not rows:
        raise GapvizError(f"pairing manifest {str(path)!r} has a header but no rows; add one row per pair")
    return rows


def _row_files(
    row: dict[str, str], line: int, path: Path, skipped: list[dict[str, Any]]
) -> tuple[dict[str, str], dict[str, str | None]] | None:
    """One row's image and mask paths per side (resolved against the manifest's folder).

    None when a cell is empty or names a missing file; each problem is appended to ``skipped``.
    """
    refs: dict[str, str] = {}
    masks: dict[str, str | None] = {}
    bad = False
    for side in SIDES:
        cell = row.get(side, "")
        if not cell:
            skipped.append(
                {"path": str(path), "side": side, "reason": f"manifest line {line}: empty {side} cell"}
            )
            bad = True
            continue
        refs[side] = _resolve(path.parent, cell)
        if not os.path.isfile(refs[side]):
            skipped.append(
                {"path": refs[side], "side": side, "reason": f"file not found (manifest line {line})"}
            )
            bad = True
        mcell = row.get(f"mask_{side}", "")
        masks[side] = _resolve(path.parent, mcell) if mcell else None
        if masks[side] is not None and not os.path.isfile(masks[side]):
            skipped.append(
                {"path": masks[side], "side": side, "reason": f"mask file not found (manifest line {line})"}
            )
            bad = True
    return None if bad else (refs, masks)


def _resolve(base: Path, cell: str) -> str:
    """A manifest cell as a path: absolute as written, relative to the manifest's folder otherwise."""
    p = Path(cell)
    return os.path.normpath(p if p.is_absolute() else base / p)


def _manifest_pairset(
    path: Path,
    r: _Side,
    y: _Side,
    mspec: dict[str, Any],
    kinds: dict[str, str],
    skipped: list[dict[str, Any]],
) -> PairSet:
    stem_masks: dict[str, dict[str, Ref]] = {}
    for s in (r, y):
        if s.kind == "array":
            raise GapvizError(f"a pairing manifest names files; {s.side} cannot be an array with it")
        spec = mspec[s.side]
        if isinstance(spec, np.ndarray):
            raise GapvizError(
                f"masks[{s.side!r}] must be a folder or list of mask files with a pairing manifest"
            )
        stem_masks[s.side] = {}
        if spec is not None:
            ms = _read_side(spec, s.side, what=f"{s.side} mask")
            ms.label = f"{s.side} masks"
            stem_masks[s.side] = _stem_index(ms, why="matching masks to images")
    pairs, mskipped, unmatched = _read_manifest(path, r, y, stem_masks)
    items: dict[str, tuple[Item, ...]] = {}
    unused: dict[str, list[str]] = {}
    for side in SIDES:
        extra = tuple(
            Item(side, Path(str(u)).stem, u, stem_masks[side].get(Path(str(u)).stem)) for u in unmatched[side]
        )
        items[side] = tuple(p.item(side) for p in pairs) + extra
        used = {os.path.normpath(str(it.mask)) for it in items[side] if it.mask is not None}
        unused[side] = [str(m) for m in stem_masks[side].values() if os.path.normpath(str(m)) not in used]
    return PairSet(
        "manifest",
        tuple(pairs),
        True,
        None,
        items["real"],
        items["synth"],
        unmatched,
        skipped + mskipped,
        unused_masks=unused,
        kinds=kinds,
    )
