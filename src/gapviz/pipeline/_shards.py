"""The sharded run: plan, cached shards, runner (this process or Dask workers), tree merge.

`run_sharded` calls a shard's stream (`gapviz.pipeline._shard.execute_shard`) per shard, here
(`_LocalRunner`) or on Dask workers (`gapviz.pipeline._dask.DaskRunner`), merges the accumulators
in a balanced tree and hands one merged `ShardRun` back to `compare`, which finalises once.
Because `PairAccumulator.finalize` orders everything by pair id and the vector sample by hash
priority, the merged accumulator gives the same numbers as one pass.

What the one-process pass takes from "the first rows" is taken from the shards holding them:
the Canny thresholds (the first batch, computed before the shards start), the example pairs and
the calibration sample (the first shards report theirs; a shard that turns out to be needed
only because earlier shards skipped files is run again for them).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gapviz.impact import ImpactSample
from gapviz.inputs import resolve_analysis_size
from gapviz.pipeline._cache import ShardCache
from gapviz.pipeline._dask import DaskRunner
from gapviz.pipeline._shard import (
    Shard,
    ShardOutput,
    StreamSpec,
    execute_shard,
    first_batch_canny,
    plan_shards,
    shard_rows,
)
from gapviz.pipeline._stream import ShardRun
from gapviz.recommend._sampler import CalibrationSampler, start_background
from gapviz.stats import PairAccumulator

__all__ = ["TreeMerge", "merge_tree", "run_sharded"]


def merge_tree(accs: Sequence[Any]) -> Any:
    """Balanced pairwise merge of accumulators in shard order (log2(n) rounds)."""
    level = list(accs)
    while len(level) > 1:
        level = [level[i].merge(level[i + 1]) if i + 1 < len(level) else level[i] for i in range(0, len(level), 2)]
    return level[0]


class TreeMerge:
    """Merges accumulators as they arrive, as a binary counter: level k holds the merge of 2**k of
    them, so a run over n shards keeps at most log2(n) + 1 accumulators (each vector sample pruned
    to ``cap`` rows by `PairAccumulator.merge`). The result does not depend on the arrival order:
    `PairAccumulator.finalize` orders everything by pair id and sample priority."""

    def __init__(self) -> None:
        self.levels: dict[int, Any] = {}

    def add(self, acc: Any) -> None:
        level = 0
        while level in self.levels:
            acc = self.levels.pop(level).merge(acc)
            level += 1
        self.levels[level] = acc

    def result(self) -> Any:
        """The merge of everything added so far (None before the first); adding may go on."""
        parts = [self.levels[k] for k in sorted(self.levels)]
        return merge_tree(parts) if parts else None


def _asks(shards: Sequence[Shard], examples: int, calibration: int) -> list[tuple[int, int]]:
    """What each shard keeps at first: the extras of the rows before it could still be needed.

    A shard starting at row r can hold one of the first E usable rows only if r < E (rows before
    it are at most r usable). Shards beyond that are asked again later, only if files were skipped.
    """
    return [
        (examples if s.side == "pair" and s.start < examples else 0,
         calibration if s.side == "pair" and s.start < calibration else 0)
        for s in shards
    ]  # fmt: skip


def _needed(outputs: Sequence[ShardOutput | None], shards: Sequence[Shard], examples: int, calibration: int):
    """Shards whose extras the first rows need but that were not asked for them: ``{index: ask}``."""
    more: dict[int, tuple[int, int]] = {}
    seen = 0
    for shard, out in zip(shards, outputs, strict=True):
        if shard.side != "pair" or out is None:
            continue
        want = (examples if seen < examples else 0, calibration if seen < calibration else 0)
        if out.n_rows and (want[0] > out.asked[0] or want[1] > out.asked[1]):
            more[shard.index] = (max(want[0], out.asked[0]), max(want[1], out.asked[1]))
        seen += out.n_rows
    return more


def _first_rows(outputs: Sequence[ShardOutput], examples: int, sampler: CalibrationSampler) -> list:
    """The first ``examples`` example pairs; fills ``sampler`` with the first calibration rows."""
    kept: list = []
    for out in outputs:
        kept.extend(out.examples[: max(examples - len(kept), 0)])
        sampler.add_rows(out.calib_images, out.calib_masks, out.calib_real)
    return kept


@dataclass
class _Run:
    """A sharded run in progress: the plan, the outputs so far, the merge, the cache."""

    spec: StreamSpec
    shards: list
    asks: list
    examples: int
    calibration: int
    cleanup: contextlib.ExitStack
    guess: Callable | None
    bar: Any
    store: ShardCache | None = None
    outputs: list = field(default_factory=list)
    merger: TreeMerge = field(default_factory=TreeMerge)
    rejected: list = field(default_factory=list)
    computed: list = field(default_factory=list)
    rerun: list = field(default_factory=list)
    ahead: Any = None
    began: bool = False

    def load_cached(self) -> None:
        """Every shard whose state the cache holds, merged (and counted on the bar) as if just computed."""
        for shard in self.shards:
            out, reason = self.store.load(shard, self.asks[shard.index])
            if out is not None:
                self.merger.add(out.acc)
                out.acc = None
                self.outputs[shard.index] = out
                if self.bar is not None:
                    self.bar.update(out.n_rows)
            elif reason:
                self.rejected.append({"shard": shard.index, "reason": reason})

    def done(self, out: ShardOutput) -> None:
        """A finished shard: saved, merged, counted; the background calibration begun once it can."""
        previous = self.outputs[out.index]
        if self.store is not None:
            self.store.save(self.shards[out.index], out)
        if previous is None:  # a rerun for the first rows' extras brings the same accumulator again
            self.merger.add(out.acc)
        out.acc = None  # the driver keeps O(log shards) merged accumulators, not one per shard
        self.outputs[out.index] = out
        if self.bar is not None and previous is None:
            self.bar.update(out.n_rows)
        self.maybe_begin_calibration()

    def maybe_begin_calibration(self) -> None:
        """Start the background calibration once the leading shards hold the whole sample.

        Its result does not depend on when it starts or which knob set it fits first
        (`BackgroundCalibration.result` fits the final set), so this only moves work off the end.
        """
        if not self.calibration or self.began or self.spec.canny is None:
            return
        leading = []
        rows = 0
        for shard, out in zip(self.shards, self.outputs, strict=True):
            if shard.side != "pair":
                continue
            if out is None:
                return
            leading.append(out)
            rows += min(len(out.calib_images), out.n_rows)
            if rows >= self.calibration:
                break
            if out.n_rows > len(out.calib_images):
                return  # this shard has more usable rows than it kept: the sample is not known yet
        sampler = CalibrationSampler(self.calibration)
        _first_rows(leading, 0, sampler)
        sample = sampler.build()
        if sample is None:
            return
        self.ahead = start_background(self.cleanup, self.spec.canny, self.spec.seed)
        # the expected knob set from every pair merged so far (only which fit starts first depends on it)
        self.ahead.begin(sample, self.guess(self.merger.result().pair_values()) if self.guess is not None else ())
        self.began = True

    def compute(self, runner: Any) -> dict:
        """Every shard not loaded, then the reruns the first rows' extras need; the runner's description."""
        with contextlib.ExitStack() as started:  # the cluster starts only if some shard is left to compute
            entered: list[bool] = []

            def run(todo: list) -> None:
                if todo and not entered:
                    started.enter_context(runner)
                    entered.append(True)
                runner.run(todo, self.done)

            self.maybe_begin_calibration()
            todo = [(self.shards[i], self.asks[i]) for i in range(len(self.shards)) if self.outputs[i] is None]
            self.computed.extend(s.index for s, _ in todo)
            run(todo)
            while True:  # earlier shards skipped files: a later shard holds some of the first rows
                more = _needed(self.outputs, self.shards, self.examples, self.calibration)
                if not more:
                    break
                self.rerun.extend(more)
                run([(self.shards[i], ask) for i, ask in more.items()])
            return runner.describe()


def _masks(finished: Sequence[ShardOutput]) -> tuple[dict, dict, dict]:
    """The shards' mask counts, mask sources used and mask-quality rows, summed over the run."""
    mask_counts = {s: {"given": 0, "estimated": 0} for s in ("real", "synth")}
    mask_used = {s: {"given": 0, "estimated": 0, "boxes": 0} for s in ("real", "synth")}
    mask_quality: dict = {s: [] for s in ("real", "synth")}
    for out in finished:
        for total, part in ((mask_counts, out.mask_counts), (mask_used, out.mask_used)):
            for side, counts in part.items():
                for src, n in counts.items():
                    total[side][src] = total[side].get(src, 0) + n
        for side, rows in out.mask_quality.items():
            mask_quality[side].extend(rows)
    return mask_counts, mask_used, mask_quality


