"""Calibrating how much of a rendering knob closes a measured gap.

Amounts are measured, not guessed: candidate settings are applied to a sample of the synthetic
images with the same operators the built-in renderer uses for its camera knobs
(`gapviz.scenes.FinishedImage`), the same statistics are measured on the result, and the
settings are chosen so that the synthetic images' statistics match those of their real partners.

Each knob has a statistic of its own (coarse background sharpness for focus, relative object sharpness for lens
softness, background noise for sensor noise, block edges for compression, brightness for
exposure, red minus blue for colour); its amount is the root of that statistic's mean paired
log-ratio (adjusted synthetic vs real partner), found by Illinois regula falsi between the ends
of the knob's range (bisection over the candidate qualities for compression). The camera knobs
move each other's statistics (noise raises sharpness, softness lowers background sharpness and
the noise estimate), so they are solved in alternating sweeps; a later sweep searches outward
from the previous root. Each evaluation applies the setting to the sample and measures only the
statistics the search needs. The mismatch reported is the sum of the squared residuals, and each knob's
share is how much of the closed mismatch comes back when that knob alone is reset to 0.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gapviz._errors import GapvizError
from gapviz.vocabulary import COUPLED

__all__ = ["CALIBRATED_KNOBS", "OWN_STATISTIC", "BackgroundCalibration", "Calibration", "CalibrationSample",
           "Evaluations", "calibrate"]  # fmt: skip

#: knob -> (search grid of values to add on top of the current render, the statistics it moves); the fit's
#: mismatch is the sum of those statistics' squared residuals
CALIBRATED_KNOBS: Mapping[str, tuple[tuple[float, ...], tuple[str, ...]]] = {
    "camera_focus": ((0.0, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0), ("coarse_sharpness.background",)),
    "resolution": ((0.0, 0.5, 1.0, 1.5, 2.0, 3.0), ("laplacian_rel.object",)),
    "sensor_noise": ((0.0, 2.0, 4.0, 6.0, 8.0, 12.0, 16.0), ("noise_sigma.background",)),
    "compression": ((0, 95, 90, 80, 70, 50, 30), ("jpeg_blockiness",)),
    "exposure": ((-1.5, -1.0, -0.5, -0.25, 0.0, 0.25, 0.5, 1.0, 1.5), ("brightness",)),
    "color": ((-0.6, -0.4, -0.2, -0.1, 0.0, 0.1, 0.2, 0.4, 0.6), ("rgb_relative.r", "rgb_relative.b")),
}

#: candidate values in the order in which each knob's effect grows (compression: none, then falling quality)
_ORDER: Mapping[str, tuple[float, ...]] = {
    knob: grid if knob == "compression" else tuple(sorted(grid)) for knob, (grid, _) in CALIBRATED_KNOBS.items()
}
#: knob -> its own statistic, whose mean paired residual the knob's amount sets to 0 (the primary statistic of
#: its recommendation rule; colour's, ``warmth``, is red minus blue: the two channel statistics it moves)
OWN_STATISTIC: Mapping[str, str] = {
    "camera_focus": "coarse_sharpness.background",
    "resolution": "laplacian_rel.object",
    "sensor_noise": "noise_sigma.background",
    "compression": "jpeg_blockiness",
    "exposure": "brightness",
    "color": "warmth",
}

#: statistics compared on a log scale (positive, skewed); the others are compared as differences
_LOG_STATS = {"coarse_sharpness.background", "laplacian_var.background", "laplacian_var.object", "laplacian_rel.object", "noise_sigma.background", "jpeg_blockiness"}
_LOG_EPS = {"noise_sigma.background": 0.5, "jpeg_blockiness": 0.05}
#: scale of the non-log statistics so that one unit of objective is comparable across them
_LINEAR_SCALE = {"brightness": 0.05, "rgb_relative.r": 0.02, "rgb_relative.b": 0.02, "warmth": 0.02}


@dataclass(frozen=True)
class CalibrationSample:
    """Synthetic images kept for calibration, with the real partners' statistics.

    Attributes
    ----------
    synth_images : sequence of ndarray
        ``(H, W, 3)`` uint8 synthetic images at the analysis size.
    synth_masks : sequence of ndarray
        ``(H, W)`` bool object masks of those images.
    real_values : dict
        Statistic name -> ``(n,)`` values on the real partner of each kept synthetic image: at least
        the statistics of the knobs to fit in `CALIBRATED_KNOBS` and `OWN_STATISTIC`.

    Examples
    --------
    >>> image, mask = np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8), bool)
    >>> len(CalibrationSample([image, image], [mask, mask], {"brightness": np.array([0.4, 0.5])}))
    2
    """

    synth_images: Sequence[np.ndarray]
    synth_masks: Sequence[np.ndarray]
    real_values: Mapping[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.synth_images)


@dataclass(frozen=True)
class Calibration:
    """The jointly fitted settings and how much of the gap each one explains.

    Attributes
    ----------
    settings : dict
        Knob -> value to add on top of the current synthetic render.
    objective_before, objective_after : float
        Mismatch (sum of squared mean paired residuals) with no adjustment and with ``settings``.
    share : dict
        Knob -> fraction of the explained mismatch lost when that knob alone is reset to 0.
    residual : dict
        Statistic -> mean paired log-ratio (or scaled difference) left after adjustment.
    hidden_p : dict
        Knob -> p-value that its own statistic still differs from the real partners when every
        other knob is at its fitted amount and this one at 0: small means the other adjustments
        uncover a gap this knob must close, even if the raw statistic showed none.
    residual_before : dict
        Statistic -> mean paired log-ratio (or scaled difference) with no adjustment, so that
        ``residual[s] / residual_before[s]`` says how much of a statistic's gap the fit closes.

    Examples
    --------
    >>> fit = Calibration(settings={"exposure": -0.25}, objective_before=4.0, objective_after=0.1,
    ...                   residual={"brightness": 0.3}, residual_before={"brightness": 2.0})
    >>> fit.settings["exposure"], fit.residual["brightness"] / fit.residual_before["brightness"]
    (-0.25, 0.15)
    """

    settings: dict
    objective_before: float
    objective_after: float
    share: dict = field(default_factory=dict)
    residual: dict = field(default_factory=dict)
    hidden_p: dict = field(default_factory=dict)
    residual_before: dict = field(default_factory=dict)


def _diffs(name: str, synth: np.ndarray, real: np.ndarray) -> np.ndarray:
    """Per-pair residuals: log-ratio (or scaled difference) of each synthetic image to its partner."""
    synth = np.asarray(synth, np.float64)
    real = np.asarray(real, np.float64)
    if name in _LOG_STATS:
        eps = _LOG_EPS.get(name, 1e-6)
        d = np.log(np.maximum(synth, 0) + eps) - np.log(np.maximum(real, 0) + eps)
    else:
        d = (synth - real) / _LINEAR_SCALE.get(name, 1.0)
    return d[np.isfinite(d)]


def _gap(name: str, synth: np.ndarray, real: np.ndarray) -> float:
    d = _diffs(name, synth, real)
    return float(d.mean()) if d.size else 0.0


def _p_nonzero(d: np.ndarray) -> float:
    """Two-sided one-sample t-test p-value that the mean of ``d`` is 0 (1.0 when undefined)."""
    from scipy import stats as sps

    if d.size < 3 or not np.ptp(d) > 0:
        return 1.0
    p = float(sps.ttest_1samp(d, 0.0).pvalue)
    return p if np.isfinite(p) else 1.0


class Evaluations:
    """Measured statistics of the synthetic sample under each knob setting, kept for reuse.

    One evaluation applies a setting to every sample image (`FinishedImage.apply`) and measures
    the requested statistics. Values are keyed by the setting's non-zero knobs, so fits of
    different knob sets share the evaluations they have in common (a knob at 0 is no knob). A
    fit that runs ahead of the final knob set (`BackgroundCalibration`) leaves its evaluations
    here for the fit that follows. One fit at a time: the class is not for concurrent use.

    Parameters
    ----------
    sample, measure, prepare, seed
        See `calibrate`.
    workers : int
        Threads applying and measuring the images of one setting (OpenCV releases the GIL).
    """

    def __init__(self, sample: CalibrationSample, *, measure: Callable, prepare: Callable, seed: int = 0,
                 workers: int = 2) -> None:  # fmt: skip
        self.sample = sample
        self.measure = measure
        self.seed = int(seed)
        self.workers = max(1, int(workers))
        pairs = zip(sample.synth_images, sample.synth_masks, strict=True)
        self.prepared = [prepare(img, m, self.seed + i) for i, (img, m) in enumerate(pairs)]
        self._values: dict[tuple, dict[str, np.ndarray]] = {}
        #: set to stop the fit using these evaluations at its next evaluation (`Cancelled`)
        self.cancel = threading.Event()
        self.count = 0

    def _one(self, i: int, active: Mapping[str, float], names: Sequence[str]) -> Mapping[str, np.ndarray]:
        image = self.prepared[i].apply(active) if active else self.sample.synth_images[i]
        return self.measure([image], [self.sample.synth_masks[i]], names)

    def values(self, settings: Mapping[str, float], wanted: Sequence[str], pool: Any) -> dict[str, np.ndarray]:
        """Statistic -> ``(n,)`` values under ``settings``, measuring only what is not kept yet."""
        active = {k: v for k, v in settings.items() if v}
        have = self._values.setdefault(tuple(sorted(active.items())), {})
        missing = [s for s in wanted if s not in have]
        if missing:
            if self.cancel.is_set():
                raise Cancelled
            rows = list(pool.map(lambda i: self._one(i, active, missing), range(len(self.prepared))))
            self.count += 1
            for s in {key for r in rows for key in r} - set(have):
                have[s] = np.concatenate([np.asarray(r[s], np.float64).reshape(-1) for r in rows])
        return have


class Cancelled(Exception):
    """A fit stopped through `Evaluations.cancel` (its knob set was not the one needed)."""


def calibrate(
    sample: CalibrationSample,
    knobs: Sequence[str],
    *,
    measure: Callable[[Sequence[np.ndarray], Sequence[np.ndarray], Sequence[str]], Mapping[str, np.ndarray]] | None = None,
    prepare: Callable[[np.ndarray, np.ndarray, int], Any] | None = None,
    seed: int = 0,
    rounds: int = 3,
    workers: int = 2,
    evaluations: Evaluations | None = None,
    initializer: Callable[[], None] | None = None,
) -> Calibration:
    """Fit the amounts of ``knobs`` that make the synthetic sample match its real partners.

    Parameters
    ----------
    sample : CalibrationSample
    knobs : sequence of str
        Names from `CALIBRATED_KNOBS` to fit; the others stay at 0.
    measure : callable
        ``measure(images, masks, stat_names) -> {stat: (n,) array}``.
    prepare : callable
        ``prepare(image, mask, seed)`` -> an object whose ``apply(settings)`` returns the image
        with the renderer's camera operators applied (`gapviz.scenes.FinishedImage`).
    seed : int
        Seeds the simulated sensor noise (per image ``seed + i``).
    rounds : int
        Sweeps over the coupled knobs (it stops early when a sweep changes nothing).
    workers : int
        Threads applying and measuring the images of one candidate setting (OpenCV releases the GIL).
    evaluations : Evaluations, optional
        Evaluations kept from an earlier fit on the same sample (replaces ``measure``,
        ``prepare``, ``seed`` and ``workers``). The result is the same as without them.
    initializer : callable, optional
        Runs first in each thread that applies and measures (the background fit lowers their priority).

    Returns
    -------
    Calibration

    Raises
    ------
    Cancelled
        When ``evaluations.cancel`` is set while the fit still needs a new evaluation.

    Examples
    --------
    Photos whose backgrounds are 2 px blurrier than the renders': the fit finds about 2 px.

    >>> import numpy as np
    >>> from gapviz import stats
    >>> from gapviz.scenes import render_scene
    >>> from gapviz.scenes._post import FinishedImage, apply_camera_knobs
    >>> scenes = [render_scene(seed, preset="dataset1", size=96) for seed in range(4)]
    >>> synth, masks = [np.asarray(s.image) for s in scenes], [np.asarray(s.mask) for s in scenes]
    >>> real = [apply_camera_knobs(im, m, {"camera_focus": 2.0}) for im, m in zip(synth, masks)]
    >>> canny = (*stats.canny_thresholds(np.stack(real)), stats.CANNY_SIGMA)
    >>> def measure(images, ms, names):
    ...     producers = stats.REGISTRY.producers(names, kind="image")
    ...     return stats.image_stats_batch(images, ms, canny=canny, stats=producers)
    >>> sample = CalibrationSample(synth, masks, measure(real, masks, ["coarse_sharpness.background"]))
    >>> fit = calibrate(sample, ["camera_focus"], measure=measure, prepare=FinishedImage)
    >>> 1.6 < fit.settings["camera_focus"] < 2.4, fit.objective_after < 0.05 * fit.objective_before
    (True, True)
    """
    if evaluations is None:
        if measure is None or prepare is None:
            raise TypeError("calibrate needs measure and prepare, or evaluations")
        evaluations = Evaluations(sample, measure=measure, prepare=prepare, seed=seed, workers=workers)
    knobs = [k for k in CALIBRATED_KNOBS if k in set(knobs)]
    with ThreadPoolExecutor(
        max_workers=evaluations.workers, thread_name_prefix="gapviz-calibrate", initializer=initializer
    ) as pool:
        fit = _Fit(evaluations, knobs, pool, sample.real_values)
        current = {k: 0 for k in knobs}
        before = fit.total(current)
        residual_before = fit.residuals(current)
        _sweep(fit, current, rounds)
        after = fit.total(current)
        explained = max(before - after, 0.0)
        share = {}
        for knob in knobs:
            without = fit.total({**current, knob: 0})
            share[knob] = float(np.clip((without - after) / explained, 0.0, 1.0)) if explained > 0 else 0.0
        residual = fit.residuals(current)
        hidden_p = {knob: _p_nonzero(fit.own_diffs(knob, {**current, knob: 0})) for knob in knobs}
    return Calibration(
        settings={k: (int(v) if k == "compression" else float(v)) for k, v in current.items()},
        objective_before=before,
        objective_after=after,
        share=share,
        residual=residual,
        hidden_p=hidden_p,
        residual_before=residual_before,
    )


class _Fit:
    """The residuals of one fit's knob set under a setting, measured through ``evaluations`` on ``pool``."""

    def __init__(self, evaluations: Evaluations, knobs: Sequence[str], pool: Any,
                 real_values: Mapping[str, np.ndarray]) -> None:  # fmt: skip
        self.evaluations, self.knobs, self.pool = evaluations, list(knobs), pool
        #: the statistics whose squared residuals make up the mismatch
        self.stats = sorted({s for k in knobs for s in CALIBRATED_KNOBS[k][1]})
        needed = sorted(set(self.stats) | {OWN_STATISTIC[k] for k in knobs})
        missing = [s for s in needed if s not in real_values]
        if missing:
            raise GapvizError(f"Argument 'sample' must hold the real partners' values of {', '.join(needed)} "
                              f"(to fit {', '.join(knobs)}) but lacks {', '.join(missing)}")  # fmt: skip
        self.real = {s: np.asarray(real_values[s], np.float64) for s in needed}

    def measured(self, settings: Mapping[str, float], wanted: Sequence[str]) -> dict[str, np.ndarray]:
        return self.evaluations.values(settings, wanted, self.pool)

    def _own_values(self, knob: str, settings: Mapping[str, float]) -> tuple[str, np.ndarray]:
        own = OWN_STATISTIC[knob]
        wanted = tuple(dict.fromkeys((own, *CALIBRATED_KNOBS[knob][1])))
        return own, self.measured(settings, wanted)[own]

    def own_diffs(self, knob: str, settings: Mapping[str, float]) -> np.ndarray:
        """The per-pair residuals of the knob's own statistic."""
        own, values = self._own_values(knob, settings)
        return _diffs(own, values, self.real[own])

    def own(self, knob: str, settings: Mapping[str, float]) -> float:
        """The knob's own statistic's mean paired residual."""
        own, values = self._own_values(knob, settings)
        return _gap(own, values, self.real[own])

    def residuals(self, settings: Mapping[str, float]) -> dict[str, float]:
        values = self.measured(settings, self.stats)
        return {s: _gap(s, values[s], self.real[s]) for s in self.stats}

    def total(self, settings: Mapping[str, float]) -> float:
        return float(sum(v * v for v in self.residuals(settings).values()))


