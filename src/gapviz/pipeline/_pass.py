"""`compare`'s second phase: the one pass over the pairs, in one stream or as shards.

A plain run streams the whole pair set once (`gapviz.pipeline._stream.run_stream`); with
``cluster=`` or ``cache=`` the pairs run as shards (`gapviz.pipeline._shards.run_sharded`), with
the same numbers. Either way the phase hands back one `ShardRun`.
"""

from __future__ import annotations

import contextlib
from typing import Any

from gapviz._errors import GapvizError
from gapviz._version import __version__
from gapviz.pipeline._setup import Setup, progress
from gapviz.pipeline._shards import run_sharded
from gapviz.pipeline._stream import ShardRun, run_stream
from gapviz.stats import REGISTRY

__all__ = ["stream"]


def _shard_spec(setup: Setup) -> dict:
    """The `gapviz.pipeline._shard.StreamSpec` fields of a sharded run (analysis size and Canny come later)."""
    o, path = setup.opts, setup.source.path
    if o.cluster is not None and path is None:
        raise GapvizError(
            "cluster= needs the model as a file that the workers load themselves; save it first "
            "(model.save('model.keras')) and pass the path"
        )
    if o.cluster is not None and not isinstance(o.preprocess, str):
        raise GapvizError("cluster= needs a named preprocess ('unit', 'caffe', 'tf', 'torch', 'raw'), not a callable")
    analysis_size = setup.analysis_size
    return {
        "model_path": path, "model_sha256": setup.source.sha256, "safe_mode": o.safe_mode,
        "layers": tuple(setup.tapper.layers), "model_size": tuple(setup.model_size),
        "analysis_size": tuple(analysis_size) if analysis_size is not None else None, "preprocess": o.preprocess,
        "batch_size": int(o.batch_size), "workers": int(o.workers), "sample_cap": int(o.sample_cap),
        "seed": int(o.seed), "mask_policy": setup.policy, "boxes": setup.box_tables, "channels": setup.channels,
        "impact_pairs": int(setup.impact_size),
    }  # fmt: skip


def _cache_key(setup: Setup) -> dict:
    """What a cached shard state must have been computed with (besides its files)."""
    o = setup.opts
    if setup.source.sha256 is None:
        raise GapvizError("cache= needs the model as a file (its sha256 keys the cache); pass the model's path")
    if setup.pre_name.startswith("callable:"):
        raise GapvizError("cache= needs a named preprocess ('unit', 'caffe', 'tf', 'torch', 'raw'), not a callable")
    return {
        "gapviz": __version__, "model_sha256": setup.source.sha256, "layers": list(setup.tapper.layers),
        "tap_mode": setup.tapper.mode, "model_size": list(setup.model_size), "preprocess": setup.pre_name,
        "batch_size": int(o.batch_size), "sample_cap": int(o.sample_cap), "seed": int(o.seed),
        "paired": bool(setup.paired), "safe_mode": bool(o.safe_mode), "mask_policy": setup.policy,
        "channels": setup.channels,
        # the statistics a state holds: a state written by code with other statistics is not reused
        "statistics": REGISTRY.outputs(),
    }  # fmt: skip


def _run(setup: Setup, cleanup: contextlib.ExitStack, bar: Any) -> ShardRun:
    o = setup.opts
    if o.cluster is None and o.cache is None:
        run = run_stream(
            setup.pairset, tapper=setup.tapper, reducer=setup.reducer, model_size=setup.model_size,
            analysis_size=setup.analysis_size, preprocess=o.preprocess, batch_size=o.batch_size, workers=o.workers,
            sample_cap=o.sample_cap, seed=o.seed, examples=o.examples, calibration_pairs=setup.calibration_size,
            cleanup=cleanup, guess=setup.guess, bar=bar, mask_policy=setup.policy, boxes=setup.box_tables,
            channels=setup.channels, impact_pairs=setup.impact_size,
        )  # fmt: skip
        # no timings here but the phases' (``execution["timings"]``, excluded where runs are compared)
        run.execution = {"mode": "one process", "workers": 1, "shards": 1}
        return run
    return run_sharded(
        setup.pairset, spec_args=_shard_spec(setup), tapper=setup.tapper, reducer=setup.reducer,
        shard_size=o.shard_size, cluster=o.cluster, cache=o.cache,
        cache_key=_cache_key(setup) if o.cache is not None else None, examples=o.examples,
        calibration_pairs=setup.calibration_size, cleanup=cleanup, guess=setup.guess, bar=bar,
    )  # fmt: skip


def stream(setup: Setup, cleanup: contextlib.ExitStack) -> ShardRun:
    """The pass, with its progress bar; ``cleanup`` (closed here on failure) holds the background calibration."""
    pairset = setup.pairset
    total = len(pairset.pairs) if setup.paired else len(pairset.real_items) + len(pairset.synth_items)
    bar = progress(total, setup.opts.progress, "pairs" if setup.paired else "images")
    try:
        run = _run(setup, cleanup, bar)
    except BaseException:
        bar.close()
        cleanup.close()
        raise
    bar.close()
    return run
