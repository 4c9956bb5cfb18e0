"""Paired and unpaired summaries of per-image scalars, with bootstrap CIs and a noise floor.

Every function here is deterministic for a given ``seed``. Bootstraps are computed from
resampling *counts* (how often each row is drawn), so a resample never materialises the data
and the mean of a resample is one matrix product.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, fields
from typing import Any, Literal

import numpy as np

from gapviz._errors import GapvizError

#: |effect size| is capped here: a constant non-zero shift (sd of the differences 0) has an infinite
#: d_z, which JSON cannot hold; anything above the cap is "certain" for every practical purpose.
EFFECT_SIZE_CAP = 100.0
#: number of random half splits whose median gives the noise floor
N_SPLITS = 11
#: at most this many (resample x row) counts are held at once
_CHUNK_CELLS = 4_000_000

Verdict = Literal["gap", "within noise", "below floor"]


# -- typed statistics ----------------------------------------------------------------------------
def verdict(stat: Mapping) -> Verdict | None:
    """What a statistic says about the gap: the one place that decides it.

    ``"within noise"`` when the 95 % CI contains zero, ``"below floor"`` when ``|diff|`` is no
    larger than the split-half noise floor, ``"gap"`` otherwise, and None when there is no
    finite CI to decide with. Set statistics (no ``diff``) are never ``"below floor"``.
    The report, the figures and the recommendation rules all read this.

    Parameters
    ----------
    stat : Stat, SetStat or mapping
        Anything with the JSON keys ``ci95`` and (optionally) ``diff`` and ``noise_floor``.

    Examples
    --------
    >>> verdict({"diff": 0.5, "ci95": [0.2, 0.8], "noise_floor": 0.1})
    'gap'
    >>> verdict({"diff": 0.05, "ci95": [0.02, 0.08], "noise_floor": 0.1})
    'below floor'
    >>> verdict({"diff": 0.1, "ci95": [-0.1, 0.3], "noise_floor": None})
    'within noise'
    >>> verdict({"diff": None, "ci95": [None, None]}) is None
    True
    """
    ci = stat.get("ci95") or ()
    if len(ci) != 2:
        return None
    lo, hi = _finite(ci[0]), _finite(ci[1])
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return None
    if lo <= 0 <= hi:
        return "within noise"
    diff, floor = _finite(stat.get("diff")), _finite(stat.get("noise_floor"))
    if math.isfinite(diff) and math.isfinite(floor) and abs(diff) <= floor:
        return "below floor"
    return "gap"


def _finite(value: Any) -> float:
    """``float(value)``, NaN for None or a non-number."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


class _JSONFields(Mapping):
    """A frozen dataclass read as the read-only mapping of its JSON fields (``stat["ci95"]``).

    Optional fields that are None are absent from the mapping, as they are from the JSON.
    """

    _OPTIONAL: tuple[str, ...] = ()

    def __getitem__(self, key: str) -> Any:
        if key not in self._names() or (key in self._OPTIONAL and getattr(self, key) is None):
            raise KeyError(key)
        value = getattr(self, key)
        return list(value) if key == "ci95" else value

    def __iter__(self) -> Iterator[str]:
        return (k for k in self._names() if not (k in self._OPTIONAL and getattr(self, k) is None))

    def __len__(self) -> int:
        return sum(1 for _ in self)

    @classmethod
    def _names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    def to_dict(self) -> dict:
        """The JSON object of this statistic (keys in their JSON order, ``ci95`` as a list)."""
        return {key: self[key] for key in self}

    @property
    def verdict(self) -> Verdict | None:
        """``"gap"``, ``"within noise"``, ``"below floor"`` or None (no CI): see `verdict`."""
        return verdict(self)

    @classmethod
    def from_mapping(cls, stat: Mapping) -> Any:
        """This type from its JSON object (``to_dict`` output); `GapvizError` on unknown keys."""
        extra = set(stat) - set(cls._names())
        missing = {f.name for f in fields(cls) if f.name not in cls._OPTIONAL} - set(stat)
        if extra or missing:
            raise GapvizError(
                f"Argument 'stat' must have the keys of a {cls.__name__} but got "
                + ", ".join(
                    [*(f"unknown {k!r}" for k in sorted(extra)), *(f"no {k!r}" for k in sorted(missing))]
                )
            )
        return cls(**{k: tuple(v) if k == "ci95" else v for k, v in stat.items()})


