"""One shard's stream, the shard plan, and the sharded run (in this process or on Dask workers).

A *shard* is a run of consecutive pairs (or, unpaired, items of one side) whose boundaries fall
on batch boundaries of the one-process pass, so every forward pass sees the same rows as it
would in one process. Each shard's stream (decode -> forward pass with in-graph reductions ->
image statistics -> `PairAccumulator`) is `run_stream`; `compare` calls it once on the whole
pair set for a plain run, and `run_sharded` calls it per shard (here, or on a Dask worker via
`gapviz._dask`), merges the accumulators in a balanced tree and hands one merged `ShardRun`
back to `compare`, which finalises once. Because `PairAccumulator.finalize` orders everything
by pair id and the vector sample by hash priority, the merged accumulator gives the same
numbers as one pass.

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
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from gapviz._errors import GapvizError
from gapviz._threads import yield_to_model

#: pairs per shard when ``shard_size`` is not given (rounded up to whole batches)
DEFAULT_SHARD_SIZE = 256


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
    canny: tuple | None = None
    canny_source: str = ""
    n_rows: int = 0
    seconds: float = 0.0
    execution: dict = field(default_factory=dict)
    mask_used: dict = field(default_factory=dict)
    mask_quality: dict = field(default_factory=dict)
    impact_sample: Any = None


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
    canny: tuple | None = None,
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
    from gapviz import inputs, stats
    from gapviz.comparison import _MAPS, _CalibrationSampler, _examples, _measure, _side_stats, _yielding
    from gapviz.impact import ImpactSample
    from gapviz.inputs._channels import model_input

    start = time.perf_counter()
    paired = pairset.paired
    acc = stats.PairAccumulator(layers=tapper.layers, cap=sample_cap, seed=seed, paired=paired)
    kept: list = []  # futures of the example pairs' lists, then the pairs
    n_kept = 0
    calib = _CalibrationSampler(calibration_pairs if paired else 0)
    ahead = None
    pending: list[tuple[Future, Any]] = []
    impact_sample = ImpactSample(size=impact_pairs) if impact_pairs and paired else None
    stream = inputs.iter_batches(
        pairset, model_size=model_size, analysis_size=analysis_size, batch_size=batch_size, workers=workers,
        mask_policy=mask_policy, boxes=boxes,
    )
    guess_at = 2 * calibration_pairs  # pairs at which the expected knob set is checked again (doubling)

    def start_ahead(canny: tuple) -> Any:
        if not (calib.size and cleanup is not None):
            return None
        from gapviz.recommend import BackgroundCalibration
        from gapviz.scenes._post import FinishedImage

        return cleanup.enter_context(
            BackgroundCalibration(measure=_measure(canny), prepare=FinishedImage, seed=seed, initializer=yield_to_model)
        )

    if canny is not None:
        ahead = start_ahead(canny)
    # exits in reverse: the statistics thread (one of its jobs may still start the background
    # calibration), then the stream; the background calibration lives in ``cleanup``
    with stream, ThreadPoolExecutor(max_workers=1, thread_name_prefix="gapviz-stats") as pool:
        for batch in stream:
            if canny is None:
                first = batch.real_analysis if batch.real_analysis is not None else batch.synth_analysis
                side_name = "real" if batch.real_analysis is not None else "synth"
                low, high = stats.canny_thresholds(first)
                canny = (float(low), float(high), float(stats.CANNY_SIGMA))
                canny_source = f"gradient percentiles of the first {len(first)} {side_name} images"
                ahead = start_ahead(canny)
            ids = list(batch.stems) if paired else [f"{batch.side}:{s}" for s in batch.stems]
            sides = ("real", "synth") if batch.side == "pair" else (batch.side,)
            views = {s: batch.view(s) for s in sides}
            if impact_sample is not None:
                impact_sample.add(batch)
            # image statistics overlap the forward pass (OpenCV releases the GIL)
            if batch.side == "pair":
                # the batch that completes the calibration sample starts its fit from the statistics
                # thread, while the first forward pass is still being traced
                job = pool.submit(
                    calib.then_begin(stats.image_stats_pairs, batch, ids, ahead, guess),
                    batch.real_analysis, batch.real_mask_analysis, batch.synth_analysis, batch.synth_mask_analysis,
                    canny=canny,
                )  # fmt: skip
            else:
                v = views[batch.side]
                job = pool.submit(_yielding(_side_stats), batch.side, v.analysis, v.mask_analysis, canny)
            pending.append((job, ids))
            x = np.concatenate([model_input(views[s].images, preprocess, channels) for s in sides])
            m = np.concatenate([views[s].mask for s in sides]).astype(np.float32)[..., None]
            n = len(batch)
            room = examples - n_kept if batch.side == "pair" else 0
            k = min(max(room, 0), n)
            # the example pairs' full maps come out of the same forward pass (no second pass), and
            # every batch runs the same traced function (rows picked by a per-row flag, not by a retrace)
            rows = np.zeros(len(x), bool)
            rows[:k] = rows[n : n + k] = True
            out = tapper.reduce(x, reducer, {"mask": m, _MAPS: rows})
            maps = {layer: out[layer].pop(_MAPS) for layer in tapper.layers}
            for layer in tapper.layers:
                parts = {s: {key: v[i * n : (i + 1) * n] for key, v in out[layer].items()} for i, s in enumerate(sides)}
                acc.add_layer(layer, ids, real=parts.get("real"), synth=parts.get("synth"))
            if k:  # edges and feature galleries in the statistics thread, beside the next forward pass
                kept.append(pool.submit(_yielding(_examples), k, batch, maps, canny))
                n_kept += k
            added = False
            while pending and pending[0][0].done():
                job, job_ids = pending.pop(0)
                acc.add_images(job_ids, job.result())
                added = True
            if added and ahead is not None and ahead.ready and acc.n_pairs >= guess_at and guess is not None:
                # the expected knob set on every pair seen so far (a changed set restarts the fit)
                guess_at = 2 * acc.n_pairs
                ahead.start(guess(acc.pair_values()))
            if bar is not None:
                bar.update(n)
        for job, job_ids in pending:
            acc.add_images(job_ids, job.result())
        kept = [pair for job in kept for pair in job.result()]
    return ShardRun(
        acc=acc,
        skipped=list(stream.skipped),
        notes=list(stream.notes),
        mask_counts={s: dict(c) for s, c in stream.mask_counts.items()},
        analysis_size=tuple(stream.analysis_size),
        kept=kept,
        calib=calib,
        ahead=ahead,
        canny=canny,
        canny_source=canny_source,
        n_rows=stream.n_rows,
        seconds=time.perf_counter() - start,
        mask_used={s: dict(c) for s, c in stream.mask_used.items()},
        mask_quality={s: list(rows) for s, rows in stream.mask_quality.items()},
        impact_sample=impact_sample,
    )


# ---------------------------------------------------------------------------------------------- plan


def check_options(cluster: Any, shard_size: Any) -> None:
    """One clear error for a wrong ``cluster`` or ``shard_size`` before anything runs."""
    if shard_size is not None and (
        not isinstance(shard_size, (int, np.integer)) or isinstance(shard_size, bool) or shard_size < 1
    ):
        raise GapvizError(f"Argument 'shard_size' must be an int >= 1 but got {shard_size!r}")
    if cluster is None or isinstance(cluster, str):
        return
    if isinstance(cluster, (int, np.integer)) and not isinstance(cluster, bool):
        if cluster < 1:
            raise GapvizError(f"Argument 'cluster' must be a worker count >= 1 but got {cluster!r}")
        return
    if type(cluster).__name__ != "Client":
        raise GapvizError(
            "Argument 'cluster' must be a worker count, a scheduler address or a dask.distributed.Client "
            f"but got {type(cluster).__name__}"
        )


@dataclass(frozen=True)
class Shard:
    """One shard of the plan: its place, side, and the sub-`PairSet` holding only its rows."""

    index: int
    side: str  # "pair", "real" or "synth"
    start: int  # position of its first row among the side's rows
    pairset: Any


def plan_shards(pairset: Any, *, batch_size: int, shard_size: int) -> list[Shard]:
    """Consecutive shards of about ``shard_size`` rows, cut on batch boundaries.

    ``shard_size`` is rounded up to a whole number of batches, so the batches of every shard
    are batches of the one-process pass (same rows in each forward pass, same numbers). Unpaired
    sets get shards of real items, then shards of synthetic items, as the pass streams them.
    """
    if not isinstance(shard_size, (int, np.integer)) or isinstance(shard_size, bool) or shard_size < 1:
        raise GapvizError(f"Argument 'shard_size' must be an int >= 1 but got {shard_size!r}")
    rows = -(-int(shard_size) // batch_size) * batch_size
    plan = [("pair", list(pairset.pairs))] if pairset.paired else [(s, list(pairset.items(s))) for s in ("real", "synth")]
    shards: list[Shard] = []
    for side, units in plan:
        for start in range(0, len(units), rows):
            chunk = tuple(units[start : start + rows])
            if side == "pair":
                sub = replace(pairset, pairs=chunk, real_items=tuple(p.item("real") for p in chunk),
                              synth_items=tuple(p.item("synth") for p in chunk))  # fmt: skip
            else:
                sub = replace(pairset, pairs=(), real_items=chunk if side == "real" else (),
                              synth_items=chunk if side == "synth" else ())  # fmt: skip
            shards.append(Shard(len(shards), side, start, replace(sub, skipped=[], unmatched={"real": [], "synth": []})))
    return shards


def first_batch_canny(pairset: Any, *, model_size: Any, analysis_size: tuple, batch_size: int, workers: int):
    """The Canny thresholds of the one-process pass: from the first batch it would yield."""
    from gapviz import inputs, stats

    with inputs.iter_batches(pairset, model_size=model_size, analysis_size=analysis_size, batch_size=batch_size,
                             workers=workers, prefetch=1) as stream:  # fmt: skip
        batch = next(stream, None)
    if batch is None:
        return None, ""
    first = batch.real_analysis if batch.real_analysis is not None else batch.synth_analysis
    side_name = "real" if batch.real_analysis is not None else "synth"
    low, high = stats.canny_thresholds(first)
    return (float(low), float(high), float(stats.CANNY_SIGMA)), f"gradient percentiles of the first {len(first)} {side_name} images"


# ------------------------------------------------------------------------------------- shard output


@dataclass
class ShardOutput:
    """A finished shard: its accumulator, stream records, extras and timing (plain data, no model)."""

    index: int
    acc: Any
    skipped: list
    notes: list
    mask_counts: dict
    n_rows: int
    examples: list  # ExamplePair, the shard's first ``asked examples`` pairs
    calib_images: list
    calib_masks: list
    calib_real: dict  # statistic -> (k,) real values of the calibration rows
    asked: tuple  # (examples, calibration rows) this shard was asked to keep
    seconds: float
    worker: str = ""
    pid: int = 0
    peak_rss: int = 0  # bytes, of the process that ran it (its high-water mark so far)
    cached: bool = False
    mask_used: dict = field(default_factory=dict)
    mask_quality: dict = field(default_factory=dict)
    impact_sample: Any = None  # the shard's first rows for the model-impact sample


def shard_output(index: int, run: ShardRun, asked: tuple, worker: str = "") -> ShardOutput:
    calib = run.calib
    real: dict = {}
    if calib is not None and calib._real:
        keys = set.intersection(*(set(r) for r in calib._real))
        real = {k: np.concatenate([np.asarray(r[k]) for r in calib._real]) for k in sorted(keys)}
    return ShardOutput(
        index=index, acc=run.acc, skipped=run.skipped, notes=run.notes, mask_counts=run.mask_counts,
        n_rows=run.n_rows, examples=list(run.kept), calib_images=list(calib.images) if calib else [],
        calib_masks=list(calib.masks) if calib else [], calib_real=real, asked=tuple(asked),
        seconds=run.seconds, worker=worker, pid=os.getpid(), peak_rss=peak_rss(),
        mask_used=run.mask_used, mask_quality=run.mask_quality, impact_sample=run.impact_sample,
    )  # fmt: skip


def peak_rss() -> int:
    """Peak resident memory of this process in bytes, 0 where unknown.

    ``VmHWM`` on Linux: ``ru_maxrss`` keeps the forking parent's high-water mark across ``exec``,
    so a spawned worker would report its parent's peak whenever that is larger.
    """
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        import resource
        import sys

        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return int(rss if sys.platform == "darwin" else rss * 1024)
    except (ImportError, OSError):  # pragma: no cover
        return 0


@dataclass(frozen=True)
class StreamSpec:
    """Everything a shard's stream needs besides its rows; plain data, sent to Dask workers."""

    model_path: str
    model_sha256: str | None
    safe_mode: bool
    layers: tuple
    model_size: tuple
    analysis_size: tuple
    preprocess: Any
    batch_size: int
    workers: int
    sample_cap: int
    seed: int
    canny: tuple
    mask_policy: str | None = None
    boxes: Mapping | None = None
    channels: int | None = None
    impact_pairs: int = 0


