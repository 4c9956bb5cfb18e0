"""The calibration's sample, taken from the pass, and the background fit started from it.

`compare` calibrates recommended amounts on the first synthetic images of the pass (and their
real partners' statistics). `CalibrationSampler` collects them as the batches' image-statistics
jobs finish; the job that completes the sample starts `BackgroundCalibration` from the statistics
thread, beside the forward pass. `calibration_measure` is the measure the fit uses: only the
producers of the statistics it needs, with the run's Canny thresholds.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from gapviz._threads import yield_to_model, yielding
from gapviz.recommend._calibrate import BackgroundCalibration, CalibrationSample
from gapviz.scenes._post import FinishedImage
from gapviz.stats import REGISTRY, Canny, image_stats_batch

__all__ = ["CALIBRATION_PAIRS", "CalibrationSampler", "calibration_measure", "start_background"]

#: synthetic images kept for calibrating recommended amounts (`compare`'s ``calibration_pairs``)
CALIBRATION_PAIRS = 8


def calibration_measure(canny: Canny) -> Callable:
    """``measure(images, masks, names)`` for calibration: only the producers of the named statistics."""

    def measure(images, masks, names):
        return image_stats_batch(images, masks, canny=canny, stats=REGISTRY.producers(names, kind="image"))

    return measure


def start_background(cleanup: contextlib.ExitStack, canny: Canny, seed: int) -> BackgroundCalibration:
    """A `BackgroundCalibration` with the run's measure, entered into ``cleanup`` (which outlives the pass)."""
    return cleanup.enter_context(
        BackgroundCalibration(measure=calibration_measure(canny), prepare=FinishedImage, seed=seed,
                              initializer=yield_to_model)
    )  # fmt: skip


class CalibrationSampler:
    """The first ``size`` synthetic images of the pass, their masks, and their real partners' statistics.

    `then_begin` wraps a batch's image-statistics job: the job records the real side's values of
    the rows it took, and the job that completes the sample starts the background calibration
    (`gapviz.recommend.BackgroundCalibration.begin`) with the knob set expected from the pairs of
    the sample's batches, from the statistics thread, before its result reaches the pass.
    """

    def __init__(self, size: int) -> None:
        self.size = int(size)
        self.images: list[np.ndarray] = []
        self.masks: list[np.ndarray] = []
        # the real partners too, for amounts fitted the other way round (renders softer or noisier than photos)
        self.real_images: list[np.ndarray] = []
        self.real_masks: list[np.ndarray] = []
        self._synth: list[dict] = []
        self.reverse_sample: Any = None
        self._real: list[dict] = []
        self._pairs: list[dict] = []
        self.sample: Any = None

    def then_begin(self, fn: Callable, batch: Any, ids: Sequence, ahead: Any, guess: Callable) -> Callable:
        """``fn`` wrapped to record (and, completing the sample, to begin); other batches' jobs yield first."""
        take = min(self.size - len(self.images), len(ids))
        if take <= 0:
            return yielding(fn)
        self.images.extend(batch.synth_analysis[:take])
        self.masks.extend(batch.synth_mask_analysis[:take])
        self.real_images.extend(batch.real_analysis[:take])
        self.real_masks.extend(batch.real_mask_analysis[:take])
        complete = len(self.images) == self.size

        def job(*args: Any, **kwargs: Any) -> dict:
            out = fn(*args, **kwargs)
            self._real.append({key: np.asarray(v)[:take] for key, v in out["real"].items()})
            self._synth.append({key: np.asarray(v)[:take] for key, v in out["synth"].items()})
            self._pairs.append(out)
            if complete and ahead is not None:
                keys = set(out["real"]) & set(out["synth"])
                pair_values = {key: tuple(np.concatenate([p[side][key] for p in self._pairs]) for side in ("real", "synth"))
                               for key in keys}  # fmt: skip
                ahead.begin(self.build(), guess(pair_values))
            return out

        return job

    def add_rows(self, images: Sequence, masks: Sequence, real_values: dict) -> None:
        """Take rows another process collected (a shard's calibration rows), up to the sample's size."""
        take = min(self.size - len(self.images), len(images))
        if take > 0:
            self.images.extend(images[:take])
            self.masks.extend(masks[:take])
            self._real.append({k: np.asarray(v)[:take] for k, v in real_values.items()})

    def real_values(self) -> dict:
        """The real partners' statistics of the rows taken so far (statistic -> (k,) values)."""
        if not self._real:
            return {}
        keys = set.intersection(*(set(r) for r in self._real))
        return {k: np.concatenate([np.asarray(r[k]) for r in self._real]) for k in sorted(keys)}

    def build(self) -> Any:
        """The `CalibrationSample` (None without images); call once every job that took rows is done."""
        if self.sample is None and self.images:
            keys = set.intersection(*(set(r) for r in self._real))
            real = {key: np.concatenate([r[key] for r in self._real]) for key in keys}
            self.sample = CalibrationSample(synth_images=self.images, synth_masks=self.masks, real_values=real)
        return self.sample

    def build_reverse(self) -> Any:
        """The sample the other way round: the real images, to be matched to their synthetic partners."""
        if self.reverse_sample is None and self.real_images and self._synth:
            keys = set.intersection(*(set(r) for r in self._synth))
            synth = {key: np.concatenate([r[key] for r in self._synth]) for key in keys}
            self.reverse_sample = CalibrationSample(synth_images=self.real_images, synth_masks=self.real_masks,
                                                    real_values=synth)  # fmt: skip
        return self.reverse_sample
