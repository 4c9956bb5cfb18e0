"""Pairing real and synthetic inputs: folders, path lists, arrays or a CSV manifest -> PairSet."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from gapviz._errors import GapvizError
from gapviz.inputs._listing import _mask_lookup, _read_side, _Side, _stem_index
from gapviz.inputs._manifest import _manifest_pairset
from gapviz.inputs._pairset import SIDES, Item, Pair, PairSet, Ref

PAIRING_MODES = ("auto", "stem", "order", "unpaired")


def _check_masks_arg(masks: Any) -> dict[str, Any]:
    if masks is None:
        return {"real": None, "synth": None}
    if not isinstance(masks, dict):
        raise GapvizError(
            f"masks must be a dict like dict(real=folder, synth=folder), got {type(masks).__name__}"
        )
    extra = set(masks) - set(SIDES)
    if extra:
        raise GapvizError(f"masks has unknown key(s) {sorted(extra)}; valid keys are 'real' and 'synth'")
    return {s: masks.get(s) for s in SIDES}


def _is_manifest(pairing: Any) -> bool:
    if isinstance(pairing, os.PathLike):
        return True
    return (
        isinstance(pairing, str)
        and pairing not in PAIRING_MODES
        and (pairing.lower().endswith(".csv") or os.sep in pairing or "/" in pairing)
    )


def build_pairs(
    real: Any, synth: Any, *, pairing: str | os.PathLike[str] = "auto", masks: dict[str, Any] | None = None
) -> PairSet:
    """Decide which real image is compared with which synthetic image.

    Parameters
    ----------
    real, synth : str, os.PathLike, list of paths, or numpy.ndarray
        A folder (non-recursive; ``.png .jpg .jpeg .tif .tiff .bmp .webp`` in any case; hidden
        files ignored; other entries listed in ``skipped``), a list of image paths (missing
        ones listed in ``skipped``), or an ``(N, H, W, 3)`` batch (uint8, or float in 0..255).
        With a manifest, each may be None, or a folder/list whose files not named in the
        manifest are then listed as unmatched.
    pairing : str or os.PathLike
        - ``"auto"`` (default): ``"stem"`` when both sides are files and share at least one
          file stem; else ``"order"`` when both are lists or arrays of equal length; else unpaired
          (with the reason). Two folders with no common stem are *not* paired by order.
        - ``"stem"``: pair files with the same stem (``a.png`` with ``a.jpg``); others unmatched.
        - ``"order"``: pair the i-th real with the i-th synth (folders in sorted order); the
          counts must be equal.
        - ``"unpaired"``: no pairing; only distribution statistics.
        - a CSV path: columns ``real,synth`` and optionally ``mask_real,mask_synth``; relative
          paths are relative to the CSV's folder. Rows naming missing files are skipped and listed.
    masks : dict, optional
        ``dict(real=..., synth=...)``, either key optional: a folder or list of mask files matched
        to the images by stem, or, for an array side, an ``(N, H, W)`` array. Images without a
        given mask get an estimated one (see :func:`estimate_mask`); the PairSet records which.

    Returns
    -------
    PairSet

    Raises
    ------
    GapvizError
        Missing or empty folder, folder without images, bad array, ambiguous stems, an explicit
        mode that cannot be honoured (``"stem"`` with no common stem, ``"order"`` with unequal
        counts), a malformed manifest. The message names the input and says what to do.

    Examples
    --------
    >>> import numpy as np
    >>> ps = build_pairs(np.zeros((3, 8, 8, 3), np.uint8), np.zeros((3, 8, 8, 3), np.uint8))
    >>> ps.mode, [p.stem for p in ps.pairs]
    ('order', ['00000', '00001', '00002'])
    >>> build_pairs(np.zeros((3, 8, 8, 3), np.uint8), np.zeros((2, 8, 8, 3), np.uint8)).unpaired_reason
    'different numbers of images (real 3, synth 2) and arrays carry no names to pair by'
    """
    mspec = _check_masks_arg(masks)
    manifest = _is_manifest(pairing)
    if not manifest and pairing not in PAIRING_MODES:
        raise GapvizError(
            f"pairing must be one of {', '.join(map(repr, PAIRING_MODES))} or a CSV manifest path, got {pairing!r}"
        )
    sides = {s: _read_side(v, s, allow_none=manifest) for s, v in (("real", real), ("synth", synth))}
    r, y = sides["real"], sides["synth"]
    skipped = r.skipped + y.skipped
    kinds = {s.side: ("manifest" if s.kind == "none" else s.kind) for s in (r, y)}

    if manifest:
        return _manifest_pairset(Path(pairing), r, y, mspec, kinds, skipped)

    mask_maps: dict[str, dict[Ref, Ref]] = {}
    mask_arrays: dict[str, np.ndarray | None] = {}
    unused: dict[str, list[str]] = {}
    for s in (r, y):
        mask_maps[s.side], mask_arrays[s.side], unused[s.side] = _mask_lookup(mspec[s.side], s)

    def items(s: _Side) -> tuple[Item, ...]:
        return tuple(
            Item(s.side, st, ref, mask_maps[s.side].get(ref)) for st, ref in zip(s.stems, s.refs, strict=True)
        )

    common: dict[str, Any] = {
        "kinds": kinds,
        "arrays": {"real": r.array, "synth": y.array},
        "mask_arrays": mask_arrays,
        "unused_masks": unused,
    }

    files = r.kind in ("folder", "list") and y.kind in ("folder", "list")
    mode = pairing
    reason = None
    if pairing == "auto":
        if files and set(r.stems) & set(y.stems):
            mode = "stem"
        elif r.kind in ("list", "array") and y.kind in ("list", "array") and len(r.refs) == len(y.refs):
            mode = "order"
        else:
            mode = "unpaired"
            if files:
                reason = (
                    f"no common file stems between real ({len(r.refs)} files, e.g. {r.stems[0]!r}) "
                    f"and synth ({len(y.refs)} files, e.g. {y.stems[0]!r})"
                )
            elif len(r.refs) != len(y.refs):
                reason = (
                    f"different numbers of images (real {len(r.refs)}, synth {len(y.refs)}) and arrays "
                    "carry no names to pair by"
                )
            else:
                reason = (
                    "a folder is never paired with an array by order; pass a list of paths or pairing='order'"
                )  # arrays exist only in Python, so no command-line form here
    elif pairing == "unpaired":
        reason = "pairing='unpaired' was requested"

    if mode == "stem":
        if not files:
            raise GapvizError(
                "pairing='stem' needs file inputs on both sides; arrays have no stems (use pairing='order')"
            )
        ri = _stem_index(r, why="pairing by stem")
        yi = _stem_index(y, why="pairing by stem")
        both = sorted(set(ri) & set(yi))
        if not both:
            raise GapvizError(
                f"pairing='stem' found no common file stems between real (e.g. {r.stems[0]!r}) and synth "
                f"(e.g. {y.stems[0]!r}); rename the files, or pass pairing='order' or 'unpaired' (--pairing order|unpaired) "
                "or a manifest CSV (--manifest list.csv)"
            )
        pairs = tuple(
            Pair(st, ri[st], yi[st], mask_maps["real"].get(ri[st]), mask_maps["synth"].get(yi[st]))
            for st in both
        )
        unmatched = {
            "real": [ri[k] for k in sorted(set(ri) - set(yi))],
            "synth": [yi[k] for k in sorted(set(yi) - set(ri))],
        }
        return PairSet("stem", pairs, True, None, items(r), items(y), unmatched, skipped, **common)

    if mode == "order":
        if len(r.refs) != len(y.refs):
            raise GapvizError(
                f"pairing='order' needs as many real as synth images, got real {len(r.refs)} and synth "
                f"{len(y.refs)}; pass pairing='unpaired' (--pairing unpaired) to compare the distributions only, "
                "or a manifest CSV (--manifest list.csv)"
            )
        dup = len(set(r.stems)) != len(r.stems)
        pairs = tuple(
            Pair(f"{st}#{i}" if dup else st, rr, yr, mask_maps["real"].get(rr), mask_maps["synth"].get(yr))
            for i, (st, rr, yr) in enumerate(zip(r.stems, r.refs, y.refs, strict=True))
        )
        return PairSet(
            "order", pairs, True, None, items(r), items(y), {"real": [], "synth": []}, skipped, **common
        )

    return PairSet(
        "unpaired", (), False, reason, items(r), items(y), {"real": [], "synth": []}, skipped, **common
    )
