"""One streaming pass: decode -> forward pass with in-graph reductions -> image statistics -> accumulator.

`run_stream` is the whole pass of a plain run and the stream of each shard of a sharded one
(`gapviz.pipeline._shards`). It hands back a `ShardRun`, which the later phases read like a
`BatchStream` (skipped files, notes, mask counts, analysis size) plus what the pass kept: the
example pairs, the calibration sample, the model-impact sample.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gapviz._threads import yielding
from gapviz.impact import ImpactSample
from gapviz.inputs import iter_batches
from gapviz.inputs._channels import model_input
from gapviz.recommend._sampler import CalibrationSampler, start_background
from gapviz.result import ExamplePair, FeatureExample
from gapviz.stats import (
    Canny,
    PairAccumulator,
    canny_edges,
    image_stats_batch,
    image_stats_pairs,
)
from gapviz.stats.examples import MAPS, top_channels

__all__ = ["MAX_PENDING", "ShardRun", "first_canny", "run_stream"]

#: batches whose image statistics may wait for the statistics thread. The thread runs at a lower OS
#: priority than the forward pass; where it falls behind (a light model, a busy machine) the pass
#: waits for it here, so memory stays that of a few batches however many pairs stream through.
MAX_PENDING = 4


@dataclass
class ShardRun:
    """What a stream (one shard, or the merge of all of them) hands back to `compare`.

    ``skipped``, ``notes``, ``mask_counts`` and ``analysis_size`` have the meaning of the
    `BatchStream` attributes of the same names, so `compare` reads this object like a stream.
    """

    acc: Any
    skipped: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    mask_counts: dict = field(default_factory=dict)
    analysis_size: tuple = ()
    kept: list = field(default_factory=list)
    calib: Any = None
    ahead: Any = None
    canny: Canny | None = None
    canny_source: str = ""
    n_rows: int = 0
    seconds: float = 0.0
    execution: dict = field(default_factory=dict)
    mask_used: dict = field(default_factory=dict)
    mask_quality: dict = field(default_factory=dict)
    impact_sample: Any = None


def first_canny(batch: Any) -> tuple[Canny, str]:
    """The Canny thresholds of a run, from its first batch (the real side where there is one), and their source."""
    first = batch.real_analysis if batch.real_analysis is not None else batch.synth_analysis
    side_name = "real" if batch.real_analysis is not None else "synth"
    return Canny.from_images(first), f"gradient percentiles of the first {len(first)} {side_name} images"


def ref_path(ref: Any) -> str | None:
    """A row's source as recorded: its path, or None for a row of an array."""
    return None if isinstance(ref, (int, np.integer)) else os.fspath(ref)


def side_stats(side: str, images: np.ndarray, masks: np.ndarray, canny: Canny) -> dict:
    return {side: image_stats_batch(images, masks, canny=canny)}


def feature_examples(acts_real: Mapping[str, np.ndarray], acts_synth: Mapping[str, np.ndarray], i: int) -> tuple:
    """Top channels by energy over the pair, and the energy maps, for row ``i`` of each layer."""
    return tuple(FeatureExample(layer=layer, **top_channels(acts_real[layer][i], acts_synth[layer][i]))
                 for layer in acts_real)  # fmt: skip


def examples(k: int, batch: Any, maps: Mapping[str, np.ndarray], canny: Canny) -> list[ExamplePair]:
    """The batch's first ``k`` pairs with full feature maps (``maps``: rows real[:k] + synth[:k])."""
    real_acts = {name: a[:k] for name, a in maps.items()}
    synth_acts = {name: a[k:] for name, a in maps.items()}
    low, high, sigma = canny
    kept = []
    for i in range(k):
        kept.append(
            ExamplePair(
                stem=batch.stems[i],
                real_path=ref_path(batch.refs["real"][i]),
                synth_path=ref_path(batch.refs["synth"][i]),
                real_image=batch.real_analysis[i].copy(),
                synth_image=batch.synth_analysis[i].copy(),
                real_mask=batch.real_mask_analysis[i].copy(),
                synth_mask=batch.synth_mask_analysis[i].copy(),
                real_edges=canny_edges(batch.real_analysis[i], low, high, sigma=sigma),
                synth_edges=canny_edges(batch.synth_analysis[i], low, high, sigma=sigma),
                features=feature_examples(real_acts, synth_acts, i),
            )
        )
    return kept


