"""Set statistics on paired samples of vectors: debiased linear CKA and KID.

Both are computed from kernel (Gram) matrices, and both accept *row weights*: integer counts
saying how often each row appears in a bootstrap resample. With weights ``c`` the estimators
are the usual ones on the resampled rows except that a row is never paired with its own copy
(those entries are dropped, as the diagonal is), which keeps the unbiased estimators unbiased
under resampling. With ``c = 1`` they are exactly the textbook estimators. A whole bootstrap is
then a few (resamples x n) @ (n x n) matrix products on Gram matrices computed once.

References
----------
Song, Smola, Gretton, Bedo, Borgwardt (2012), "Feature selection via dependence maximization",
JMLR 13 — the unbiased HSIC estimator.
Kornblith, Norouzi, Lee, Hinton (2019), "Similarity of neural network representations revisited" —
linear CKA. Nguyen, Raghu, Kornblith (2021), "Do wide and deep networks learn the same things?" —
CKA from the unbiased HSIC estimator ("debiased CKA").
Bińkowski, Sutherland, Arbel, Gretton (2018), "Demystifying MMD GANs" — KID: the unbiased MMD²
with the kernel ``k(x, y) = (x·y / d + 1) ** 3``.
"""

from __future__ import annotations

import numpy as np

from gapviz._errors import GapvizError
from gapviz.stats._registry import register
from gapviz.stats.inference import SetStat, derive_seed, json_float, percentile_ci, resample_counts

N_SPLITS = 11


def _as_2d(x, name: str, *, float32_ok: bool = False) -> np.ndarray:
    """(n, d) float64 rows; with ``float32_ok`` a float32 array is kept as it is (no 2x copy)."""
    a = np.asarray(x)
    if not (float32_ok and a.dtype == np.float32):
        a = a.astype(np.float64, copy=False)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        a = a.reshape(a.shape[0], -1)
    if not np.all(np.isfinite(a)):
        raise GapvizError(f"Argument {name!r} has non-finite values; drop those rows first")
    return a


def _check_paired(x: np.ndarray, y: np.ndarray) -> None:
    if x.shape[0] != y.shape[0]:
        raise GapvizError(
            f"Arguments 'x' and 'y' must have one row per pair (same number of rows) "
            f"but got {x.shape[0]} and {y.shape[0]}"
        )


# ----------------------------------------------------------------------------- CKA


#: feature columns centred and multiplied at a time (float64) in `_linear_gram`
_GRAM_COLUMNS = 4096


def _linear_gram(x: np.ndarray) -> np.ndarray:
    """Gram matrix of the column-centred rows, in float64, accumulated over column blocks.

    Pooled feature vectors are wide (16 x 2048 on ResNet50's last stage): a float64 centred copy
    of the whole (n, d) matrix would cost 8 n d bytes at once; blocks keep that to 8 n 4096.
    """
    n, d = x.shape
    gram = np.zeros((n, n))
    for start in range(0, d, _GRAM_COLUMNS):
        block = np.asarray(x[:, start : start + _GRAM_COLUMNS], np.float64)
        block = block - block.mean(axis=0)
        gram += block @ block.T
    return gram


def _hsic_terms(gk: np.ndarray, gl: np.ndarray, gkl: np.ndarray, c: np.ndarray, *, debiased: bool):
    """HSIC(K, L) for each weight row of ``c`` (m, n); ``gkl`` is ``K * L`` (elementwise)."""
    n = c[0].sum()
    ck, cl = c @ gk, c @ gl
    tr = np.einsum("bi,bi->b", c, c @ gkl)
    sk = np.einsum("bi,bi->b", c, ck)
    sl = np.einsum("bi,bi->b", c, cl)
    cross = np.einsum("bi,bi,bi->b", c, ck, cl)
    if debiased:
        return (tr + sk * sl / ((n - 1) * (n - 2)) - 2.0 * cross / (n - 2)) / (n * (n - 3))
    return (tr - 2.0 * cross / n + sk * sl / n**2) / (n - 1) ** 2