def _sweep(fit: _Fit, current: dict[str, float], rounds: int) -> None:
    """Solve each knob's own residual for 0 in turn, updating ``current`` in place.

    Coupled knobs move each other's statistics: a few sweeps over them; the others have statistics
    of their own and are solved once, in the first sweep.
    """
    coupled = [k for k in fit.knobs if k in COUPLED]
    independent = [k for k in fit.knobs if k not in COUPLED]
    rising: dict[str, bool] = {}
    for sweep in range(max(1, rounds)):
        changed = False
        for knob in coupled + (independent if sweep == 0 else []):
            g = lambda v, k=knob: fit.own(k, {**current, k: v})  # noqa: E731
            if knob in rising:  # later sweeps (coupled, continuous knobs): search outward from the last root
                best = _root_near(_ORDER[knob], g, current[knob], rising[knob])
            else:
                best, rising[knob] = _root(_ORDER[knob], g, continuous=knob != "compression")
            if abs(best - current[knob]) > _TOLERANCE * np.ptp(_ORDER[knob]):
                changed = True
            current[knob] = best
        if not changed or not coupled:
            break


class BackgroundCalibration:
    """A calibration fitted ahead of the final knob set, in a low-priority background thread.

    Which knobs `recommend` calibrates is known only after the pass (the rules' tests on every
    pair), but the sample and its real partners' statistics are complete after the first batch,
    while TensorFlow still traces the model on one core. `begin` takes the sample and fits the
    knob set expected from the pairs seen so far; `start` switches to a new expected set
    (cancelling the running fit); `result` returns the running fit when the final set is the
    same, or fits the final set now, reusing every evaluation the earlier fits made. Either way
    the result equals ``calibrate(sample, knobs, measure=..., prepare=..., seed=...)``.
    `begin` may be called from another thread than the rest.

    Parameters
    ----------
    measure, prepare, seed, workers
        See `calibrate`.
    initializer : callable, optional
        Runs first in the background threads (`compare` lowers their priority with it).

    Examples
    --------
    Photos one third of a stop darker than the renders; the fit ahead is the one used:

    >>> import numpy as np
    >>> from gapviz import stats
    >>> from gapviz.scenes import render_scene
    >>> from gapviz.scenes._post import FinishedImage, apply_camera_knobs
    >>> scenes = [render_scene(seed, preset="dataset1", size=64) for seed in range(3)]
    >>> synth, masks = [np.asarray(s.image) for s in scenes], [np.asarray(s.mask) for s in scenes]
    >>> real = [apply_camera_knobs(im, m, {"exposure": -0.33}) for im, m in zip(synth, masks)]
    >>> def measure(images, ms, names):
    ...     producers = stats.REGISTRY.producers(names, kind="image")
    ...     return stats.image_stats_batch(images, ms, canny=(0.1, 0.2, 1.0), stats=producers)
    >>> sample = CalibrationSample(synth, masks, measure(real, masks, ["brightness"]))
    >>> with BackgroundCalibration(measure=measure, prepare=FinishedImage) as ahead:
    ...     ahead.begin(sample, ["exposure"])
    ...     fit = ahead.result(["exposure"])
    >>> ahead.used_ahead, -0.45 < fit.settings["exposure"] < -0.2
    (True, True)
    """

    def __init__(self, *, measure: Callable, prepare: Callable, seed: int = 0, workers: int = 2,
                 initializer: Callable[[], None] | None = None) -> None:  # fmt: skip
        self._make = lambda sample: Evaluations(sample, measure=measure, prepare=prepare, seed=seed, workers=workers)
        self._initializer = initializer
        self._executor = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="gapviz-calibrate-ahead", initializer=initializer
        )
        self._lock = threading.Lock()
        self.evaluations: Evaluations | None = None
        self._knobs: tuple[str, ...] | None = None
        self._future: Any = None
        #: knob sets started, in order, and whether `result` used a fit made in the background
        self.started: list[tuple[str, ...]] = []
        self.used_ahead = False

    @property
    def ready(self) -> bool:
        """Whether `begin` has given the sample."""
        return self.evaluations is not None

    def begin(self, sample: CalibrationSample, knobs: Sequence[str]) -> None:
        """Take the sample and fit ``knobs`` on it in the background (no fit for an empty set)."""
        with self._lock:
            if self.evaluations is not None:
                raise RuntimeError("BackgroundCalibration.begin was called twice")
            self.evaluations = self._make(sample)
            self._start(knobs)

    def start(self, knobs: Sequence[str]) -> None:
        """Fit ``knobs`` in the background instead, unless that fit is running already."""
        with self._lock:
            if self.evaluations is not None:
                self._start(knobs)

    def result(self, knobs: Sequence[str]) -> Calibration:
        """The calibration of ``knobs``: the background fit's if it fitted them, else fitted now."""
        with self._lock:
            if self.evaluations is None:
                raise RuntimeError("BackgroundCalibration.result before begin")
            knobs = _in_order(knobs)
            if knobs == self._knobs and self._future is not None:
                self.used_ahead = True
                return self._future.result()
            self._stop()
            return calibrate(self.evaluations.sample, knobs, evaluations=self.evaluations)

    def close(self) -> None:
        """Stop the background fit and its thread."""
        with self._lock:
            self._stop()
        self._executor.shutdown(wait=True)

    def __enter__(self) -> BackgroundCalibration:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start(self, knobs: Sequence[str]) -> None:
        knobs = _in_order(knobs)
        if knobs == self._knobs:
            return
        self._stop()
        if not knobs:
            return
        self._knobs = knobs
        self.started.append(knobs)
        self._future = self._executor.submit(
            calibrate, self.evaluations.sample, knobs, evaluations=self.evaluations, initializer=self._initializer
        )

    def _stop(self) -> None:
        if self._future is not None:
            self.evaluations.cancel.set()
            try:
                self._future.result()
            except Exception:  # noqa: BLE001 - Cancelled, or the failure of a fit no longer needed (a needed fit reports its own)
                pass
            self.evaluations.cancel.clear()
        self._future, self._knobs = None, None


