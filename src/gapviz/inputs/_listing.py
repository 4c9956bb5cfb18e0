"""One side's input listed: a folder, a path list or an array -> paths with stems; masks matched by stem."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gapviz._errors import GapvizError
from gapviz.inputs._decode import IMAGE_EXTENSIONS, is_image_path
from gapviz.inputs._pairset import Ref


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
