"""Bounding boxes as a mask source: reading ``stem,x0,y0,x1,y1`` CSVs and a box-seeded mask estimator.

Inspection data usually has detection labels even where it has no masks. A box tells the
estimator where the object is: everything outside it is background, and the objectness cues are
computed on a crop around the box, so that the border-fitted background models and the centre
prior describe the object's own surroundings instead of the whole frame. Accuracy with and without
boxes is measured in ``docs/masks.md`` (``scripts/measure_mask_iou.py --boxes``).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping
from pathlib import Path

import cv2
import numpy as np

from gapviz._errors import GapvizError
from gapviz.inputs._decode import resize_mask
from gapviz.inputs._masks import _cleanup, objectness

__all__ = [
    "Box",
    "box_of_mask",
    "check_boxes_arg",
    "coverage",
    "estimate_mask_in_box",
    "item_key",
    "read_boxes",
    "scale_box",
]

Box = tuple[float, float, float, float]

#: the crop around a box: the box grown by this share of its size on each side (background context)
_CROP_MARGIN = 0.25
#: Otsu margin of the box-seeded GrabCut seeds (as estimate_mask's)
_SEED_MARGIN = 0.05


def read_boxes(path: str | os.PathLike) -> dict[str, Box]:
    """``{stem: (x0, y0, x1, y1)}`` from a CSV of ``stem,x0,y0,x1,y1`` rows (pixels of the original image).

    A first row whose second cell is not a number is a header. ``x1``/``y1`` are exclusive ends
    (a box of one pixel is ``x, y, x + 1, y + 1``). One box per stem.

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "boxes.csv")
    >>> _ = open(p, "w").write("stem,x0,y0,x1,y1\\nscene_000000,10,12,40,44\\n")
    >>> read_boxes(p)
    {'scene_000000': (10.0, 12.0, 40.0, 44.0)}
    """
    p = Path(path)
    if not p.is_file():
        raise GapvizError(f"boxes file {str(p)!r} not found; give a CSV of stem,x0,y0,x1,y1 rows")
    out: dict[str, Box] = {}
    with p.open(newline="", encoding="utf-8-sig") as f:
        for line, row in enumerate(csv.reader(f), start=1):
            if not row or not "".join(row).strip():
                continue
            if line == 1 and len(row) >= 2 and not _is_number(row[1]):
                continue
            if len(row) != 5:
                raise GapvizError(f"{p}: line {line} has {len(row)} cells; expected stem,x0,y0,x1,y1")
            stem = row[0].strip()
            try:
                x0, y0, x1, y1 = (float(v) for v in row[1:])
            except ValueError:
                raise GapvizError(f"{p}: line {line}: x0,y0,x1,y1 must be numbers, got {row[1:]}") from None
            if not (x1 > x0 >= 0 and y1 > y0 >= 0):
                raise GapvizError(f"{p}: line {line}: box {row[1:]} must have 0 <= x0 < x1 and 0 <= y0 < y1")
            if stem in out:
                raise GapvizError(f"{p}: line {line}: a second box for {stem!r}; give one box per image")
            out[stem] = (x0, y0, x1, y1)
    return out


def check_boxes_arg(boxes: object) -> dict[str, dict[str, Box]]:
    """``compare``'s ``boxes=dict(real=..., synth=...)``: each a CSV path or a ``{stem: box}`` mapping.

    Examples
    --------
    >>> check_boxes_arg({"synth": {"0": (1, 2, 30, 40)}})
    {'synth': {'0': (1.0, 2.0, 30.0, 40.0)}}
    """
    if boxes is None:
        return {}
    if not isinstance(boxes, Mapping):
        raise GapvizError(
            f"Argument 'boxes' must be a dict like dict(real='real_boxes.csv', synth=...) but got {type(boxes).__name__}"
        )
    extra = set(boxes) - {"real", "synth"}
    if extra:
        raise GapvizError(f"Argument 'boxes' has unknown sides {sorted(extra)}; use 'real' and/or 'synth'")
    out = {}
    for side, spec in boxes.items():
        if spec is None:
            continue
        if isinstance(spec, Mapping):
            table = {}
            for stem, box in spec.items():
                try:
                    x0, y0, x1, y1 = (float(v) for v in box)
                except (TypeError, ValueError):
                    raise GapvizError(f"boxes[{side!r}][{stem!r}] must be (x0, y0, x1, y1) but got {box!r}") from None
                if not (x1 > x0 >= 0 and y1 > y0 >= 0):
                    raise GapvizError(f"boxes[{side!r}][{stem!r}] must have 0 <= x0 < x1 and 0 <= y0 < y1, got {box!r}")
                table[str(stem)] = (x0, y0, x1, y1)
            out[side] = table
        else:
            out[side] = read_boxes(spec)
    return out


def item_key(item) -> str:
    """The key of an image in a boxes table: its file's stem, or its row index (as a string) in an array."""
    src = item.source
    return str(int(src)) if isinstance(src, (int, np.integer)) else Path(os.fspath(src)).stem