def _in_order(knobs: Sequence[str]) -> tuple[str, ...]:
    return tuple(k for k in CALIBRATED_KNOBS if k in set(knobs))


#: a sweep that moves no knob by more than this share of its search range ends the sweeps
_TOLERANCE = 0.01


def _root(values: Sequence[float], g: Callable[[float], float], *, continuous: bool) -> tuple[float, bool]:
    """The value where ``g`` (monotone along ``values``) crosses 0, and whether ``g`` rises along them.

    Continuous knobs: the Illinois variant of regula falsi inside the bracket given by the first
    and last candidate values; halving the weight of an end that stays keeps it converging where a
    statistic is flat over part of the range (lens softness below about 0.25 px). Compression,
    whose qualities are discrete: bisection over the candidate values. Without a sign change
    between the ends, the end with the smaller |g|.
    """
    lo, hi = 0, len(values) - 1
    g_lo, g_hi = g(values[lo]), g(values[hi])
    rising = bool(g_hi >= g_lo)
    if np.sign(g_lo) == np.sign(g_hi) or g_lo == 0 or g_hi == 0:
        return (values[lo] if abs(g_lo) <= abs(g_hi) else values[hi]), rising
    if continuous:
        return _refine(values[lo], values[hi], g_lo, g_hi, g), rising
    while hi - lo > 1:
        mid = (lo + hi) // 2
        g_mid = g(values[mid])
        if np.sign(g_mid) == np.sign(g_lo):
            lo, g_lo = mid, g_mid
        else:
            hi, g_hi = mid, g_mid
    return (values[lo] if abs(g_lo) <= abs(g_hi) else values[hi]), rising


