"""Calibrating how much of a rendering knob closes a measured gap.

Amounts are measured, not guessed: candidate settings are applied to a sample of the synthetic
images with the same operators the built-in renderer uses for its camera knobs
(`gapviz.scenes.apply_camera_knobs`), the same statistics are measured on the result, and the
settings are chosen so that the synthetic images' statistics match those of their real partners.

The knobs interact (noise raises sharpness measures, lens softness lowers background sharpness
too), so they are fitted jointly by coordinate descent over one objective: the sum over the
calibration statistics of the squared mean paired log-ratio between the adjusted synthetic image
and its real partner.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = ["CALIBRATED_KNOBS", "CalibrationSample", "Calibration", "calibrate"]

#: knob -> (search grid of values to add on top of the current render, the statistics it moves)
CALIBRATED_KNOBS: Mapping[str, tuple[tuple[float, ...], tuple[str, ...]]] = {
    "camera_focus": ((0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0), ("laplacian_var.background",)),
    "resolution": ((0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0), ("laplacian_var.object",)),
    "sensor_noise": ((0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 12.0, 16.0, 20.0), ("noise_sigma.background",)),
    "compression": ((0, 95, 90, 85, 80, 70, 60, 50, 40, 30, 20), ("jpeg_blockiness",)),
    "exposure": (tuple(np.round(np.arange(-2.0, 2.01, 0.25), 2)), ("brightness",)),
    "color": (tuple(np.round(np.arange(-1.0, 1.01, 0.1), 2)), ("rgb_relative.r", "rgb_relative.b")),
}

#: statistics compared on a log scale (positive, skewed); the others are compared as differences
_LOG_STATS = {"laplacian_var.background", "laplacian_var.object", "noise_sigma.background", "jpeg_blockiness"}
_LOG_EPS = {"noise_sigma.background": 0.5, "jpeg_blockiness": 0.05}
#: scale of the non-log statistics so that one unit of objective is comparable across them
_LINEAR_SCALE = {"brightness": 0.05, "rgb_relative.r": 0.02, "rgb_relative.b": 0.02}


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
        Statistic name -> ``(n,)`` values on the real partner of each kept synthetic image.
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
        Mismatch (sum of squared mean log-ratios) with no adjustment and with ``settings``.
    share : dict
        Knob -> fraction of the explained mismatch lost when that knob alone is reset to 0.
    residual : dict
        Statistic -> mean paired log-ratio (or scaled difference) left after adjustment.
    """

    settings: dict
    objective_before: float
    objective_after: float
    share: dict = field(default_factory=dict)
    residual: dict = field(default_factory=dict)


def _gap(name: str, synth: np.ndarray, real: np.ndarray) -> float:
    synth = np.asarray(synth, np.float64)
    real = np.asarray(real, np.float64)
    if name in _LOG_STATS:
        eps = _LOG_EPS.get(name, 1e-6)
        d = np.log(np.maximum(synth, 0) + eps) - np.log(np.maximum(real, 0) + eps)
    else:
        d = (synth - real) / _LINEAR_SCALE.get(name, 1.0)
    d = d[np.isfinite(d)]
    return float(d.mean()) if d.size else 0.0


def calibrate(
    sample: CalibrationSample,
    knobs: Sequence[str],
    *,
    measure: Callable[[Sequence[np.ndarray], Sequence[np.ndarray], Sequence[str]], Mapping[str, np.ndarray]],
    apply: Callable[[np.ndarray, np.ndarray, Mapping[str, float], int], np.ndarray],
    seed: int = 0,
    rounds: int = 3,
) -> Calibration:
    """Fit the amounts of ``knobs`` that make the synthetic sample match its real partners.

    Parameters
    ----------
    sample : CalibrationSample
    knobs : sequence of str
        Names from `CALIBRATED_KNOBS` to fit; the others stay at 0.
    measure : callable
        ``measure(images, masks, stat_names) -> {stat: (n,) array}``.
    apply : callable
        ``apply(image, mask, settings, seed) -> image``: the renderer's camera operators.
    seed : int
        Seeds the simulated sensor noise (per image ``seed + i``).
    rounds : int
        Coordinate-descent sweeps over the knobs.

    Returns
    -------
    Calibration

    Examples
    --------
    >>> # see tests/test_recommend.py: a sample blurred on one side recovers the blur
    """
    knobs = [k for k in CALIBRATED_KNOBS if k in set(knobs)]
    stats = sorted({s for k in knobs for s in CALIBRATED_KNOBS[k][1]})
    real = {s: np.asarray(sample.real_values[s], np.float64) for s in stats}
    cache: dict[tuple, float] = {}

    def residuals(settings: Mapping[str, float]) -> dict[str, float]:
        active = {k: v for k, v in settings.items() if v}
        images = [
            apply(img, m, active, seed + i) if active else img
            for i, (img, m) in enumerate(zip(sample.synth_images, sample.synth_masks, strict=True))
        ]
        values = measure(images, sample.synth_masks, stats)
        return {s: _gap(s, values[s], real[s]) for s in stats}

    def objective(settings: Mapping[str, float]) -> float:
        key = tuple(sorted(settings.items()))
        if key not in cache:
            cache[key] = float(sum(r * r for r in residuals(settings).values()))
        return cache[key]

    current = {k: 0 for k in knobs}
    before = objective(current)
    for _ in range(rounds):
        changed = False
        for knob in knobs:
            grid = CALIBRATED_KNOBS[knob][0]
            scores = [objective({**current, knob: v}) for v in grid]
            best = grid[int(np.argmin(scores))]
            best = _refine(knob, grid, scores, current, objective) if knob != "compression" else best
            if best != current[knob]:
                current[knob] = best
                changed = True
        if not changed:
            break
    after = objective(current)
    explained = max(before - after, 0.0)
    share = {}
    for knob in knobs:
        without = objective({**current, knob: 0})
        share[knob] = float(np.clip((without - after) / explained, 0.0, 1.0)) if explained > 0 else 0.0
    return Calibration(
        settings={k: (int(v) if k == "compression" else float(v)) for k, v in current.items()},
        objective_before=before,
        objective_after=after,
        share=share,
        residual=residuals(current),
    )


def _refine(knob: str, grid: Sequence[float], scores: Sequence[float], current: dict, objective) -> float:
    """Golden-section search between the grid neighbours of the best grid value."""
    i = int(np.argmin(scores))
    lo = grid[max(i - 1, 0)]
    hi = grid[min(i + 1, len(grid) - 1)]
    if hi <= lo:
        return float(grid[i])
    phi = (np.sqrt(5) - 1) / 2
    a, b = float(lo), float(hi)
    for _ in range(5):
        c = b - phi * (b - a)
        d = a + phi * (b - a)
        if objective({**current, knob: round(c, 3)}) <= objective({**current, knob: round(d, 3)}):
            b = d
        else:
            a = c
    mid = round((a + b) / 2, 2)
    best_grid = float(grid[i])
    return mid if objective({**current, knob: mid}) < objective({**current, knob: best_grid}) else best_grid
