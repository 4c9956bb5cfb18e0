"""One shard: the plan that cuts the pairs into shards, what a shard needs, and what it hands back.

A *shard* is a run of consecutive pairs (or, unpaired, items of one side) whose boundaries fall
on batch boundaries of the one-process pass, so every forward pass sees the same rows as it
would in one process. `execute_shard` runs one shard's stream (`gapviz.pipeline._stream`) with a
ready Tapper, in this process or in a Dask worker (`gapviz.pipeline._dask`); everything here is
plain data that travels to workers and into the shard cache (`gapviz.pipeline._cache`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from gapviz._checks import argument_error, check_int, is_int
from gapviz.inputs import iter_batches
from gapviz.pipeline._stream import ShardRun, first_canny, run_stream
from gapviz.stats import Canny

__all__ = ["Shard", "ShardOutput", "StreamSpec", "check_options", "execute_shard", "first_batch_canny",
           "peak_rss", "plan_shards", "shard_output", "shard_rows"]  # fmt: skip

#: pairs per shard when ``shard_size`` is not given (rounded up to whole batches)
DEFAULT_SHARD_SIZE = 256


def check_options(cluster: Any, shard_size: Any) -> None:
    """One clear error for a wrong ``cluster`` or ``shard_size`` before anything runs."""
    if shard_size is not None:
        check_int("shard_size", shard_size, low=1)
    if cluster is None or isinstance(cluster, str):
        return
    if is_int(cluster):
        if cluster < 1:
            raise argument_error("cluster", "a worker count >= 1", cluster)
        return
    if type(cluster).__name__ != "Client":
        raise argument_error("cluster", "a worker count, a scheduler address or a dask.distributed.Client",
                             f"<{type(cluster).__name__}>")  # fmt: skip


@dataclass(frozen=True)
class Shard:
    """One shard of the plan: its place, side, and the sub-`PairSet` holding only its rows."""

    index: int
    side: str  # "pair", "real" or "synth"
    start: int  # position of its first row among the side's rows
    pairset: Any


def shard_rows(shard_size: int | None, batch_size: int) -> int:
    """Rows per shard: ``shard_size`` (default `DEFAULT_SHARD_SIZE`) rounded up to whole batches."""
    size = DEFAULT_SHARD_SIZE if shard_size is None else shard_size
    return -(-int(size) // batch_size) * batch_size


def plan_shards(pairset: Any, *, batch_size: int, shard_size: int) -> list[Shard]:
    """Consecutive shards of about ``shard_size`` rows, cut on batch boundaries.

    ``shard_size`` is rounded up to a whole number of batches, so the batches of every shard
    are batches of the one-process pass (same rows in each forward pass, same numbers). Unpaired
    sets get shards of real items, then shards of synthetic items, as the pass streams them.
    """
    rows = shard_rows(check_int("shard_size", shard_size, low=1), batch_size)
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
    with iter_batches(pairset, model_size=model_size, analysis_size=analysis_size, batch_size=batch_size,
                             workers=workers, prefetch=1) as stream:  # fmt: skip
        batch = next(stream, None)
    if batch is None:
        return None, ""
    return first_canny(batch)


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
    return ShardOutput(
        index=index, acc=run.acc, skipped=run.skipped, notes=run.notes, mask_counts=run.mask_counts,
        n_rows=run.n_rows, examples=run.kept, calib_images=list(calib.images) if calib else [],
        calib_masks=list(calib.masks) if calib else [], calib_real=calib.real_values() if calib else {},
        asked=tuple(asked), seconds=run.seconds, worker=worker, pid=os.getpid(), peak_rss=peak_rss(),
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
    canny: Canny
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