def _execution(run: _Run, info: dict, finished: Sequence[ShardOutput], rows: int, start: float) -> dict:
    """How the sharded run went (`GapResult.execution`)."""
    return {
        **info,
        "shards": len(run.shards),
        "shard_size": rows,
        "shards_computed": len(run.computed),
        "shards_from_cache": len(run.shards) - len(run.computed),
        "shards_rerun_for_examples": len(run.rerun),
        "cache": None if run.store is None else {"dir": os.fspath(run.store.folder), "rejected": run.rejected},
        "wall_seconds": time.perf_counter() - start,
        "shard_times": [
            {"shard": o.index, "rows": o.n_rows, "seconds": round(o.seconds, 4), "worker": o.worker, "pid": o.pid,
             "peak_rss_mb": round(o.peak_rss / 2**20, 1), "from_cache": o.cached}
            for o in finished
        ],  # fmt: skip
    }


def _impact_sample(outputs: Sequence[ShardOutput], size: int) -> Any:
    """The first ``size`` pairs of the run, from the leading shards' samples (each keeps its first rows)."""
    if not size:
        return None
    sample = ImpactSample(size=size)
    for out in sorted(outputs, key=lambda o: o.index):
        if len(sample) >= size:
            break
        if out.impact_sample is None:
            break
        sample.extend(out.impact_sample)
    return sample