class _Pass:
    """The state of one pass: the accumulator, the pending statistics jobs and what is kept."""

    def __init__(self, pairset: Any, *, tapper: Any, reducer: Any, preprocess: Any, sample_cap: int, seed: int,
                 examples: int, calibration_pairs: int, canny: Canny | None, canny_source: str,
                 cleanup: contextlib.ExitStack | None, guess: Callable | None, channels: int | None,
                 impact_pairs: int) -> None:  # fmt: skip
        self.paired = pairset.paired
        self.tapper, self.reducer, self.preprocess, self.channels = tapper, reducer, preprocess, channels
        self.seed, self.examples, self.cleanup, self.guess = seed, examples, cleanup, guess
        self.acc = PairAccumulator(layers=tapper.layers, cap=sample_cap, seed=seed, paired=self.paired)
        self.kept: list = []  # futures of the example pairs' lists, then the pairs
        self.n_kept = 0
        self.calib = CalibrationSampler(calibration_pairs if self.paired else 0)
        self.ahead: Any = None
        self.pending: list[tuple[Future, Any]] = []
        self.impact_sample = ImpactSample(size=impact_pairs) if impact_pairs and self.paired else None
        self.guess_at = 2 * calibration_pairs  # pairs at which the expected knob set is checked again (doubling)
        self.canny, self.canny_source = canny, canny_source
        if canny is not None:
            self.ahead = self._start_ahead()

    def _start_ahead(self) -> Any:
        if not (self.calib.size and self.cleanup is not None):
            return None
        return start_background(self.cleanup, self.canny, self.seed)

    def batch(self, batch: Any, pool: ThreadPoolExecutor) -> int:
        """One batch: its statistics job, its forward pass, its examples; the finished jobs added."""
        if self.canny is None:
            self.canny, self.canny_source = first_canny(batch)
            self.ahead = self._start_ahead()
        ids = list(batch.stems) if self.paired else [f"{batch.side}:{s}" for s in batch.stems]
        sides = ("real", "synth") if batch.side == "pair" else (batch.side,)
        views = {s: batch.view(s) for s in sides}
        if self.impact_sample is not None:
            self.impact_sample.add(batch)
        self.pending.append((self._submit_stats(batch, ids, views, pool), ids))
        n = len(batch)
        k, maps = self._forward(batch, ids, sides, views)
        if k:  # edges and feature galleries in the statistics thread, beside the next forward pass
            self.kept.append(pool.submit(yielding(examples), k, batch, maps, self.canny))
            self.n_kept += k
        self._drain()
        return n

    def _submit_stats(self, batch: Any, ids: list, views: dict, pool: ThreadPoolExecutor) -> Future:
        # image statistics overlap the forward pass (OpenCV releases the GIL)
        if batch.side == "pair":
            # the batch that completes the calibration sample starts its fit from the statistics
            # thread, while the first forward pass is still being traced
            return pool.submit(
                self.calib.then_begin(image_stats_pairs, batch, ids, self.ahead, self.guess),
                batch.real_analysis, batch.real_mask_analysis, batch.synth_analysis, batch.synth_mask_analysis,
                canny=self.canny,
            )  # fmt: skip
        v = views[batch.side]
        return pool.submit(yielding(side_stats), batch.side, v.analysis, v.mask_analysis, self.canny)

    def _forward(self, batch: Any, ids: list, sides: tuple, views: dict) -> tuple[int, dict]:
        """The batch's forward pass into the accumulator; (example rows kept, their full maps)."""
        tapper = self.tapper
        x = np.concatenate([model_input(views[s].images, self.preprocess, self.channels) for s in sides])
        m = np.concatenate([views[s].mask for s in sides]).astype(np.float32)[..., None]
        n = len(batch)
        room = self.examples - self.n_kept if batch.side == "pair" else 0
        k = min(max(room, 0), n)
        # the example pairs' full maps come out of the same forward pass (no second pass), and
        # every batch runs the same traced function (rows picked by a per-row flag, not by a retrace)
        rows = np.zeros(len(x), bool)
        rows[:k] = rows[n : n + k] = True
        out = tapper.reduce(x, self.reducer, {"mask": m, MAPS: rows})
        maps = {layer: out[layer].pop(MAPS) for layer in tapper.layers}
        for layer in tapper.layers:
            parts = {s: {key: v[i * n : (i + 1) * n] for key, v in out[layer].items()} for i, s in enumerate(sides)}
            self.acc.add_layer(layer, ids, real=parts.get("real"), synth=parts.get("synth"))
        return k, maps

    def _drain(self) -> None:
        """Add the statistics jobs finished so far (in order); re-guess the knob set as pairs double.

        Waits for the oldest jobs while more than `MAX_PENDING` batches are queued (back-pressure:
        each job holds its batch's images).
        """
        added = False
        while self.pending and (self.pending[0][0].done() or len(self.pending) > MAX_PENDING):
            job, job_ids = self.pending.pop(0)
            self.acc.add_images(job_ids, job.result())
            added = True
        acc, ahead = self.acc, self.ahead
        if added and ahead is not None and ahead.ready and acc.n_pairs >= self.guess_at and self.guess is not None:
            # the expected knob set on every pair seen so far (a changed set restarts the fit)
            self.guess_at = 2 * acc.n_pairs
            ahead.start(self.guess(acc.pair_values()))

    def finish(self) -> None:
        """Wait for every job: the remaining statistics into the accumulator, the examples as pairs."""
        for job, job_ids in self.pending:
            self.acc.add_images(job_ids, job.result())
        self.kept = [pair for job in self.kept for pair in job.result()]


