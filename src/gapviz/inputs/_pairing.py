"""Pairing real and synthetic inputs: folders, path lists, arrays or a CSV manifest -> PairSet."""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gapviz._errors import GapvizError
from gapviz.inputs._decode import IMAGE_EXTENSIONS, is_image_path

SIDES = ("real", "synth")
PAIRING_MODES = ("auto", "stem", "order", "unpaired")

Ref = str | int  # a file path, or an index into the side's array


@dataclass(frozen=True)
class Item:
    """One image of one side.

    Attributes
    ----------
    side : str
        ``"real"`` or ``"synth"``.
    stem : str
        File stem, or a zero-padded index for array inputs.
    source : str or int
        The image file path, or the index into that side's array.
    mask : str, int or None
        The given mask (file path or index into the side's mask array); None means the mask
        will be estimated.
    """

    side: str
    stem: str
    source: Ref
    mask: Ref | None = None


@dataclass(frozen=True)
class Pair:
    """A real image and the synthetic image it is compared with.

    Attributes
    ----------
    stem : str
        The pair's name: the shared file stem (stem pairing), the real image's stem (order and
        manifest pairing; ``"#<n>"`` appended when that stem repeats), or a zero-padded index.
    real, synth : str or int
        File path, or index into that side's array.
    mask_real, mask_synth : str, int or None
        Given masks; None means estimated.
    """

    stem: str
    real: Ref
    synth: Ref
    mask_real: Ref | None = None
    mask_synth: Ref | None = None

    def item(self, side: str) -> Item:
        """The pair's ``side`` as an :class:`Item`."""
        if side == "real":
            return Item("real", self.stem, self.real, self.mask_real)
        return Item("synth", self.stem, self.synth, self.mask_synth)

    def to_dict(self) -> dict[str, Any]:
        return {
            "stem": self.stem,
            "real": self.real,
            "synth": self.synth,
            "mask_real": self.mask_real,
            "mask_synth": self.mask_synth,
        }