def execute_shard(spec: StreamSpec, shard: Shard, asked: tuple, tapper: Any, reducer: Any, worker: str = "") -> ShardOutput:
    """Run one shard's stream with a ready Tapper."""
    run = run_stream(
        shard.pairset, tapper=tapper, reducer=reducer, model_size=spec.model_size, analysis_size=spec.analysis_size,
        preprocess=spec.preprocess, batch_size=spec.batch_size, workers=spec.workers, sample_cap=spec.sample_cap,
        seed=spec.seed, examples=asked[0], calibration_pairs=asked[1], canny=spec.canny,
        mask_policy=spec.mask_policy, boxes=spec.boxes, channels=spec.channels,
        impact_pairs=spec.impact_pairs,
    )  # fmt: skip
    return shard_output(shard.index, run, asked, worker)


# ------------------------------------------------------------------------------------- sharded run


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


def _first_rows(outputs: Sequence[ShardOutput], examples: int, calibration: int, sampler: Any) -> list:
    """The first ``examples`` example pairs; fills ``sampler`` with the first calibration rows."""
    kept: list = []
    for out in outputs:
        kept.extend(out.examples[: max(examples - len(kept), 0)])
        take = min(sampler.size - len(sampler.images), len(out.calib_images))
        if take > 0:
            sampler.images.extend(out.calib_images[:take])
            sampler.masks.extend(out.calib_masks[:take])
            sampler._real.append({k: np.asarray(v)[:take] for k, v in out.calib_real.items()})
    return kept


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
    from gapviz import inputs
    from gapviz.comparison import _CalibrationSampler

    start = time.perf_counter()
    batch_size = int(spec_args["batch_size"])
    analysis_size = inputs.resolve_analysis_size(pairset, spec_args.get("analysis_size"), spec_args["model_size"])
    canny, canny_source = first_batch_canny(pairset, model_size=spec_args["model_size"], analysis_size=analysis_size,
                                            batch_size=batch_size, workers=spec_args["workers"])  # fmt: skip
    spec = StreamSpec(**{**spec_args, "analysis_size": analysis_size, "canny": canny})
    shards = plan_shards(pairset, batch_size=batch_size, shard_size=DEFAULT_SHARD_SIZE if shard_size is None else shard_size)
    calibration = calibration_pairs if pairset.paired else 0
    asks = _asks(shards, examples, calibration)
    outputs: list[ShardOutput | None] = [None] * len(shards)

    store = None
    rejected: list[dict] = []
    merger = TreeMerge()
    if cache is not None:
        from gapviz._shard_cache import ShardCache

        store = ShardCache(cache, {**dict(cache_key or {}), "analysis_size": list(analysis_size), "canny": canny})
        for shard in shards:
            out, reason = store.load(shard, asks[shard.index])
            if out is not None:
                merger.add(out.acc)
                out.acc = None
                outputs[shard.index] = out
                if bar is not None:
                    bar.update(out.n_rows)
            elif reason:
                rejected.append({"shard": shard.index, "reason": reason})

    if cluster is not None:
        from gapviz._dask import DaskRunner

        runner: Any = DaskRunner(cluster, spec)
    else:
        runner = _LocalRunner(spec, tapper, reducer)
    computed: list[int] = []
    recomputed_for_extras: list[int] = []
    ahead_box: dict = {}

    def done(out: ShardOutput) -> None:
        previous = outputs[out.index]
        if store is not None:
            store.save(shards[out.index], out)
        if previous is None:  # a rerun for the first rows' extras brings the same accumulator again
            merger.add(out.acc)
        out.acc = None  # the driver keeps O(log shards) merged accumulators, not one per shard
        outputs[out.index] = out
        if bar is not None and previous is None:
            bar.update(out.n_rows)
        _maybe_begin_calibration(outputs, shards, calibration, canny, spec.seed, cleanup, guess, ahead_box, merger)

    with contextlib.ExitStack() as started:  # the cluster starts only if some shard is left to compute
        entered: list[bool] = []

        def run(todo: list) -> None:
            if todo and not entered:
                started.enter_context(runner)
                entered.append(True)
            runner.run(todo, done)

        _maybe_begin_calibration(outputs, shards, calibration, canny, spec.seed, cleanup, guess, ahead_box, merger)
        todo = [(shards[i], asks[i]) for i in range(len(shards)) if outputs[i] is None]
        computed.extend(s.index for s, _ in todo)
        run(todo)
        while True:  # earlier shards skipped files: a later shard holds some of the first rows
            more = _needed(outputs, shards, examples, calibration)
            if not more:
                break
            recomputed_for_extras.extend(more)
            run([(shards[i], ask) for i, ask in more.items()])
        info = runner.describe()

    finished = [out for out in outputs if out is not None]
    acc = merger.result()
    if acc is None:
        from gapviz import stats

        acc = stats.PairAccumulator(layers=tapper.layers, cap=spec.sample_cap, seed=spec.seed, paired=pairset.paired)
    sampler = _CalibrationSampler(calibration)
    kept = _first_rows(finished, examples, calibration, sampler)
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
    execution = {
        **info,
        "shards": len(shards),
        "shard_size": -(-int(DEFAULT_SHARD_SIZE if shard_size is None else shard_size) // batch_size) * batch_size,
        "shards_computed": len(computed),
        "shards_from_cache": len(shards) - len(computed),
        "shards_rerun_for_examples": len(recomputed_for_extras),
        "cache": None if store is None else {"dir": os.fspath(store.folder), "rejected": rejected},
        "wall_seconds": time.perf_counter() - start,
        "shard_times": [
            {"shard": o.index, "rows": o.n_rows, "seconds": round(o.seconds, 4), "worker": o.worker, "pid": o.pid,
             "peak_rss_mb": round(o.peak_rss / 2**20, 1), "from_cache": o.cached}
            for o in finished
        ],  # fmt: skip
    }
    return ShardRun(
        acc=acc,
        skipped=[s for out in finished for s in out.skipped],
        notes=[n for out in finished for n in out.notes],
        mask_counts=mask_counts,
        analysis_size=tuple(analysis_size),
        kept=kept,
        calib=sampler,
        ahead=ahead_box.get("ahead"),
        canny=canny,
        canny_source=canny_source,
        n_rows=sum(out.n_rows for out in finished),
        seconds=time.perf_counter() - start,
        execution=execution,
        mask_used=mask_used,
        mask_quality=mask_quality,
        impact_sample=_impact_sample(finished, spec.impact_pairs),
    )


def _impact_sample(outputs: Sequence[ShardOutput], size: int) -> Any:
    """The first ``size`` pairs of the run, from the leading shards' samples (each keeps its first rows)."""
    if not size:
        return None
    from gapviz.impact import ImpactSample

    sample = ImpactSample(size=size)
    for out in sorted(outputs, key=lambda o: o.index):
        if len(sample) >= size:
            break
        if out.impact_sample is None:
            break
        sample.extend(out.impact_sample)
    return sample


def _maybe_begin_calibration(outputs, shards, calibration, canny, seed, cleanup, guess, box, merger) -> None:
    """Start the background calibration once the leading shards hold the whole sample.

    Its result does not depend on when it starts or which knob set it fits first
    (`BackgroundCalibration.result` fits the final set), so this only moves work off the end.
    """
    if not calibration or "ahead" in box or canny is None:
        return
    from gapviz.comparison import _CalibrationSampler, _measure

    leading = []
    rows = 0
    for shard, out in zip(shards, outputs, strict=True):
        if shard.side != "pair":
            continue
        if out is None:
            return
        leading.append(out)
        rows += min(len(out.calib_images), out.n_rows)
        if rows >= calibration:
            break
        if out.n_rows > len(out.calib_images):
            return  # this shard has more usable rows than it kept: the sample is not known yet
    sampler = _CalibrationSampler(calibration)
    _first_rows(leading, 0, calibration, sampler)
    sample = sampler.build()
    if sample is None:
        return
    from gapviz.recommend import BackgroundCalibration
    from gapviz.scenes._post import FinishedImage

    ahead = cleanup.enter_context(
        BackgroundCalibration(measure=_measure(canny), prepare=FinishedImage, seed=seed, initializer=yield_to_model)
    )
    # the expected knob set from every pair merged so far (only which fit starts first depends on it)
    knobs = guess(merger.result().pair_values()) if guess is not None else ()
    ahead.begin(sample, knobs)
    box["ahead"] = ahead


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