def run_sharded(
    pairset: Any,
    *,
    spec_args: Mapping[str, Any],
    tapper: Any,
    reducer: Any,
    shard_size: int | None,
    cluster: Any,
    cache: Any,
    cache_key: Mapping[str, Any] | None,
    examples: int,
    calibration_pairs: int,
    cleanup: contextlib.ExitStack,
    guess: Callable | None,
    bar: Any,
) -> ShardRun:
    """Split, run every unfinished shard (here or on Dask), merge, and collect what compare needs.

    ``spec_args`` holds the `StreamSpec` fields other than ``analysis_size`` and ``canny`` (fixed
    here, from the whole set, before any shard starts).
    """
    start = time.perf_counter()
    batch_size = int(spec_args["batch_size"])
    analysis_size = resolve_analysis_size(pairset, spec_args.get("analysis_size"), spec_args["model_size"])
    canny, canny_source = first_batch_canny(pairset, model_size=spec_args["model_size"], analysis_size=analysis_size,
                                            batch_size=batch_size, workers=spec_args["workers"])  # fmt: skip
    spec = StreamSpec(**{**spec_args, "analysis_size": analysis_size, "canny": canny})
    rows = shard_rows(shard_size, batch_size)
    shards = plan_shards(pairset, batch_size=batch_size, shard_size=rows)
    calibration = calibration_pairs if pairset.paired else 0
    run = _Run(spec=spec, shards=shards, asks=_asks(shards, examples, calibration), examples=examples,
               calibration=calibration, cleanup=cleanup, guess=guess, bar=bar, outputs=[None] * len(shards))  # fmt: skip
    if cache is not None:
        run.store = ShardCache(cache, {**dict(cache_key or {}), "analysis_size": list(analysis_size), "canny": list(canny)})
        run.load_cached()
    runner = DaskRunner(cluster, spec) if cluster is not None else _LocalRunner(spec, tapper, reducer)
    info = run.compute(runner)

    finished = [out for out in run.outputs if out is not None]
    acc = run.merger.result()
    if acc is None:
        acc = PairAccumulator(layers=tapper.layers, cap=spec.sample_cap, seed=spec.seed, paired=pairset.paired)
    sampler = CalibrationSampler(calibration)
    kept = _first_rows(finished, examples, sampler)
    mask_counts, mask_used, mask_quality = _masks(finished)
    return ShardRun(
        acc=acc, skipped=[s for out in finished for s in out.skipped], notes=[n for out in finished for n in out.notes],
        mask_counts=mask_counts, analysis_size=tuple(analysis_size), kept=kept, calib=sampler, ahead=run.ahead,
        canny=canny, canny_source=canny_source, n_rows=sum(out.n_rows for out in finished),
        seconds=time.perf_counter() - start, execution=_execution(run, info, finished, rows, start),
        mask_used=mask_used, mask_quality=mask_quality, impact_sample=_impact_sample(finished, spec.impact_pairs),
    )  # fmt: skip


class _LocalRunner:
    """Shards one after another in this process, with the model already loaded here."""

    def __init__(self, spec: StreamSpec, tapper: Any, reducer: Any) -> None:
        self.spec, self.tapper, self.reducer = spec, tapper, reducer

    def __enter__(self) -> _LocalRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def run(self, todo: Sequence[tuple[Shard, tuple]], done: Callable[[ShardOutput], None]) -> None:
        for shard, ask in todo:
            done(execute_shard(self.spec, shard, ask, self.tapper, self.reducer, worker="local"))

    def describe(self) -> dict:
        return {"mode": "sharded, one process", "workers": 1, "scheduler": None}