def coverage(pairset, boxes: Mapping[str, Mapping[str, Box]]) -> dict[str, dict[str, int]]:
    """Per side, how many images have a given mask, a box (and no mask), or neither."""
    out = {}
    for side in ("real", "synth"):
        items = [p.item(side) for p in pairset.pairs] if pairset.paired else list(pairset.items(side))
        table = boxes.get(side, {})
        given = sum(it.mask is not None for it in items)
        boxed = sum(it.mask is None and item_key(it) in table for it in items)
        out[side] = {"given": given, "boxes": boxed, "none": len(items) - given - boxed}
    return out


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def box_of_mask(mask: np.ndarray) -> Box | None:
    """The tight box ``(x0, y0, x1, y1)`` (exclusive ends) of a bool mask; None when it is empty.

    Examples
    --------
    >>> m = np.zeros((10, 10), bool); m[2:5, 3:7] = True
    >>> box_of_mask(m)
    (3.0, 2.0, 7.0, 5.0)
    """
    ys, xs = np.nonzero(np.asarray(mask, bool))
    if not len(xs):
        return None
    return float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)


def scale_box(box: Box, src: tuple[int, int], dst: tuple[int, int]) -> Box:
    """``box`` in pixels of an image of size ``src`` (H, W), in pixels of the same image resized to ``dst``."""
    sy, sx = dst[0] / src[0], dst[1] / src[1]
    x0, y0, x1, y1 = box
    return x0 * sx, y0 * sy, x1 * sx, y1 * sy


def _clip_box(box: Box, h: int, w: int) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = box
    x0, y0 = int(np.clip(np.floor(x0), 0, w - 1)), int(np.clip(np.floor(y0), 0, h - 1))
    x1, y1 = int(np.clip(np.ceil(x1), x0 + 1, w)), int(np.clip(np.ceil(y1), y0 + 1, h))
    return x0, y0, x1, y1


