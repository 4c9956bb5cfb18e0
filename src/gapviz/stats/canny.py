"""The Canny baseline: shared absolute thresholds (:class:`Canny`), edge maps and their agreement.

The gradient is the int16 Sobel of the Gaussian-smoothed BT.601 grey image (what ``cv2.Canny``
takes), with L2 magnitudes; the thresholds are absolute, derived once from the real images
(MATLAB's ``edge(..., 'canny')`` defaults) and used for both sides, so an edge map measures the
image and not its own contrast.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

import cv2
import numpy as np

from gapviz._errors import GapvizError
from gapviz.stats._pixels import check_image, grey

#: default Gaussian sigma (px) applied before Canny, as skimage.feature.canny
CANNY_SIGMA = 1.0
#: Canny thresholds from the real set follow MATLAB's edge(..., 'canny') defaults: the high
#: threshold leaves 70 % of the pixels' gradient magnitudes below it, the low one is 0.4 x high.
CANNY_HIGH_PERCENTILE = 70.0
CANNY_LOW_RATIO = 0.4


def _invalid(value) -> GapvizError:
    return GapvizError(
        f"Argument 'canny' must be (low, high, sigma) from canny_thresholds() but got {value!r}"
    )


@dataclass(frozen=True)
class Canny:
    """Absolute Canny thresholds and the pre-smoothing sigma, one set for both sides of a comparison.

    Unpacks like the ``(low, high, sigma)`` tuple it replaces (``low, high, sigma = canny``;
    ``canny[0]``), and every function taking ``canny=`` accepts either.

    Attributes
    ----------
    low, high : float
        Hysteresis thresholds on the L2 Sobel magnitude of the smoothed grey image (0-255 grey
        levels), ``0 <= low <= high``.
    sigma : float
        Gaussian pre-smoothing, px (``CANNY_SIGMA`` by default).

    Examples
    --------
    >>> canny = Canny(20.0, 50.0)
    >>> canny
    Canny(low=20.0, high=50.0, sigma=1.0)
    >>> low, high, sigma = canny
    >>> canny.to_dict()
    {'low': 20.0, 'high': 50.0, 'sigma': 1.0}
    >>> rng = np.random.default_rng(0)
    >>> imgs = [rng.integers(0, 255, (32, 32, 3), dtype=np.uint8) for _ in range(2)]
    >>> tuple(Canny.from_images(imgs)) == (*canny_thresholds(imgs), CANNY_SIGMA)
    True
    >>> Canny.coerce({"low": 20, "high": 50}) == canny
    True
    """

    low: float
    high: float
    sigma: float = CANNY_SIGMA

    def __post_init__(self) -> None:
        try:
            values = float(self.low), float(self.high), float(self.sigma)
        except (TypeError, ValueError):
            raise _invalid((self.low, self.high, self.sigma)) from None
        low, high, sigma = values
        if not (0 <= low <= high) or not sigma >= 0:
            raise GapvizError(
                f"Argument 'canny' must have 0 <= low <= high and sigma >= 0 but got {values!r}"
            )
        for name, v in zip(("low", "high", "sigma"), values, strict=True):
            object.__setattr__(self, name, v)

    def __iter__(self) -> Iterator[float]:
        return iter((self.low, self.high, self.sigma))

    def __getitem__(self, i):
        return (self.low, self.high, self.sigma)[i]

    def to_dict(self) -> dict[str, float]:
        """``{"low", "high", "sigma"}`` as plain floats (the result JSON's ``canny`` block, without ``source``)."""
        return {"low": self.low, "high": self.high, "sigma": self.sigma}

    @classmethod
    def from_images(
        cls,
        images: Iterable,
        *,
        sigma: float = CANNY_SIGMA,
        high_percentile: float = CANNY_HIGH_PERCENTILE,
        low_ratio: float = CANNY_LOW_RATIO,
        stride: int = 2,
    ) -> Canny:
        """Thresholds from a sample of (real) images: :func:`canny_thresholds` with its ``sigma``."""
        low, high = canny_thresholds(
            images, sigma=sigma, high_percentile=high_percentile, low_ratio=low_ratio, stride=stride
        )
        return cls(low, high, sigma)

    @classmethod
    def coerce(cls, value) -> Canny:
        """A :class:`Canny` from itself, ``(low, high[, sigma])`` or a mapping with those keys."""
        if isinstance(value, cls):
            return value
        if isinstance(value, Mapping):
            value = (value.get("low"), value.get("high"), value.get("sigma", CANNY_SIGMA))
        try:
            low, high, *rest = value
        except (TypeError, ValueError):
            raise _invalid(value) from None
        return cls(low, high, rest[0] if rest else CANNY_SIGMA)


def smoothed_gradients(grey_image: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """int16 Sobel derivatives of the Gaussian-smoothed grey image (the input of cv2.Canny).

    Examples
    --------
    >>> ramp = np.tile(np.arange(16, dtype=np.float32) * 2, (8, 1))
    >>> dx, dy = smoothed_gradients(ramp, 1.0)
    >>> dx.dtype, int(dx[4, 8]), int(dy[4, 8])
    (dtype('int16'), 16, 0)
    """
    g = (
        cv2.GaussianBlur(grey_image, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
        if sigma > 0
        else grey_image
    )
    # straight to int16: OpenCV rounds half to even like np.rint of the float32 Sobel (checked equal)
    dx = cv2.Sobel(g, cv2.CV_16S, 1, 0, ksize=3, borderType=cv2.BORDER_REFLECT)
    dy = cv2.Sobel(g, cv2.CV_16S, 0, 1, ksize=3, borderType=cv2.BORDER_REFLECT)
    return dx, dy


def canny_thresholds(
    images: Iterable,
    *,
    sigma: float = CANNY_SIGMA,
    high_percentile: float = CANNY_HIGH_PERCENTILE,
    low_ratio: float = CANNY_LOW_RATIO,
    stride: int = 2,
) -> tuple[float, float]:
    """Absolute Canny thresholds from a sample of (real) images, shared by both sides.

    The gradient magnitude (Sobel of the Gaussian-smoothed grey, exactly what
    :func:`canny_edges` thresholds) is pooled over the images (every ``stride``-th pixel in
    each direction); ``high`` is its ``high_percentile`` and ``low = low_ratio * high``.

    Parameters
    ----------
    images : iterable of array (H, W, 3) uint8
        The sample, usually the first batch(es) of real images.
    sigma : float
        Gaussian pre-smoothing, px.
    high_percentile : float
        Percentile of pixel gradient magnitudes taken as the high threshold (MATLAB's default).
    low_ratio : float
        Low threshold as a fraction of the high one.
    stride : int
        Pixel subsampling of the pooled magnitudes (memory).

    Returns
    -------
    (low, high) : tuple of float
        Thresholds in Sobel-magnitude units of 0-255 grey; :meth:`Canny.from_images` wraps them
        with the sigma.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> imgs = [rng.integers(0, 255, (32, 32, 3), dtype=np.uint8) for _ in range(2)]
    >>> low, high = canny_thresholds(imgs)
    >>> 0 < low < high
    True
    """
    mags = []
    for image in images:
        image, _ = check_image(image, np.zeros(np.shape(image)[:2], bool))
        dx, dy = smoothed_gradients(grey(image), sigma)
        dx = dx[::stride, ::stride].astype(np.float32)
        dy = dy[::stride, ::stride].astype(np.float32)
        mags.append(np.sqrt(dx * dx + dy * dy).ravel())
    if not mags:
        raise GapvizError("Argument 'images' must hold at least one image to derive Canny thresholds from")
    high = float(np.percentile(np.concatenate(mags), high_percentile))
    high = max(high, 1.0)  # a flat sample would give 0: every pixel an edge
    return low_ratio * high, high


def canny_edges(image, low: float, high: float, *, sigma: float = CANNY_SIGMA) -> np.ndarray:
    """Canny edge map with absolute thresholds.

    Parameters
    ----------
    image : array (H, W, 3) uint8
    low, high : float
        Hysteresis thresholds on the L2 Sobel magnitude of the smoothed grey image.
    sigma : float
        Gaussian pre-smoothing, px.

    Returns
    -------
    array (H, W) bool

    Examples
    --------
    >>> img = np.zeros((32, 32, 3), np.uint8)
    >>> img[:, 16:] = 255
    >>> edges = canny_edges(img, 50.0, 100.0)
    >>> bool(edges[:, 15:17].any()), bool(edges[:, :10].any())
    (True, False)
    """
    image, _ = check_image(image, np.zeros(np.shape(image)[:2], bool))
    dx, dy = smoothed_gradients(grey(image), sigma)
    return cv2.Canny(dx, dy, float(low), float(high), L2gradient=True) > 0


def edge_agreement(edges_a, edges_b, *, tol_px: float = 2.0) -> float:
    """Symmetric F1 of two edge maps, an edge pixel matching if the other map has one within ``tol_px``.

    Parameters
    ----------
    edges_a, edges_b : array (H, W) bool
    tol_px : float
        Matching distance (Euclidean, px).

    Returns
    -------
    float
        ``2PR / (P + R)`` with P the fraction of ``a``'s edge pixels near one of ``b``'s and R
        the converse; 1 when both maps are empty, 0 when exactly one is.

    Examples
    --------
    >>> a = np.zeros((20, 20), bool)
    >>> a[:, 10] = True
    >>> edge_agreement(a, np.roll(a, 1, axis=1)), edge_agreement(a, np.roll(a, 5, axis=1))
    (1.0, 0.0)
    """
    a = np.ascontiguousarray(edges_a, dtype=bool)
    b = np.ascontiguousarray(edges_b, dtype=bool)
    if a.shape != b.shape:
        raise GapvizError(
            f"Arguments 'edges_a' and 'edges_b' must have the same shape but got {a.shape} and {b.shape}"
        )
    na, nb = np.count_nonzero(a), np.count_nonzero(b)
    if na == 0 or nb == 0:
        return 1.0 if na == nb else 0.0

    # "an edge of the other map within tol_px" = the other map dilated by a Euclidean disk
    r = int(np.floor(tol_px))
    yy, xx = np.mgrid[-r : r + 1, -r : r + 1]
    disk = (yy * yy + xx * xx <= tol_px * tol_px).astype(np.uint8)

    def near(edges):
        return cv2.dilate(edges.view(np.uint8), disk).view(bool)

    precision = np.count_nonzero(a & near(b)) / na
    recall = np.count_nonzero(b & near(a)) / nb
    if precision + recall == 0:
        return 0.0
    return float(2 * precision * recall / (precision + recall))