def run_stream(
    pairset: Any,
    *,
    tapper: Any,
    reducer: Any,
    model_size: tuple[int, int],
    analysis_size: Any,
    preprocess: Any,
    batch_size: int,
    workers: int,
    sample_cap: int,
    seed: int,
    examples: int,
    calibration_pairs: int,
    canny: Canny | None = None,
    canny_source: str = "",
    cleanup: contextlib.ExitStack | None = None,
    guess: Callable | None = None,
    bar: Any = None,
    mask_policy: str | None = None,
    boxes: Mapping | None = None,
    channels: int | None = None,
    impact_pairs: int = 0,
) -> ShardRun:
    """One streaming pass over ``pairset``: every pair into a fresh `PairAccumulator`.

    ``canny`` None computes the thresholds from the stream's first batch (a one-process run);
    a shard gets the run's thresholds. ``cleanup`` (an ExitStack that outlives the call) turns on
    the calibration fitted in the background beside the pass: it is entered there and started
    with ``guess(pair_values)`` once the sample is complete. Without it the sampler only keeps
    the first ``calibration_pairs`` synthetic images, masks and real partners' statistics.
    ``mask_policy`` and ``boxes`` go to `gapviz.inputs.iter_batches` (one mask provenance for
    both sides); ``channels`` 1 feeds the model luminance; ``impact_pairs`` keeps the first pairs
    as the model-impact sample (`gapviz.impact.ImpactSample`).
    """
    start = time.perf_counter()
    state = _Pass(pairset, tapper=tapper, reducer=reducer, preprocess=preprocess, sample_cap=sample_cap, seed=seed,
                  examples=examples, calibration_pairs=calibration_pairs, canny=canny, canny_source=canny_source,
                  cleanup=cleanup, guess=guess, channels=channels, impact_pairs=impact_pairs)  # fmt: skip
    stream = iter_batches(
        pairset, model_size=model_size, analysis_size=analysis_size, batch_size=batch_size, workers=workers,
        mask_policy=mask_policy, boxes=boxes,
    )
    # exits in reverse: the statistics thread (one of its jobs may still start the background
    # calibration), then the stream; the background calibration lives in ``cleanup``
    with stream, ThreadPoolExecutor(max_workers=1, thread_name_prefix="gapviz-stats") as pool:
        for batch in stream:
            n = state.batch(batch, pool)
            if bar is not None:
                bar.update(n)
        state.finish()
    return ShardRun(
        acc=state.acc,
        skipped=list(stream.skipped),
        notes=list(stream.notes),
        mask_counts={s: dict(c) for s, c in stream.mask_counts.items()},
        analysis_size=tuple(stream.analysis_size),
        kept=state.kept,
        calib=state.calib,
        ahead=state.ahead,
        canny=state.canny,
        canny_source=state.canny_source,
        n_rows=stream.n_rows,
        seconds=time.perf_counter() - start,
        mask_used={s: dict(c) for s, c in stream.mask_used.items()},
        mask_quality={s: list(rows) for s, rows in stream.mask_quality.items()},
        impact_sample=state.impact_sample,
    )