def _cka_from_grams(gk: np.ndarray, gl: np.ndarray, c: np.ndarray, *, debiased: bool) -> np.ndarray:
    """CKA for each weight row of ``c`` from the linear Gram matrices of centred features."""
    if debiased:
        gk = gk.copy()
        gl = gl.copy()
        np.fill_diagonal(gk, 0.0)
        np.fill_diagonal(gl, 0.0)
    out = []
    for start in range(0, c.shape[0], 256):
        cb = c[start : start + 256]
        hkl = _hsic_terms(gk, gl, gk * gl, cb, debiased=debiased)
        hkk = _hsic_terms(gk, gk, gk * gk, cb, debiased=debiased)
        hll = _hsic_terms(gl, gl, gl * gl, cb, debiased=debiased)
        den = hkk * hll
        with np.errstate(invalid="ignore", divide="ignore"):
            out.append(np.where(den > 0, hkl / np.sqrt(np.where(den > 0, den, 1.0)), np.nan))
    return np.concatenate(out)


@register("cka", kind="set")
def cka(x, y, *, debiased: bool = True) -> float:
    """Linear CKA between paired representations ``x`` (n, p) and ``y`` (n, q).

    Parameters
    ----------
    x, y : array (n, ...)
        Row ``i`` of each comes from pair ``i``; trailing axes are flattened.
    debiased : bool, default True
        Use the unbiased HSIC estimator (Song et al. 2012), as Nguyen et al. (2021); else the
        biased (centred-kernel) estimator of Kornblith et al. (2019).

    Returns
    -------
    float
        1 for representations equal up to rotation and isotropic scale; near 0 for unrelated
        ones (the debiased value can be slightly negative). NaN when undefined (a constant
        representation, or fewer than 4 rows when debiased).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(100, 8))
    >>> round(cka(x, 3.0 * x), 6)
    1.0
    """
    x = _as_2d(x, "x", float32_ok=True)
    y = _as_2d(y, "y", float32_ok=True)
    _check_paired(x, y)
    n = x.shape[0]
    if n < (4 if debiased else 2):
        return float("nan")
    return float(_cka_from_grams(_linear_gram(x), _linear_gram(y), np.ones((1, n)), debiased=debiased)[0])


# ----------------------------------------------------------------------------- KID


def _poly_kernel(a: np.ndarray, b: np.ndarray, d: int) -> np.ndarray:
    return (a @ b.T / d + 1.0) ** 3


def _mmd2_weighted(
    kxx: np.ndarray, kyy: np.ndarray, kxy: np.ndarray, cx: np.ndarray, cy: np.ndarray, *, paired: bool = False
):
    """Unbiased MMD² per weight row; ``kxx``/``kyy`` must have zero diagonals.

    With ``paired`` the rows of ``cx`` and ``cy`` are one resample of pairs (``cx is cy``): a
    pair drawn ``c_i`` times then contributes its own cross term ``k(x_i, y_i)`` ``c_i`` times
    (once per drawn pair) and its ``c_i² - c_i`` copy-with-copy terms are dropped, as the
    within-set terms drop them. Counting them ``c_i²`` times instead (mean ``c_i²`` about 2)
    inflates the cross term wherever a pair's two rows are alike and biases the paired interval
    downward, to the point of excluding its own estimate. With ``c = 1`` both forms are the
    textbook estimator.

    A row whose weight sits on a single sample (a bootstrap draw of one image, likely with few
    images) has no within-set pair: its value is NaN, not a warning.
    """
    sx = cx.sum(axis=1)
    sy = cy.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        within_x = np.einsum("bi,bi->b", cx, cx @ kxx) / (sx**2 - np.einsum("bi,bi->b", cx, cx))
        within_y = np.einsum("bi,bi->b", cy, cy @ kyy) / (sy**2 - np.einsum("bi,bi->b", cy, cy))
        num = np.einsum("bi,bi->b", cx, cy @ kxy.T)
        den = sx * sy
        if paired:
            copies = cx * cx - cx  # c_i² - c_i copy-with-copy entries of each pair's own term
            num = num - copies @ np.diagonal(kxy)
            den = den - copies.sum(axis=1)
        cross = num / den
    return within_x + within_y - 2.0 * cross