def _box_crop(img: np.ndarray, box: Box, work_size: int):
    """The crop around ``box`` at the working size, the box inside it, and where the crop lies in ``img``."""
    H, W = img.shape[:2]
    bx0, by0, bx1, by1 = _clip_box(box, H, W)
    mx, my = round(_CROP_MARGIN * (bx1 - bx0)), round(_CROP_MARGIN * (by1 - by0))
    cx0, cy0, cx1, cy1 = max(0, bx0 - mx), max(0, by0 - my), min(W, bx1 + mx), min(H, by1 + my)
    crop = img[cy0:cy1, cx0:cx1]
    ch, cw = crop.shape[:2]
    # small boxes are enlarged too: the cues' scales are tuned for a working image of this size
    scale = work_size / max(ch, cw)
    sh, sw = max(16, round(ch * scale)), max(16, round(cw * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    small = np.ascontiguousarray(cv2.resize(crop, (sw, sh), interpolation=interp))
    fy, fx = sh / ch, sw / cw
    ix0, iy0 = int(np.floor((bx0 - cx0) * fx)), int(np.floor((by0 - cy0) * fy))
    ix1, iy1 = max(ix0 + 1, int(np.ceil((bx1 - cx0) * fx))), max(iy0 + 1, int(np.ceil((by1 - cy0) * fy)))
    inside = np.zeros((sh, sw), bool)
    inside[iy0:iy1, ix0:ix1] = True
    return small, inside, (cx0, cy0, cx1, cy1)


def _grabcut(small: np.ndarray, gc: np.ndarray, inside: np.ndarray, iterations: int) -> np.ndarray:
    cv2.setRNGSeed(12345)  # grabCut's GMM initialisation draws from OpenCV's thread-local RNG
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    try:
        cv2.grabCut(small, gc, None, bgd, fgd, iterations, cv2.GC_INIT_WITH_MASK)
    except cv2.error:  # one of the two classes is empty: nothing to refine
        return np.zeros_like(inside)
    return _cleanup(((gc == cv2.GC_FGD) | (gc == cv2.GC_PR_FGD)) & inside)


def estimate_mask_in_box(image: np.ndarray, box: Box, *, work_size: int = 192, iterations: int = 4) -> np.ndarray:
    """Estimate the object mask of an image whose object lies inside ``box`` (x0, y0, x1, y1; pixels).

    Like :func:`gapviz.inputs.estimate_mask`, classical and deterministic, but prompted by the box:

    1. The box grown by 25 % of its size on each side is cropped and resized so its long side is
       ``work_size`` (enlarged if smaller); :func:`gapviz.inputs._masks.objectness` is computed on
       the crop, so its border-fitted background models and centre prior describe the box's
       surroundings. Outside the box is definite background; ``t`` is Otsu's threshold of the
       scores inside the box.
    2. Three masks inside the box vote (a pixel is object where two agree): GrabCut seeded with
       probable foreground above ``t + 0.05`` and probable background elsewhere; GrabCut seeded
       with probable foreground everywhere except probable background below ``t - 0.05``; and the
       smoothed score above ``t``. The first is the better one on photo-like images, the second on
       sharp render-like ones; the vote is better than either on both (``docs/masks.md``).
    3. Clean-up as estimate_mask's; the result is placed back into a mask of the image's size.

    Parameters
    ----------
    image : numpy.ndarray
        ``(H, W, 3)`` uint8 RGB.
    box : (x0, y0, x1, y1)
        Pixels of ``image``, exclusive ends; clipped to the image.
    work_size, iterations : int
        Long side of the working crop; GrabCut iterations.

    Returns
    -------
    numpy.ndarray
        ``(H, W)`` bool, True on the object (never outside the box).

    Examples
    --------
    >>> from gapviz.scenes import render_scene
    >>> s = render_scene(1, preset="field", size=128)
    >>> est = estimate_mask_in_box(s.image, box_of_mask(s.mask))
    >>> bool((est & s.mask).sum() / (est | s.mask).sum() > 0.8)
    True
    """
    img = np.asarray(image)
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        raise GapvizError(f"estimate_mask_in_box expects an (H, W, 3) uint8 image, got {img.shape} {img.dtype}")
    H, W = img.shape[:2]
    small, inside, (cx0, cy0, cx1, cy1) = _box_crop(img, box, work_size)
    score = objectness(small)
    t = cv2.threshold(np.clip(score[inside] * 255, 0, 255).astype(np.uint8), 0, 255,
                      cv2.THRESH_BINARY + cv2.THRESH_OTSU)[0] / 255  # fmt: skip
    votes = np.zeros(inside.shape, np.uint8)
    gc = np.full(score.shape, cv2.GC_BGD, np.uint8)
    gc[inside] = cv2.GC_PR_BGD
    gc[inside & (score > t + _SEED_MARGIN)] = cv2.GC_PR_FGD
    votes += _grabcut(small, gc, inside, iterations)
    gc = np.full(score.shape, cv2.GC_BGD, np.uint8)
    gc[inside] = cv2.GC_PR_FGD
    gc[inside & (score < t - _SEED_MARGIN)] = cv2.GC_PR_BGD
    votes += _grabcut(small, gc, inside, iterations)
    votes += _cleanup(inside & (cv2.GaussianBlur(score, (0, 0), max(small.shape[:2]) / 192) > t))
    mask = votes >= 2
    out = np.zeros((H, W), bool)
    out[cy0:cy1, cx0:cx1] = resize_mask(mask, (cy1 - cy0, cx1 - cx0))
    bx0, by0, bx1, by1 = _clip_box(box, H, W)
    keep = np.zeros((H, W), bool)
    keep[by0:by1, bx0:bx1] = True  # the resize back may spill a pixel over the box's edge
    return out & keep