@dataclass(frozen=True, repr=False)
class PairSet:
    """The result of :func:`build_pairs`: what is compared with what, and what was left out.

    Attributes
    ----------
    mode : str
        ``"stem"``, ``"order"``, ``"manifest"`` or ``"unpaired"``.
    pairs : tuple of Pair
        Sorted by stem (stem mode) or in input order; empty when unpaired.
    paired : bool
        False when only distribution statistics can be computed.
    unpaired_reason : str or None
        Why the sets are not paired.
    real_items, synth_items : tuple of Item
        Every usable image of each side, paired or not (distribution statistics run on these).
    unmatched : dict
        ``{"real": [...], "synth": [...]}``: file paths (or indices) with no partner under stem or
        manifest pairing. Empty when unpaired (then every item is unpaired; see ``unpaired_reason``).
    skipped : list of dict
        ``{"path", "side", "reason"}`` for files that were not used at all.
    unused_masks : dict
        ``{"real": [...], "synth": [...]}``: mask files that matched no image.
    kinds : dict
        ``{"real": kind, "synth": kind}`` with kind in ``"folder"``, ``"list"``, ``"array"``,
        ``"manifest"``.
    arrays, mask_arrays : dict
        The array inputs by side (``None`` for file inputs); items refer to them by index.
    """

    mode: str
    pairs: tuple[Pair, ...]
    paired: bool
    unpaired_reason: str | None
    real_items: tuple[Item, ...]
    synth_items: tuple[Item, ...]
    unmatched: dict[str, list[Ref]]
    skipped: list[dict[str, Any]]
    unused_masks: dict[str, list[str]] = field(default_factory=lambda: {"real": [], "synth": []})
    kinds: dict[str, str] = field(default_factory=dict)
    arrays: dict[str, np.ndarray | None] = field(default_factory=lambda: {"real": None, "synth": None})
    mask_arrays: dict[str, np.ndarray | None] = field(default_factory=lambda: {"real": None, "synth": None})

    def __len__(self) -> int:
        return len(self.pairs)

    def items(self, side: str) -> tuple[Item, ...]:
        """``real_items`` or ``synth_items``."""
        if side not in SIDES:
            raise GapvizError(f"side must be 'real' or 'synth', got {side!r}")
        return self.real_items if side == "real" else self.synth_items

    def mask_counts(self) -> dict[str, dict[str, int]]:
        """Planned mask sources: ``{"real": {"given", "estimated"}, "synth": {...}}``.

        Counted over pairs when paired, over each side's items otherwise.
        """
        out = {}
        for side in SIDES:
            if self.paired:
                masks = [p.mask_real if side == "real" else p.mask_synth for p in self.pairs]
            else:
                masks = [it.mask for it in self.items(side)]
            given = sum(m is not None for m in masks)
            out[side] = {"given": given, "estimated": len(masks) - given}
        return out

    def to_dict(self, *, pairs: bool = False) -> dict[str, Any]:
        """JSON-ready summary (the ``data`` section of a result); ``pairs=True`` lists every pair."""
        d: dict[str, Any] = {
            "pairing": self.mode,
            "paired": self.paired,
            "unpaired_reason": self.unpaired_reason,
            "n_pairs": len(self.pairs),
            "n_real": len(self.real_items),
            "n_synth": len(self.synth_items),
            "kinds": dict(self.kinds),
            "unmatched": {s: list(v) for s, v in self.unmatched.items()},
            "skipped": [dict(s) for s in self.skipped],
            "masks": self.mask_counts(),
            "unused_masks": {s: list(v) for s, v in self.unused_masks.items()},
        }
        if pairs:
            d["pairs"] = [p.to_dict() for p in self.pairs]
        return d

    def __repr__(self) -> str:
        um = self.unmatched
        return (
            f"PairSet(mode={self.mode!r}, pairs={len(self.pairs)}, real={len(self.real_items)}, "
            f"synth={len(self.synth_items)}, unmatched=real:{len(um['real'])}/synth:{len(um['synth'])}, "
            f"skipped={len(self.skipped)})"
        )


# ----------------------------------------------------------------------------- sources


@dataclass
class _Side:
    """One side's input after listing: paths (with stems) or an array."""

    side: str
    kind: str  # folder | list | array | none
    label: str
    refs: list[Ref]
    stems: list[str]
    array: np.ndarray | None = None
    skipped: list[dict[str, Any]] = field(default_factory=list)


def _list_folder(folder: Path, side: str, what: str) -> tuple[list[str], list[dict[str, Any]]]:
    if not folder.exists():
        if os.path.islink(folder):
            raise GapvizError(
                f"{what} folder {str(folder)!r} is a symbolic link that resolves to nothing (broken or a loop); "
                "point it at an existing folder of images"
            )
        raise GapvizError(f"{what} folder {str(folder)!r} does not exist; pass an existing folder of images")
    if not folder.is_dir():
        raise GapvizError(
            f"{what} {str(folder)!r} is a file, not a folder; pass a folder, a list of image paths or an array"
        )
    paths, skipped = [], []
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if entry.name.startswith("."):
            continue  # hidden files (.DS_Store, editor swap files) are not data
        try:
            is_dir = entry.is_dir()
            if entry.is_symlink():
                os.stat(entry.path)  # a loop or a dangling link raises here
        except OSError as exc:
            skipped.append({"path": entry.path, "side": side,
                            "reason": f"unreadable entry ({exc.strerror or exc}; a symbolic-link loop or broken link)"})  # fmt: skip
            continue
        if is_dir:
            skipped.append(
                {"path": entry.path, "side": side, "reason": "folder (folders are not searched recursively)"}
            )
        elif is_image_path(entry.name):
            paths.append(entry.path)
        else:
            skipped.append({"path": entry.path, "side": side, "reason": "not an image extension"})
    if not paths:
        exts = " ".join(IMAGE_EXTENSIONS)
        found = f"{len(skipped)} other entries" if skipped else "nothing"
        hint = ""
        if (folder / "images").is_dir():
            hint = (f"; it has an images/ subfolder (the layout 'gapviz scenes' writes): pass "
                    f"{str(folder / 'images')!r}, or the folder itself to 'gapviz report'")  # fmt: skip
        raise GapvizError(
            f"{what} folder {str(folder)!r} has no images (found {found}); "
            f"put {exts} files directly in it (subfolders are not searched){hint}"
        )
    return paths, skipped


