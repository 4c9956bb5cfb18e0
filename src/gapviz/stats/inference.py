"""Paired and unpaired summaries of per-image scalars, with bootstrap CIs and a noise floor.

Every function here is deterministic for a given ``seed``. Bootstraps are computed from
resampling *counts* (how often each row is drawn), so a resample never materialises the data
and the mean of a resample is one matrix product.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Iterator

import numpy as np

from gapviz._errors import GapvizError

#: |effect size| is capped here: a constant non-zero shift (sd of the differences 0) has an infinite
#: d_z, which JSON cannot hold; anything above the cap is "certain" for every practical purpose.
EFFECT_SIZE_CAP = 100.0
#: number of random half splits whose median gives the noise floor
N_SPLITS = 11
#: at most this many (resample x row) counts are held at once
_CHUNK_CELLS = 4_000_000


def derive_seed(seed: int, key: str) -> int:
    """A seed for one statistic: independent per ``key``, the same for the same ``(seed, key)``.

    Examples
    --------
    >>> derive_seed(0, "kid") == derive_seed(0, "kid") != derive_seed(0, "cka")
    True
    """
    return int(np.random.SeedSequence([int(seed), zlib.crc32(key.encode("utf-8"))]).generate_state(1)[0])


def json_float(x) -> float | None:
    """``float(x)``, or None where ``x`` is None or not finite (JSON has no NaN).

    Examples
    --------
    >>> json_float(np.float32(0.5)), json_float(float("nan")), json_float(np.inf), json_float(None)
    (0.5, None, None, None)
    """
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def resample_counts(rng: np.random.Generator, n: int, n_boot: int) -> Iterator[np.ndarray]:
    """Bootstrap resamples of ``n`` rows as counts, in chunks of shape (chunk, n), float64.

    Row ``b`` of the concatenated chunks says how often each of the ``n`` rows is drawn in
    resample ``b``; each row sums to ``n``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> [c.tolist() for c in resample_counts(rng, 5, 3)]
    [[[0.0, 2.0, 1.0, 1.0, 1.0], [4.0, 0.0, 0.0, 0.0, 1.0], [0.0, 0.0, 1.0, 2.0, 2.0]]]

    A matrix product with the data gives every resample's sum at once (here bootstrap means):

    >>> x = np.array([1.0, 2.0, 3.0, 4.0, 10.0])
    >>> rng = np.random.default_rng(0)
    >>> means = np.concatenate([c @ x for c in resample_counts(rng, len(x), 1000)]) / len(x)
    >>> means.shape, [round(v, 3) for v in percentile_ci(means)]
    ((1000,), [1.8, 7.0])
    """
    chunk = max(1, min(n_boot, _CHUNK_CELLS // max(n, 1)))
    done = 0
    while done < n_boot:
        m = min(chunk, n_boot - done)
        idx = rng.integers(0, n, size=(m, n)) + (np.arange(m) * n)[:, None]
        yield np.bincount(idx.ravel(), minlength=m * n).reshape(m, n).astype(np.float64)
        done += m


def _boot_means(rng: np.random.Generator, x: np.ndarray, n_boot: int) -> np.ndarray:
    n = len(x)
    return np.concatenate([c @ x for c in resample_counts(rng, n, n_boot)]) / n


def percentile_ci(boots: np.ndarray, *, level: float = 0.95) -> list[float | None]:
    """Percentile interval ``[lo, hi]`` of bootstrap replicates (non-finite ones ignored).

    Examples
    --------
    >>> boots = np.arange(101.0)
    >>> [round(v, 3) for v in percentile_ci(boots)], percentile_ci(boots, level=0.5)
    ([2.5, 97.5], [25.0, 75.0])
    >>> percentile_ci([np.nan, np.inf])
    [None, None]
    """
    boots = np.asarray(boots, dtype=np.float64)
    boots = boots[np.isfinite(boots)]
    if boots.size == 0:
        return [None, None]
    tail = 50.0 * (1.0 - level)
    lo, hi = np.percentile(boots, [tail, 100.0 - tail])
    return [float(lo), float(hi)]


def bootstrap_paired(
    real,
    synth,
    stat_fn: Callable[[np.ndarray, np.ndarray], float] | None = None,
    *,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> list[float | None]:
    """Percentile bootstrap CI of a paired statistic; rows of ``real`` and ``synth`` move together.

    Parameters
    ----------
    real, synth : array (n, ...)
        Paired samples; row ``i`` of each comes from pair ``i``.
    stat_fn : callable, optional
        ``stat_fn(real_rows, synth_rows) -> float``. Default: ``mean(synth - real)`` (vectorised).
        A custom function is called once per resample, on rows drawn with replacement; for
        CKA and KID prefer :func:`gapviz.stats.similarity.cka_stat` / ``kid_stat``, which
        bootstrap without pairing a row with its own copy.
    n_boot : int
        Number of resamples.
    seed : int
    level : float
        Coverage of the interval.

    Returns
    -------
    list
        ``[lo, hi]``; ``[None, None]`` for fewer than 2 rows.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> real = rng.normal(size=200)
    >>> lo, hi = bootstrap_paired(real, real + 1.0 + 0.1 * rng.normal(size=200), seed=1)
    >>> bool(lo < 1.0 < hi)
    True
    """
    real = np.asarray(real, dtype=np.float64)
    synth = np.asarray(synth, dtype=np.float64)
    if real.shape[0] != synth.shape[0]:
        raise GapvizError(
            f"Arguments 'real' and 'synth' must have the same number of rows (pairs) "
            f"but got {real.shape[0]} and {synth.shape[0]}"
        )
    n = real.shape[0]
    if n < 2:
        return [None, None]
    rng = np.random.default_rng(seed)
    if stat_fn is None:
        d = synth - real
        return percentile_ci(_boot_means(rng, d.reshape(n, -1).mean(axis=1), n_boot), level=level)
    boots = np.empty(n_boot)
    for b in range(n_boot):
        idx = rng.integers(0, n, size=n)
        boots[b] = stat_fn(real[idx], synth[idx])
    return percentile_ci(boots, level=level)


def noise_floor(values, *, seed: int = 0, n_splits: int = N_SPLITS) -> float | None:
    """Median over random half splits of ``|mean(half A) - mean(half B)|``.

    It is the size of difference that sampling alone produces within one set (two equal
    halves; the odd value out is left out). None for fewer than 4 finite values.

    Examples
    --------
    >>> noise_floor(np.ones(10))
    0.0
    >>> noise_floor([1.0, 2.0]) is None
    True
    """
    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    n = len(x)
    if n < 4:
        return None
    rng = np.random.default_rng(seed)
    half = n // 2
    perms = np.argsort(rng.random((n_splits, n)), axis=1)
    a = x[perms[:, :half]].mean(axis=1)
    b = x[perms[:, half : 2 * half]].mean(axis=1)
    return float(np.median(np.abs(a - b)))


def _effect(mean: float, sd: float) -> float:
    if sd > 0:
        return float(np.clip(mean / sd, -EFFECT_SIZE_CAP, EFFECT_SIZE_CAP))
    return 0.0 if mean == 0 else math.copysign(EFFECT_SIZE_CAP, mean)


def _as_1d(x, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 1:
        raise GapvizError(
            f"Argument {name!r} must be a 1-D array of per-image values but got shape {a.shape}"
        )
    return a


def paired_stat(real, synth, *, seed: int = 0, n_boot: int = 1000) -> dict:
    """Summarise paired per-image values as a ``Stat`` (docs/architecture.md).

    Pairs where either value is not finite are dropped and counted.

    Parameters
    ----------
    real, synth : array (n,)
        Value of the statistic on the real and on the synthetic image of each pair.
    seed : int
        Seeds the bootstrap and the half splits.
    n_boot : int
        Bootstrap resamples (pairs resampled together).

    Returns
    -------
    dict
        ``real`` and ``synth`` (means over kept pairs), ``diff`` (mean of synth - real),
        ``effect_size`` (d_z = mean diff / sd diff, capped at ``EFFECT_SIZE_CAP``; 0 when both
        are 0), ``ci95`` ([lo, hi], percentile bootstrap of the mean diff), ``noise_floor``
        (:func:`noise_floor` of the real values, None for n < 4), ``n`` (kept pairs),
        ``paired`` (True) and ``dropped`` (pairs with a non-finite value). Values that cannot
        be computed (n too small) are None.

    Examples
    --------
    >>> real = np.arange(10.0)
    >>> s = paired_stat(real, real + 2.0, seed=0)
    >>> s["diff"], s["ci95"], s["n"], s["paired"]
    (2.0, [2.0, 2.0], 10, True)
    """
    real = _as_1d(real, "real")
    synth = _as_1d(synth, "synth")
    if real.shape != synth.shape:
        raise GapvizError(
            f"Arguments 'real' and 'synth' must hold one value per pair (same length) "
            f"but got {len(real)} and {len(synth)}"
        )
    keep = np.isfinite(real) & np.isfinite(synth)
    r, s = real[keep], synth[keep]
    d = s - r
    n = len(d)
    out = {
        "real": None, "synth": None, "diff": None, "effect_size": None, "ci95": [None, None],
        "noise_floor": None, "n": int(n), "paired": True, "dropped": int(len(real) - n),
    }  # fmt: skip
    if n == 0:
        return out
    mean_d = float(d.mean())
    out.update(real=float(r.mean()), synth=float(s.mean()), diff=mean_d)
    if n >= 2:
        out["effect_size"] = _effect(mean_d, float(d.std(ddof=1)))
        out["ci95"] = percentile_ci(_boot_means(np.random.default_rng(seed), d, n_boot))
    out["noise_floor"] = noise_floor(r, seed=seed)
    return out


def unpaired_stat(real, synth, *, seed: int = 0, n_boot: int = 1000) -> dict:
    """Summarise two independent sets of per-image values as a ``Stat`` with ``paired=False``.

    For sets that cannot be paired. Non-finite values are dropped on each side and counted.

    Parameters
    ----------
    real, synth : array
        Per-image values; the lengths may differ.
    seed, n_boot
        As in :func:`paired_stat`; each side is resampled independently.

    Returns
    -------
    dict
        As :func:`paired_stat`, except ``diff = mean(synth) - mean(real)``, ``effect_size`` is
        Cohen's d with the pooled sd, ``n`` is the smaller side, ``n_real`` and ``n_synth`` give
        both, and ``paired`` is False.

    Examples
    --------
    >>> s = unpaired_stat([0.0, 1.0, 2.0, 3.0], [1.0, 2.0, 3.0], seed=0)
    >>> s["diff"], s["paired"], s["n_real"], s["n_synth"]
    (0.5, False, 4, 3)
    """
    real = _as_1d(real, "real")
    synth = _as_1d(synth, "synth")
    r = real[np.isfinite(real)]
    s = synth[np.isfinite(synth)]
    nr, ns = len(r), len(s)
    out = {
        "real": None, "synth": None, "diff": None, "effect_size": None, "ci95": [None, None],
        "noise_floor": None, "n": int(min(nr, ns)), "paired": False,
        "dropped": int(len(real) - nr + len(synth) - ns), "n_real": int(nr), "n_synth": int(ns),
    }  # fmt: skip
    if nr == 0 or ns == 0:
        return out
    diff = float(s.mean() - r.mean())
    out.update(real=float(r.mean()), synth=float(s.mean()), diff=diff)
    if nr >= 2 and ns >= 2:
        pooled = math.sqrt(((nr - 1) * r.var(ddof=1) + (ns - 1) * s.var(ddof=1)) / (nr + ns - 2))
        out["effect_size"] = _effect(diff, pooled)
        rng = np.random.default_rng(seed)
        out["ci95"] = percentile_ci(_boot_means(rng, s, n_boot) - _boot_means(rng, r, n_boot))
    out["noise_floor"] = noise_floor(r, seed=seed)
    return out
