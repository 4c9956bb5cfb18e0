"""Estimating the object mask of an image without any model (classical, deterministic).

The estimator must behave the same on real photographs (blurred backgrounds) and on renders
(sharp backgrounds): a bias between the two sides would fake a gap in every masked statistic.
So every cue is normalised by the image's own border statistics rather than absolute levels,
and the IoU is measured per side (``scripts/measure_mask_iou.py``, ``docs/masks.md``).
"""

from __future__ import annotations

import cv2
import numpy as np

from gapviz._errors import GapvizError
from gapviz.inputs._decode import resize_mask


def _work_image(image: np.ndarray, work_size: int) -> np.ndarray:
    h, w = image.shape[:2]
    scale = work_size / max(h, w)
    if scale >= 1:
        return image
    return cv2.resize(
        image, (max(8, round(w * scale)), max(8, round(h * scale))), interpolation=cv2.INTER_AREA
    )


def _border(h: int, w: int, frac: float) -> np.ndarray:
    b = max(3, round(frac * min(h, w)))
    m = np.zeros((h, w), bool)
    m[:b] = m[-b:] = True
    m[:, :b] = m[:, -b:] = True
    return m


def _colour_distance(lab: np.ndarray, border: np.ndarray, k: int = 6) -> np.ndarray:
    """Distance of each pixel to the nearest border colour cluster, in units of the border's own spread."""
    samples = lab[border]
    step = max(1, len(samples) // 3000)
    samples = np.ascontiguousarray(samples[::step], np.float32)
    k = min(k, len(samples))
    cv2.setRNGSeed(12345)  # cv2.kmeans draws from OpenCV's thread-local RNG: seed it for determinism
    crit = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 0.5)
    _, _, centres = cv2.kmeans(samples, k, None, crit, 2, cv2.KMEANS_PP_CENTERS)
    flat = lab.reshape(-1, 3)
    d = np.full(flat.shape[0], np.inf, np.float32)
    for c in centres:
        d = np.minimum(d, np.sqrt(((flat - c) ** 2).sum(axis=1)))
    d = d.reshape(lab.shape[:2])
    scale = float(np.percentile(d[border], 90)) + 2.0
    return d / scale


def _rank(x: np.ndarray) -> np.ndarray:
    """Per-image rank normalisation to [0, 1): only the order inside one image counts, so a cue
    contributes the same whether the image is blurred, sharp, dark or bright."""
    r = np.empty(x.size, np.float32)
    r[np.argsort(x.ravel(), kind="stable")] = np.arange(x.size, dtype=np.float32) / x.size
    return r.reshape(x.shape)


#: Cue weights and seed fractions. Tuned on 20 ``field`` + 20 ``dataset1`` scenes (seeds
#: 1000-1019 at 256 px) for similar IoU on both sides; measured on other seeds in docs/masks.md.
_WEIGHTS = {"dark": 1.0, "edges": 1.0, "centre": 1.0, "colour": 1.5}
_FG_FRACTION = 0.22  # top of the score: probable foreground seed
_BG_FRACTION = 0.55  # bottom of the score: definite background
_MIN_AREA = 0.01  # a GrabCut result below this fraction of the frame counts as "found nothing"


def objectness(image: np.ndarray) -> np.ndarray:
    """The per-pixel score that seeds :func:`estimate_mask` (higher = more object-like).

    A weighted sum of per-image ranks of four cues: darkness (the objects are dark-ish metal),
    local gradient density, a centre prior, and the colour distance from a background model
    fitted to the image border.

    Examples
    --------
    >>> import numpy as np
    >>> objectness(np.zeros((32, 32, 3), np.uint8)).shape
    (32, 32)
    """
    h, w = image.shape[:2]
    lab = cv2.cvtColor(image.astype(np.float32) / 255, cv2.COLOR_RGB2Lab)
    L = lab[..., 0]
    dark = -cv2.GaussianBlur(L, (0, 0), 2.0)
    Ls = cv2.GaussianBlur(L, (0, 0), 1.0)
    grad = np.hypot(cv2.Sobel(Ls, cv2.CV_32F, 1, 0), cv2.Sobel(Ls, cv2.CV_32F, 0, 1))
    edges = cv2.GaussianBlur(grad, (0, 0), 3.0 * min(h, w) / 256)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    centre = -(((yy - h / 2) / (h / 2)) ** 2 + ((xx - w / 2) / (w / 2)) ** 2)
    colour = _colour_distance(lab, _border(h, w, 0.06))
    cues = {"dark": dark, "edges": edges, "centre": centre, "colour": colour}
    return sum(_WEIGHTS[k] * _rank(v) for k, v in cues.items()) / sum(_WEIGHTS.values())