def _kid_grams(x: np.ndarray, y: np.ndarray):
    d = x.shape[1]
    kxx, kyy, kxy = _poly_kernel(x, x, d), _poly_kernel(y, y, d), _poly_kernel(x, y, d)
    np.fill_diagonal(kxx, 0.0)
    np.fill_diagonal(kyy, 0.0)
    return kxx, kyy, kxy


@register("kid", kind="set")
def kid(x, y, *, n_subsets: int | None = None, subset_size: int | None = None, seed: int = 0) -> float:
    """Kernel inception distance: unbiased MMD² with the kernel ``(x·y / d + 1) ** 3``.

    Parameters
    ----------
    x : array (m, d)
    y : array (n, d)
        Two samples of feature vectors (e.g. GAP vectors); they need not be paired.
    n_subsets : int, optional
        If given, average the estimate over this many random subsets (as Bińkowski et al.'s
        reference code does); otherwise use all rows once.
    subset_size : int, optional
        Rows per subset (default ``min(m, n, 1000)``); drawn without replacement on each side.
    seed : int
        Seeds the subsets.

    Returns
    -------
    float
        0 in expectation for samples of one distribution; it can be slightly negative.
        NaN for fewer than 2 rows on a side.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> a, b = rng.normal(size=(300, 4)), rng.normal(size=(300, 4))
    >>> abs(kid(a, b)) < 0.05, kid(a, b + 2.0) > 1.0
    (True, True)
    """
    x = _as_2d(x, "x")
    y = _as_2d(y, "y")
    if x.shape[1] != y.shape[1]:
        raise GapvizError(
            f"Arguments 'x' and 'y' must have the same feature dimension but got {x.shape[1]} and {y.shape[1]}"
        )
    if min(len(x), len(y)) < 2:
        return float("nan")
    if n_subsets is None:
        kxx, kyy, kxy = _kid_grams(x, y)
        return float(_mmd2_weighted(kxx, kyy, kxy, np.ones((1, len(x))), np.ones((1, len(y))))[0])
    size = min(len(x), len(y), 1000) if subset_size is None else int(subset_size)
    if size < 2 or size > min(len(x), len(y)):
        raise GapvizError(
            f"Argument 'subset_size' must be between 2 and {min(len(x), len(y))} but got {subset_size!r}"
        )
    rng = np.random.default_rng(seed)
    vals = [
        kid(x[rng.choice(len(x), size, replace=False)], y[rng.choice(len(y), size, replace=False)])
        for _ in range(int(n_subsets))
    ]
    return float(np.mean(vals))


# ----------------------------------------------------------------------------- set statistics with CIs


def set_stat(value, boots, noise_floor, n: int) -> SetStat:
    """A set statistic (`SetStat`), the JSON shape ``{"value", "ci95", "noise_floor", "n"}``.

    ``boots`` (bootstrap replicates, or None) becomes the percentile CI; non-finite values become None.

    Examples
    --------
    >>> s = set_stat(np.float32(0.25), np.linspace(0.0, 1.0, 101), float("nan"), 50)
    >>> s["value"], [round(v, 3) for v in s["ci95"]], s["noise_floor"], s["n"]
    (0.25, [0.025, 0.975], None, 50)
    >>> set_stat(None, None, None, 3).to_dict()
    {'value': None, 'ci95': [None, None], 'noise_floor': None, 'n': 3}
    """
    return SetStat(
        value=json_float(value),
        ci95=tuple(percentile_ci(boots)) if boots is not None else (None, None),
        noise_floor=json_float(noise_floor),
        n=int(n),
    )


