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


#: Cue weights: a logistic fit of the cue ranks to the true masks of 40 ``field`` + 40
#: ``dataset1`` scenes (seeds 1000-1039, 128 px); measured on seeds 0-39 in docs/masks.md.
_WEIGHTS = {"dark": 1.4, "edges": 1.1, "dog": 1.2, "centre": 2.25, "colour": 2.9, "grey": 3.0, "mad": 1.6}
_SEED_MARGIN = 0.05  # score above Otsu + margin: probable foreground; below Otsu - margin: background
_MIN_AREA = 0.01  # a GrabCut result below this fraction of the frame counts as "found nothing"
_MIN_SEED_KEPT = 0.1  # GrabCut keeping less than this of the seeds' area has collapsed
_MIN_SEED_OVERLAP = 0.2  # ... as has a result of which less than this lies on the seeds
_FALLBACK_MARGIN = 0.05  # fallback: smoothed score above Otsu + this


def objectness(image: np.ndarray) -> np.ndarray:
    """The per-pixel score that seeds :func:`estimate_mask` (higher = more object-like).

    A weighted mean of per-image ranks of seven cues: darkness, local gradient density, band-pass
    contrast (a scale above sensor noise), a centre prior, the colour distance from a k-means
    background model fitted to the image border, greyness (low chroma: the links are bare metal),
    and the per-channel robust (median/MAD) Lab distance from the border. Scales follow the image
    size (tuned at 128 px).

    Examples
    --------
    >>> import numpy as np
    >>> objectness(np.zeros((32, 32, 3), np.uint8)).shape
    (32, 32)
    """
    h, w = image.shape[:2]
    s = min(h, w) / 128
    lab = cv2.cvtColor(image.astype(np.float32) / 255, cv2.COLOR_RGB2Lab)
    L = lab[..., 0]
    Ls = cv2.GaussianBlur(L, (0, 0), 0.5 * s)
    grad = np.hypot(cv2.Sobel(Ls, cv2.CV_32F, 1, 0), cv2.Sobel(Ls, cv2.CV_32F, 0, 1))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    border = _border(h, w, 0.06)
    med = np.median(lab[border], axis=0)
    mad = np.median(np.abs(lab[border] - med), axis=0) + 1.0
    cues = {
        "dark": -cv2.GaussianBlur(L, (0, 0), s),
        "edges": cv2.GaussianBlur(grad, (0, 0), 1.5 * s),
        "dog": np.abs(cv2.GaussianBlur(L, (0, 0), 0.75 * s) - cv2.GaussianBlur(L, (0, 0), 2 * s)),
        "centre": -(((yy - h / 2) / (h / 2)) ** 2 + ((xx - w / 2) / (w / 2)) ** 2),
        "colour": _colour_distance(lab, border),
        "grey": -cv2.GaussianBlur(np.hypot(lab[..., 1], lab[..., 2]), (0, 0), 0.75 * s),
        "mad": cv2.GaussianBlur(np.sqrt((((lab - med) / mad) ** 2).sum(-1)), (0, 0), 0.5 * s),
    }
    return sum(_WEIGHTS[k] * _rank(v) for k, v in cues.items()) / sum(_WEIGHTS.values())


def estimate_mask(image: np.ndarray, *, work_size: int = 192, iterations: int = 4) -> np.ndarray:
    """Estimate the foreground mask of a single object on a plain or cluttered background.

    Classical and deterministic (no model). At a working resolution of ``work_size`` on the
    long side:

    1. :func:`objectness` ranks pixels by darkness, gradient and band-pass contrast, centrality,
       greyness and colour distance from border-fitted background models (k-means and
       median/MAD in CIE Lab). Ranks are per image, so blurred photographs and sharp renders are
       scored on the same footing.
    2. ``cv2.grabCut`` is seeded from it with thresholds from the image's own score (Otsu):
       above Otsu + 0.05 probable foreground, below Otsu - 0.05 definite background, the rest
       probable background; it then refines with colour models and its smoothness term.
    3. Morphological open/close, components smaller than 20 % of the largest dropped, small
       holes filled (a ring's own hole stays open); resized back to the image size.
       Should GrabCut collapse (keep under 1 % of the frame or under 10 % of the seeds' area, or
       land mostly off the seeds: its colour models latched onto clutter or cannot tell grey
       metal from grey gravel), the smoothed objectness above Otsu + 0.05 is used instead.

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
    >>> img, truth = ring_scene(0, size=128, background="blur")
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
    # thresholds from the image's own score distribution (Otsu), not fixed fractions
    t = (
        cv2.threshold(
            np.clip(score * 255, 0, 255).astype(np.uint8), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU
        )[0]
        / 255
    )
    seeds = score > t + _SEED_MARGIN
    gc = np.full(score.shape, cv2.GC_PR_BGD, np.uint8)
    gc[score < t - _SEED_MARGIN] = cv2.GC_BGD
    gc[seeds] = cv2.GC_PR_FGD
    cv2.setRNGSeed(12345)  # grabCut's GMM initialisation draws from OpenCV's thread-local RNG
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.grabCut(small, gc, None, bgd, fgd, iterations, cv2.GC_INIT_WITH_MASK)
    mask = _cleanup((gc == cv2.GC_FGD) | (gc == cv2.GC_PR_FGD))
    if (
        mask.mean() < _MIN_AREA
        or mask.sum() < _MIN_SEED_KEPT * seeds.sum()
        or (mask & seeds).sum() < _MIN_SEED_OVERLAP * mask.sum()
    ):
        # GrabCut collapsed (its colour models latched onto clutter, or found nothing, e.g. grey
        # metal on grey gravel): fall back to the smoothed objectness above its Otsu threshold
        smooth = cv2.GaussianBlur(score, (0, 0), score.shape[0] / 128)
        mask = _cleanup(smooth > t + _FALLBACK_MARGIN)
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
