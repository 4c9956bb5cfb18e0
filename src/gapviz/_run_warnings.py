"""Warnings a comparison raises about its own data: said on stderr by the CLI and kept in the result.

Each is one line naming what was found and what to do. None of them stops the run; each is also
emitted as a `GapvizWarning` for Python callers.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from typing import Any


class GapvizWarning(UserWarning):
    """A comparison ran, but something about its inputs or its numbers deserves attention."""


def accidental_unpaired(pairset: Any, pairing: Any) -> bool:
    """True when ``pairing="auto"`` found nothing to pair two file sets by (no common names)."""
    return (not pairset.paired) and pairing == "auto" and all(k in ("folder", "list") for k in pairset.kinds.values())


def data_warnings(pairset: Any, pairing: Any, masks: Mapping[str, Any] | None) -> list[str]:
    """Warnings known before any image is decoded: nothing paired, mask folders that match nothing."""
    out = []
    if accidental_unpaired(pairset, pairing):
        out.append(
            f"nothing is paired: {pairset.unpaired_reason}; only the distributions are compared and no "
            "recommendation is made. Pair by order (--pairing order, pairing='order') or with a manifest CSV "
            "(--manifest, pairing='list.csv'), or pass --pairing unpaired to accept distribution-only results"
        )
    planned = pairset.mask_counts()
    for side in ("real", "synth"):
        spec = (masks or {}).get(side)
        if spec is None or not isinstance(spec, (str, os.PathLike)):
            continue
        given, total = planned[side]["given"], planned[side]["given"] + planned[side]["estimated"]
        unused = pairset.unused_masks.get(side) or []
        example = f" (e.g. mask {os.path.basename(unused[0])!r})" if unused else ""
        if total and given == 0:
            out.append(
                f"no file in the {side} mask folder {os.fspath(spec)!r} matches a {side} image name{example}, so every "
                f"{side} mask was estimated instead; name each mask like its image (same file stem)"
            )
        elif given < total:
            out.append(
                f"{total - given} of {total} {side} images have no mask in {os.fspath(spec)!r}; theirs were estimated"
            )
    return out


def layer_warnings(final_layers: Mapping[str, Mapping]) -> list[str]:
    """One warning per tapped layer whose activations held NaN or infinity."""
    out = []
    for name, info in final_layers.items():
        bad = info.get("nonfinite") or {}
        if not any(bad.values()):
            continue
        images = info.get("images") or {}
        counts = ", ".join(f"{bad.get(s, 0)} of {images.get(s, '?')} {s}" for s in ("real", "synth"))
        out.append(
            f"layer {name!r} produced NaN/inf activations ({counts} images); those images are left out of its "
            "statistics (null where none is left): check the model's weights and --preprocess"
        )
    return out


def emit(messages: list[str]) -> None:
    """Each message as a `GapvizWarning` (the CLI prints them itself, one line each)."""
    for message in messages:
        warnings.warn(message, GapvizWarning, stacklevel=3)


__all__ = ["GapvizWarning", "accidental_unpaired", "data_warnings", "emit", "layer_warnings"]