def _as_array(value: np.ndarray, side: str) -> np.ndarray:
    a = np.asarray(value)
    if a.ndim != 4 or a.shape[-1] != 3 or a.shape[0] == 0:
        raise GapvizError(
            f"{side} array must have shape (N, H, W, 3) with N >= 1, got {a.shape}; "
            "stack RGB images along a new first axis"
        )
    if a.dtype == np.uint8:
        return a
    if not np.issubdtype(a.dtype, np.floating) and not np.issubdtype(a.dtype, np.integer):
        raise GapvizError(f"{side} array must be uint8 or float in [0, 255], got dtype {a.dtype}")
    lo, hi = float(a.min()), float(a.max())
    if not np.isfinite(lo) or not np.isfinite(hi) or lo < 0 or hi > 255:
        raise GapvizError(
            f"{side} array values must lie in [0, 255], got [{lo:g}, {hi:g}]; pass uint8 or float 0..255 pixels"
        )
    if np.issubdtype(a.dtype, np.floating) and hi <= 1.0:
        raise GapvizError(
            f"{side} array is float with maximum {hi:g}: it looks scaled to [0, 1]; "
            "multiply by 255 (gapviz expects pixel values 0..255)"
        )
    return a


def _read_side(value: Any, side: str, *, allow_none: bool = False, what: str | None = None) -> _Side:
    if value is None:
        if allow_none:
            return _Side(side, "none", side, [], [])
        raise GapvizError(f"{side} is missing; pass a folder, a list of image paths or an (N, H, W, 3) array")
    if isinstance(value, np.ndarray):
        a = _as_array(value, side)
        n = a.shape[0]
        return _Side(side, "array", f"{side} array", list(range(n)), [f"{i:05d}" for i in range(n)], array=a)
    if isinstance(value, (str, os.PathLike)):
        paths, skipped = _list_folder(Path(value), side, what or side)
        return _Side(
            side, "folder", os.fspath(value), list(paths), [Path(p).stem for p in paths], skipped=skipped
        )
    if isinstance(value, Sequence) and not isinstance(value, (bytes, bytearray)):
        if len(value) == 0:
            raise GapvizError(f"{side} is an empty list; pass at least one image path")
        refs, skipped = [], []
        for v in value:
            if not isinstance(v, (str, os.PathLike)):
                raise GapvizError(
                    f"{side} list must hold file paths, got an item of type {type(v).__name__}; "
                    "pass several arrays as one (N, H, W, 3) array"
                )
            p = os.fspath(v)
            if os.path.isfile(p):
                refs.append(p)
            else:
                skipped.append({"path": p, "side": side, "reason": "file not found"})
        if not refs:
            raise GapvizError(
                f"none of the {len(value)} {side} paths exists (first: {os.fspath(value[0])!r})"
            )
        return _Side(side, "list", f"{side} list", refs, [Path(p).stem for p in refs], skipped=skipped)
    raise GapvizError(
        f"{side} must be a folder, a list of image paths or an (N, H, W, 3) array, got {type(value).__name__}"
    )