def estimate_mask(image: np.ndarray, *, work_size: int = 256, iterations: int = 4) -> np.ndarray:
    """Estimate the foreground mask of a single object on a plain or cluttered background.

    Classical and deterministic (no model). At a working resolution of ``work_size`` on the
    long side:

    1. :func:`objectness` ranks pixels by darkness, gradient density, centrality and colour
       distance from a border-fitted background model (k-means in CIE Lab). Ranks are per image,
       so blurred photographs and sharp renders are scored on the same footing.
    2. ``cv2.grabCut`` is seeded from it: the top 22 % probable foreground, the bottom 55 %
       definite background, the rest probable background; it then refines with colour models
       and its smoothness term.
    3. Morphological open/close, components smaller than 20 % of the largest dropped, small
       holes filled (a ring's own hole stays open); resized back to the image size.
       Should GrabCut keep under 1 % of the frame (its colour models cannot tell the object
       from a similar background, e.g. grey metal on grey gravel), the smoothed objectness
       thresholded at its top 11 % is used instead.

    It assumes one object covering very roughly 5-30 % of a frame, near its centre, as in the
    inspection images; it is a fallback for missing masks, and its accuracy on both presets is
    measured in ``docs/masks.md``. OpenCV's RNG is seeded per call, so results are repeatable
    in any thread.

    Parameters
    ----------
    image : numpy.ndarray
        ``(H, W, 3)`` uint8 RGB.
    work_size : int
        Long side of the working resolution (speed/accuracy trade-off).
    iterations : int
        GrabCut iterations.

    Returns
    -------
    numpy.ndarray
        ``(H, W)`` bool, True on the object.

    Examples
    --------
    >>> from gapviz.inputs.testing import ring_scene
    >>> img, truth = ring_scene(1, size=128, background="blur")
    >>> est = estimate_mask(img)
    >>> bool((est & truth).sum() / (est | truth).sum() > 0.5)
    True
    """
    img = np.asarray(image)
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        raise GapvizError(f"estimate_mask expects an (H, W, 3) uint8 image, got {img.shape} {img.dtype}")
    if min(img.shape[:2]) < 16:
        raise GapvizError(f"estimate_mask needs an image of at least 16x16 pixels, got {img.shape[:2]}")
    H, W = img.shape[:2]
    small = np.ascontiguousarray(_work_image(img, work_size))
    score = objectness(small)
    lo, hi = np.quantile(score, [_BG_FRACTION, 1 - _FG_FRACTION])
    gc = np.full(score.shape, cv2.GC_PR_BGD, np.uint8)
    gc[score < lo] = cv2.GC_BGD
    gc[score > hi] = cv2.GC_PR_FGD
    cv2.setRNGSeed(12345)  # grabCut's GMM initialisation draws from OpenCV's thread-local RNG
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.grabCut(small, gc, None, bgd, fgd, iterations, cv2.GC_INIT_WITH_MASK)
    mask = _cleanup((gc == cv2.GC_FGD) | (gc == cv2.GC_PR_FGD))
    if mask.mean() < _MIN_AREA:
        # GrabCut's colour models found no object (e.g. grey metal on grey gravel): fall back to
        # the smoothed objectness itself, thresholded at the seed fraction
        smooth = cv2.GaussianBlur(score, (0, 0), 1.5)
        mask = _cleanup(smooth > np.quantile(smooth, 1 - _FG_FRACTION / 2))
    return resize_mask(mask, (H, W))


def _cleanup(mask: np.ndarray) -> np.ndarray:
    h, w = mask.shape
    k = max(1, round(min(h, w) / 128))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1, 2 * k + 1))
    m = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, kernel)
    m = cv2.morphologyEx(m, cv2.MORPH_CLOSE, kernel)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
    if n <= 1:
        return m.astype(bool)
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = 1 + np.flatnonzero(areas >= 0.2 * areas.max())
    m = np.isin(labels, keep)
    # fill only small holes: a ring's own hole must stay open
    inv = (~m).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(inv, connectivity=4)
    small_holes = [
        i
        for i in range(1, n)
        if stats[i, cv2.CC_STAT_AREA] < 0.002 * h * w
        and stats[i, cv2.CC_STAT_LEFT] > 0
        and stats[i, cv2.CC_STAT_TOP] > 0
        and stats[i, cv2.CC_STAT_LEFT] + stats[i, cv2.CC_STAT_WIDTH] < w
        and stats[i, cv2.CC_STAT_TOP] + stats[i, cv2.CC_STAT_HEIGHT] < h
    ]
    if small_holes:
        m |= np.isin(labels, small_holes)
    return m