def _root_near(values: Sequence[float], g: Callable[[float], float], start: float, rising: bool) -> float:
    """The root of ``g`` searched outward from ``start`` (the previous sweep's root), ``values`` ascending.

    ``g(start)`` tells on which side the root moved (``rising``: g grows along ``values``); the
    candidate values on that side are tried in turn until the sign changes, then the bracket is
    refined as in `_root`. Usually 2-4 evaluations instead of a whole bisection.
    """
    g_start = g(start)
    if abs(g_start) <= _CLOSE:
        return start
    upward = (g_start < 0) == rising  # the root lies at larger values
    side = [v for v in values if v > start] if upward else [v for v in reversed(values) if v < start]
    a, ga = start, g_start
    for v in side:
        gv = g(v)
        if np.sign(gv) != np.sign(ga):
            return v if gv == 0 else _refine(a, v, ga, gv, g, span=values[-1] - values[0])
        a, ga = v, gv
    return a  # no sign change up to the end of the range: |g| is smallest there


#: regula-falsi steps at most; they stop once the bracket is narrower than this share of the knob's
#: search range, or the residual is within `_CLOSE` (a 0.5 % ratio, or 0.5 % of a linear statistic's scale)
_MAX_STEPS = 8
_BRACKET = 0.01
_CLOSE = 0.005


