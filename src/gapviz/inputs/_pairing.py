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

    Folders pair by file stem; a CSV manifest says which file goes with which:

    >>> import os, tempfile
    >>> from gapviz.inputs.testing import write_images
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     real = write_images(os.path.join(tmp, "real"), ["a", "b", "c"])
    ...     synth = write_images(os.path.join(tmp, "synth"), ["b", "c", "d"], ext=".jpg")
    ...     by_stem = build_pairs(real, synth)
    ...     manifest = os.path.join(tmp, "pairs.csv")
    ...     with open(manifest, "w") as fh:
    ...         _ = fh.write("real,synth\\nreal/a.png,synth/d.jpg\\nreal/b.png,synth/missing.jpg\\n")
    ...     by_row = build_pairs(real, synth, pairing=manifest)
    >>> by_stem.mode, [(p.stem, os.path.basename(p.synth)) for p in by_stem.pairs]
    ('stem', [('b', 'b.jpg'), ('c', 'c.jpg')])
    >>> by_row
    PairSet(mode='manifest', pairs=1, real=3, synth=3, unmatched=real:2/synth:2, skipped=1)
    >>> by_row.skipped[0]["reason"]
    'file not found (manifest line 3)'
    """
    mspec = _check_masks_arg(masks)
    manifest = _check_pairing(pairing)
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
    mode, reason = _choose_mode(pairing, r, y)
    if mode == "stem":
        pairs, unmatched = _stem_pairs(r, y, mask_maps)
        return PairSet("stem", pairs, True, None, items(r), items(y), unmatched, skipped, **common)
    none: dict[str, list[Ref]] = {"real": [], "synth": []}
    if mode == "order":
        pairs = _order_pairs(r, y, mask_maps)
        return PairSet("order", pairs, True, None, items(r), items(y), none, skipped, **common)
    return PairSet("unpaired", (), False, reason, items(r), items(y), none, skipped, **common)


def _check_pairing(pairing: Any) -> bool:
    """Whether ``pairing`` names a manifest; a GapvizError unless it does or is one of `PAIRING_MODES`."""
    manifest = _is_manifest(pairing)
    if not manifest and pairing not in PAIRING_MODES:
        raise GapvizError(
            f"pairing must be one of {', '.join(map(repr, PAIRING_MODES))} or a CSV manifest path, got {pairing!r}"
        )
    return manifest


def _is_files(s: _Side) -> bool:
    return s.kind in ("folder", "list")


def _choose_mode(pairing: str, r: _Side, y: _Side) -> tuple[str, str | None]:
    """The pairing mode ``"auto"`` resolves to (an explicit mode is kept), and why the sets are unpaired."""
    files = _is_files(r) and _is_files(y)
    if pairing == "unpaired":
        return "unpaired", "pairing='unpaired' was requested"
    if pairing != "auto":
        return pairing, None
    if files and set(r.stems) & set(y.stems):
        return "stem", None
    if r.kind in ("list", "array") and y.kind in ("list", "array") and len(r.refs) == len(y.refs):
        return "order", None
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
    else:  # arrays exist only in Python, so no command-line form here
        reason = "a folder is never paired with an array by order; pass a list of paths or pairing='order'"
    return "unpaired", reason


def _stem_pairs(
    r: _Side, y: _Side, mask_maps: dict[str, dict[Ref, Ref]]
) -> tuple[tuple[Pair, ...], dict[str, list[Ref]]]:
    """Pairs of files with the same stem, sorted by stem, and the files of each side left unmatched."""
    if not (_is_files(r) and _is_files(y)):
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
        Pair(st, ri[st], yi[st], mask_maps["real"].get(ri[st]), mask_maps["synth"].get(yi[st])) for st in both
    )
    unmatched = {
        "real": [ri[k] for k in sorted(set(ri) - set(yi))],
        "synth": [yi[k] for k in sorted(set(yi) - set(ri))],
    }
    return pairs, unmatched


def _order_pairs(r: _Side, y: _Side, mask_maps: dict[str, dict[Ref, Ref]]) -> tuple[Pair, ...]:
    """The i-th real with the i-th synth; ``#<i>`` is appended to every stem when the real stems repeat."""
    if len(r.refs) != len(y.refs):
        raise GapvizError(
            f"pairing='order' needs as many real as synth images, got real {len(r.refs)} and synth "
            f"{len(y.refs)}; pass pairing='unpaired' (--pairing unpaired) to compare the distributions only, "
            "or a manifest CSV (--manifest list.csv)"
        )
    dup = len(set(r.stems)) != len(r.stems)
    return tuple(
        Pair(f"{st}#{i}" if dup else st, rr, yr, mask_maps["real"].get(rr), mask_maps["synth"].get(yr))
        for i, (st, rr, yr) in enumerate(zip(r.stems, r.refs, y.refs, strict=True))
    )
