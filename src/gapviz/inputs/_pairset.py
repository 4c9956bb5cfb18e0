"""What is compared with what: the :class:`PairSet` that :func:`~gapviz.inputs.build_pairs` returns.

An :class:`Item` is one image of one side, a :class:`Pair` a real image and the synthetic image it
is compared with; a :class:`PairSet` holds both, with what was left out and why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gapviz._checks import check_choice

SIDES = ("real", "synth")

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

    Examples
    --------
    >>> import numpy as np
    >>> from gapviz.inputs import build_pairs
    >>> ps = build_pairs(np.zeros((2, 8, 8, 3), np.uint8), np.zeros((3, 8, 8, 3), np.uint8))
    >>> ps.synth_items[2]
    Item(side='synth', stem='00002', source=2, mask=None)
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

    Examples
    --------
    >>> pair = Pair("a", "real/a.png", "synth/a.png", mask_synth="masks/a.png")
    >>> pair.stem, pair.real, pair.mask_real is None, pair.mask_synth
    ('a', 'real/a.png', True, 'masks/a.png')
    """

    stem: str
    real: Ref
    synth: Ref
    mask_real: Ref | None = None
    mask_synth: Ref | None = None

    def item(self, side: str) -> Item:
        """The pair's ``side`` as an :class:`Item`.

        Examples
        --------
        >>> Pair("a", "real/a.png", "synth/a.png", mask_real="masks/a.png").item("real")
        Item(side='real', stem='a', source='real/a.png', mask='masks/a.png')
        """
        if side == "real":
            return Item("real", self.stem, self.real, self.mask_real)
        return Item("synth", self.stem, self.synth, self.mask_synth)

    def to_dict(self) -> dict[str, Any]:
        """The pair as a JSON-ready dict.

        Examples
        --------
        >>> Pair("a", 0, 0).to_dict()
        {'stem': 'a', 'real': 0, 'synth': 0, 'mask_real': None, 'mask_synth': None}
        """
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

    Examples
    --------
    >>> import os, tempfile
    >>> from gapviz.inputs import build_pairs
    >>> from gapviz.inputs.testing import write_images
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     real = write_images(os.path.join(tmp, "real"), ["a", "b", "c"])
    ...     synth = write_images(os.path.join(tmp, "synth"), ["b", "c", "d"])
    ...     ps = build_pairs(real, synth)
    >>> ps
    PairSet(mode='stem', pairs=2, real=3, synth=3, unmatched=real:1/synth:1, skipped=0)
    >>> len(ps), [p.stem for p in ps.pairs], [os.path.basename(u) for u in ps.unmatched["synth"]]
    (2, ['b', 'c'], ['d.png'])
    >>> ps.paired, ps.kinds
    (True, {'real': 'folder', 'synth': 'folder'})
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
        """``real_items`` or ``synth_items``.

        Examples
        --------
        >>> import os, tempfile
        >>> from gapviz.inputs import build_pairs
        >>> from gapviz.inputs.testing import write_images
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     real = write_images(os.path.join(tmp, "real"), ["a", "b", "c"])
        ...     synth = write_images(os.path.join(tmp, "synth"), ["b", "c", "d"])
        ...     ps = build_pairs(real, synth, pairing="unpaired")
        >>> len(ps), [it.stem for it in ps.items("synth")]
        (0, ['b', 'c', 'd'])
        """
        check_choice("side", side, SIDES)
        return self.real_items if side == "real" else self.synth_items

    def mask_counts(self) -> dict[str, dict[str, int]]:
        """Planned mask sources: ``{"real": {"given", "estimated"}, "synth": {...}}``.

        Counted over pairs when paired, over each side's items otherwise.

        Examples
        --------
        >>> import os, tempfile
        >>> from gapviz.inputs import build_pairs
        >>> from gapviz.inputs.testing import write_images
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     real = write_images(os.path.join(tmp, "real"), ["a", "b", "c"])
        ...     synth = write_images(os.path.join(tmp, "synth"), ["b", "c", "d"])
        ...     masks = write_images(os.path.join(tmp, "masks"), ["b"])
        ...     ps = build_pairs(real, synth, masks=dict(real=masks))
        >>> ps.mask_counts()
        {'real': {'given': 1, 'estimated': 1}, 'synth': {'given': 0, 'estimated': 2}}
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
        """JSON-ready summary (the ``data`` section of a result); ``pairs=True`` lists every pair.

        Examples
        --------
        >>> import os, tempfile
        >>> from gapviz.inputs import build_pairs
        >>> from gapviz.inputs.testing import write_images
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     real = write_images(os.path.join(tmp, "real"), ["a", "b", "c"])
        ...     synth = write_images(os.path.join(tmp, "synth"), ["b", "c", "d"])
        ...     d = build_pairs(real, synth).to_dict(pairs=True)
        >>> d["pairing"], d["n_pairs"], d["n_real"], d["masks"]["synth"]
        ('stem', 2, 3, {'given': 0, 'estimated': 2})
        >>> [(p["stem"], os.path.basename(p["synth"])) for p in d["pairs"]]
        [('b', 'b.png'), ('c', 'c.png')]
        """
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