def _refine(a: float, b: float, ga: float, gb: float, g: Callable[[float], float], *, span: float = 0.0) -> float:
    """Narrow a bracket [a, b] with a sign change of ``g`` (Illinois regula falsi); the end with the smaller |g|.

    Steps are rounded to 2 decimals (the precision of a suggested amount) and stop once the
    bracket is narrower than `_BRACKET` of ``span`` (the knob's search range; default the
    bracket's first width), the residual is below `_CLOSE`, or a step repeats an end.
    """
    width = (span or abs(b - a)) * _BRACKET
    wa, wb = ga, gb  # weights for the secant; Illinois halves the one on the end that stays
    kept = 0
    for _ in range(_MAX_STEPS):
        if wb == wa or abs(b - a) <= width:
            break
        c = round(float(b - wb * (b - a) / (wb - wa)), 2)
        if c in (a, b):
            break
        gc = g(c)
        if abs(gc) <= _CLOSE:
            return c
        if np.sign(gc) == np.sign(gb):
            b, gb, wb = c, gc, gc
            wa = wa / 2 if kept == -1 else wa
            kept = -1
        else:
            a, ga, wa = c, gc, gc
            wb = wb / 2 if kept == 1 else wb
            kept = 1
    return a if abs(ga) <= abs(gb) else b