def _stem_index(s: _Side, *, why: str) -> dict[str, Ref]:
    index: dict[str, list[Ref]] = {}
    for stem, ref in zip(s.stems, s.refs, strict=True):
        index.setdefault(stem, []).append(ref)
    dup = {k: v for k, v in index.items() if len(v) > 1}
    if dup:
        stem, refs = next(iter(dup.items()))
        names = ", ".join(os.path.basename(str(r)) for r in refs[:4])
        raise GapvizError(
            f"{s.label} has {len(dup)} file stem(s) used by several files (e.g. {stem!r}: {names}), "
            f"so {why} is ambiguous; rename them, or pair by order (pairing='order', --pairing order) or with a "
            "manifest CSV (pairing='list.csv', --manifest list.csv)"
        )
    return {k: v[0] for k, v in index.items()}


# ----------------------------------------------------------------------------- masks


def _mask_lookup(spec: Any, s: _Side) -> tuple[dict[Ref, Ref], np.ndarray | None, list[str]]:
    """Map a side's image refs to given-mask refs. Returns (ref -> mask ref, mask array, unused files)."""
    if spec is None:
        return {}, None, []
    if s.kind == "array":
        if not isinstance(spec, np.ndarray):
            raise GapvizError(
                f"masks[{s.side!r}] must be an (N, H, W) array because {s.side} is an array "
                f"(arrays have no file names to match by), got {type(spec).__name__}"
            )
        m = np.asarray(spec)
        if m.ndim == 4 and m.shape[-1] == 1:
            m = m[..., 0]
        if m.ndim != 3 or m.shape[0] != s.array.shape[0] or m.shape[1:] != s.array.shape[1:3]:
            raise GapvizError(
                f"masks[{s.side!r}] must have shape {(s.array.shape[0], *s.array.shape[1:3])} to match the "
                f"{s.side} images, got {m.shape}"
            )
        return {i: i for i in s.refs}, m, []
    if isinstance(spec, np.ndarray):
        raise GapvizError(
            f"masks[{s.side!r}] is an array but {s.side} is given as files; pass a folder of mask files "
            "named like the images (same stem)"
        )
    ms = _read_side(spec, s.side, what=f"{s.side} mask")
    ms.label = f"{s.side} mask {'folder ' + repr(ms.label) if ms.kind == 'folder' else 'list'}"
    index = _stem_index(ms, why="matching masks to images")
    lookup: dict[Ref, Ref] = {}
    used = set()
    for stem, ref in zip(s.stems, s.refs, strict=True):
        if stem in index:
            lookup[ref] = index[stem]
            used.add(stem)
    unused = [str(index[k]) for k in sorted(index) if k not in used]
    return lookup, None, unused


# ----------------------------------------------------------------------------- manifest


def _read_manifest(
    path: Path, real: _Side, synth: _Side, stem_masks: dict[str, dict[str, Ref]]
) -> tuple[list[Pair], list[dict[str, Any]], dict[str, list[Ref]]]:
    if not path.is_file():
        raise GapvizError(f"pairing manifest {str(path)!r} does not exist; pass an existing CSV file")
    base = path.parent
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

    def resolve(cell: str) -> str:
        p = Path(cell)
        return os.path.normpath(p if p.is_absolute() else base / p)

    pairs: list[Pair] = []
    skipped: list[dict[str, Any]] = []
    stems_seen: dict[str, int] = {}
    for row, line in rows:
        if not any(row.values()):
            continue
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
            refs[side] = resolve(cell)
            if not os.path.isfile(refs[side]):
                skipped.append(
                    {"path": refs[side], "side": side, "reason": f"file not found (manifest line {line})"}
                )
                bad = True
            mcell = row.get(f"mask_{side}", "")
            masks[side] = resolve(mcell) if mcell else None
            if masks[side] is not None and not os.path.isfile(masks[side]):
                skipped.append(
                    {
                        "path": masks[side],
                        "side": side,
                        "reason": f"mask file not found (manifest line {line})",
                    }
                )
                bad = True
        if bad:
            continue
        for side in SIDES:  # an empty mask cell falls back to the masks= folder, matched by stem
            if masks[side] is None:
                stem = Path(refs[side]).stem
                masks[side] = stem_masks[side].get(stem)
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


# ----------------------------------------------------------------------------- build


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