def cka_stat(x, y, *, seed: int = 0, n_boot: int = 1000, debiased: bool = True) -> SetStat:
    """Debiased linear CKA of paired rows, with a paired bootstrap CI, as a set statistic.

    Parameters
    ----------
    x, y : array (n, ...)
        Real and synthetic representations of the same ``n`` pairs (finite rows only).
    seed : int
    n_boot : int
        Resamples of the pairs (rows of ``x`` and ``y`` move together).
    debiased : bool

    Returns
    -------
    SetStat
        ``{"value", "ci95", "noise_floor": None, "n"}``. CKA compares the two sides directly,
        so it has no within-set noise floor; read its CI instead.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(50, 6))
    >>> s = cka_stat(x, x, n_boot=50)
    >>> round(s["value"], 6), s["n"], s["noise_floor"]
    (1.0, 50, None)
    """
    x = _as_2d(x, "x", float32_ok=True)
    y = _as_2d(y, "y", float32_ok=True)
    _check_paired(x, y)
    n = x.shape[0]
    if n < 4:
        return set_stat(None, None, None, n)
    gx, gy = _linear_gram(x), _linear_gram(y)
    value = _cka_from_grams(gx, gy, np.ones((1, n)), debiased=debiased)[0]
    rng = np.random.default_rng(seed)
    boots = np.concatenate(
        [_cka_from_grams(gx, gy, c, debiased=debiased) for c in resample_counts(rng, n, n_boot)]
    )
    return set_stat(value, boots, None, n)


def kid_stat(x, y, *, seed: int = 0, n_boot: int = 1000, paired: bool = True) -> SetStat:
    """KID with a bootstrap CI and a within-real noise floor, as a set statistic.

    Parameters
    ----------
    x, y : array (n, d)
        Real and synthetic feature vectors (finite rows only); with ``paired`` row ``i`` of each
        comes from pair ``i``.
    seed : int
    n_boot : int
        Bootstrap resamples.
    paired : bool, default True
        Resample pairs (rows of ``x`` and ``y`` together); else resample each side on its own
        (the sides may then differ in length).

    Returns
    -------
    SetStat
        ``{"value", "ci95", "noise_floor", "n"}``; ``noise_floor`` is the median over random
        splits of ``|KID(real half A, real half B)|`` (None for fewer than 4 real rows); ``n`` is
        the number of pairs (unpaired: the smaller side).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> s = kid_stat(rng.normal(size=(200, 4)), rng.normal(size=(200, 4)) + 1.0, n_boot=100)
    >>> s["ci95"][0] > 0
    True
    """
    x = _as_2d(x, "x")
    y = _as_2d(y, "y")
    if paired:
        _check_paired(x, y)
    if x.shape[1] != y.shape[1]:
        raise GapvizError(
            f"Arguments 'x' and 'y' must have the same feature dimension but got {x.shape[1]} and {y.shape[1]}"
        )
    n = min(len(x), len(y))
    if n < 2:
        return set_stat(None, None, None, n)
    kxx, kyy, kxy = _kid_grams(x, y)
    value = _mmd2_weighted(kxx, kyy, kxy, np.ones((1, len(x))), np.ones((1, len(y))))[0]
    rng = np.random.default_rng(seed)
    if paired:
        boots = np.concatenate(
            [_mmd2_weighted(kxx, kyy, kxy, c, c, paired=True) for c in resample_counts(rng, n, n_boot)]
        )
    else:
        cxs = np.concatenate(list(resample_counts(rng, len(x), n_boot)))
        cys = np.concatenate(list(resample_counts(rng, len(y), n_boot)))
        boots = _mmd2_weighted(kxx, kyy, kxy, cxs, cys)
    floor = None
    if len(x) >= 4:
        split_rng = np.random.default_rng(derive_seed(seed, "kid.noise_floor"))
        half = len(x) // 2
        ones = np.ones((1, half))
        floors = []
        for _ in range(N_SPLITS):
            p = split_rng.permutation(len(x))
            a, b = p[:half], p[half : 2 * half]
            floors.append(
                abs(_mmd2_weighted(kxx[np.ix_(a, a)], kxx[np.ix_(b, b)], kxx[np.ix_(a, b)], ones, ones)[0])
            )
        floor = float(np.median(floors))
    return set_stat(value, boots, floor, n)