@dataclass(frozen=True, eq=False, repr=False)
class Stat(_JSONFields):
    """A paired (or unpaired) scalar statistic: one real/synthetic comparison with its CI.

    It is also the read-only mapping of its JSON object (docs/architecture.md, "stats/ - JSON
    shapes"), so ``stat["ci95"]`` and ``stat.get("noise_floor")`` work as on the dict it replaces,
    it compares equal to that dict, and ``to_dict()`` gives it back key for key.

    Attributes
    ----------
    real, synth : float or None
        Means over the kept pairs (images, for unpaired sets).
    diff : float or None
        Mean of ``synth - real`` (unpaired: ``mean(synth) - mean(real)``).
    effect_size : float or None
        Paired d_z (mean diff / sd diff), unpaired Cohen's d; capped at ``EFFECT_SIZE_CAP``.
    ci95 : tuple of (float or None)
        ``(lo, hi)`` percentile bootstrap interval of ``diff`` (a list in the mapping and the JSON).
    noise_floor : float or None
        Split-half noise floor of the real values (`noise_floor`).
    n : int
        Kept pairs (unpaired: the smaller side).
    paired : bool
    dropped : int or None
        Pairs left out for a non-finite or unmatched value (absent from the JSON when None).
    n_real, n_synth : int or None
        Both sides' counts, for unpaired sets only (absent from the JSON when None).

    Examples
    --------
    >>> s = Stat(real=1.0, synth=1.5, diff=0.5, effect_size=2.0, ci95=(0.3, 0.7), noise_floor=0.1,
    ...          n=20, paired=True, dropped=0)
    >>> s.verdict, s["ci95"], s["n"]
    ('gap', [0.3, 0.7], 20)
    >>> s.to_dict() == dict(s) == {"real": 1.0, "synth": 1.5, "diff": 0.5, "effect_size": 2.0,
    ...                            "ci95": [0.3, 0.7], "noise_floor": 0.1, "n": 20, "paired": True, "dropped": 0}
    True
    >>> s
    Stat(diff=0.5, ci95=[0.3, 0.7], n=20: gap)
    """

    real: float | None
    synth: float | None
    diff: float | None
    effect_size: float | None
    ci95: tuple
    noise_floor: float | None
    n: int
    paired: bool = True
    dropped: int | None = None
    n_real: int | None = None
    n_synth: int | None = None

    _OPTIONAL = ("dropped", "n_real", "n_synth")

    def __repr__(self) -> str:
        return f"Stat(diff={self.diff!r}, ci95={list(self.ci95)!r}, n={self.n}: {self.verdict or 'no CI'})"


@dataclass(frozen=True, eq=False, repr=False)
class SetStat(_JSONFields):
    """A set statistic (CKA, KID): one value for the two sets, with its CI.

    Like `Stat`, it is the read-only mapping of its JSON object ``{"value", "ci95",
    "noise_floor", "n"}``.

    Attributes
    ----------
    value : float or None
    ci95 : tuple of (float or None)
        ``(lo, hi)`` bootstrap interval of ``value``.
    noise_floor : float or None
    n : int

    Examples
    --------
    >>> k = SetStat(value=0.02, ci95=(0.01, 0.03), noise_floor=0.005, n=40)
    >>> k.verdict, k["value"], list(k)
    ('gap', 0.02, ['value', 'ci95', 'noise_floor', 'n'])
    """

    value: float | None
    ci95: tuple
    noise_floor: float | None
    n: int

    def __repr__(self) -> str:
        return f"SetStat(value={self.value!r}, ci95={list(self.ci95)!r}, n={self.n})"


def as_stat(stat: Any) -> Stat | SetStat | None:
    """``stat`` as a `Stat` or `SetStat`, or None when it has neither shape.

    A `GapResult` built by hand (or from older code) may hold the plain JSON dicts; this reads
    them as the typed statistic. Other entries (``nonfinite`` counts) give None.

    Examples
    --------
    >>> as_stat({"value": 0.01, "ci95": [-0.01, 0.03], "noise_floor": None, "n": 10}).verdict
    'within noise'
    >>> as_stat({"real": 0, "synth": 0}) is None
    True
    """
    if isinstance(stat, (Stat, SetStat)):
        return stat
    if not isinstance(stat, Mapping):
        return None
    for cls in (Stat, SetStat):
        try:
            return cls.from_mapping(stat)
        except GapvizError:
            continue
    return None


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


def paired_stat(real, synth, *, seed: int = 0, n_boot: int = 1000) -> Stat:
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
    Stat
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
    >>> s["diff"], s["ci95"], s["n"], s["paired"], s.verdict
    (2.0, [2.0, 2.0], 10, True, 'gap')
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
        return Stat.from_mapping(out)
    mean_d = float(d.mean())
    out.update(real=float(r.mean()), synth=float(s.mean()), diff=mean_d)
    if n >= 2:
        out["effect_size"] = _effect(mean_d, float(d.std(ddof=1)))
        out["ci95"] = percentile_ci(_boot_means(np.random.default_rng(seed), d, n_boot))
    out["noise_floor"] = noise_floor(r, seed=seed)
    return Stat.from_mapping(out)


def unpaired_stat(real, synth, *, seed: int = 0, n_boot: int = 1000) -> Stat:
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
    Stat
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
        return Stat.from_mapping(out)
    diff = float(s.mean() - r.mean())
    out.update(real=float(r.mean()), synth=float(s.mean()), diff=diff)
    if nr >= 2 and ns >= 2:
        pooled = math.sqrt(((nr - 1) * r.var(ddof=1) + (ns - 1) * s.var(ddof=1)) / (nr + ns - 2))
        out["effect_size"] = _effect(diff, pooled)
        rng = np.random.default_rng(seed)
        out["ci95"] = percentile_ci(_boot_means(rng, s, n_boot) - _boot_means(rng, r, n_boot))
    out["noise_floor"] = noise_floor(r, seed=seed)
    return Stat.from_mapping(out)
