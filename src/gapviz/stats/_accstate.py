"""A `PairAccumulator` as plain arrays and JSON, and back (no pickle anywhere).

`accumulator_arrays` returns ``(meta, arrays)``: ``meta`` is JSON-serialisable (configuration
and the table of contents), ``arrays`` maps names to numeric or unicode numpy arrays, so the pair
can be written with ``numpy.savez`` and read with ``numpy.load(..., allow_pickle=False)``.
`accumulator_from_arrays` rebuilds an accumulator that finalises, and merges, exactly like the
original: every (section, side) is stored as one chunk (what `PairAccumulator._column` joins
anyway, with the same NaN for a statistic a batch did not have), each vector sample as its
joined rows.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from gapviz._errors import GapvizError
from gapviz.stats.accumulate import PairAccumulator, _Sample

#: bump when the layout below changes; older files are then recomputed, never misread
STATE_VERSION = 1


def _ids_array(ids: np.ndarray) -> np.ndarray:
    return ids.astype(np.int64) if ids.dtype.kind in "iu" else ids.astype(str)


def accumulator_arrays(acc: PairAccumulator, prefix: str = "acc") -> tuple[dict, dict[str, np.ndarray]]:
    """The accumulator's whole state as ``(meta, arrays)``; see the module docstring."""
    arrays: dict[str, np.ndarray] = {}
    chunks = []
    for n, ((section, side), parts) in enumerate(acc._chunks.items()):
        if not parts:
            continue
        ids = np.concatenate([i for i, _ in parts]) if parts else np.zeros(0, np.int64)
        keys = list(dict.fromkeys(k for _, cols in parts for k in cols))
        arrays[f"{prefix}.c{n}.ids"] = _ids_array(ids)
        for j, key in enumerate(keys):
            arrays[f"{prefix}.c{n}.v{j}"] = np.concatenate([c.get(key, np.full(i.size, np.nan)) for i, c in parts])
        chunks.append({"n": n, "section": list(section), "side": side, "keys": keys})
    samples = []
    for n, ((layer, side), sample) in enumerate(acc._samples.items()):
        ids, prio, finite, vectors = sample._joined()
        arrays[f"{prefix}.s{n}.ids"] = _ids_array(ids)
        arrays[f"{prefix}.s{n}.prio"] = np.asarray(prio, np.uint64)
        arrays[f"{prefix}.s{n}.finite"] = np.asarray(finite, bool)
        keys = list(vectors)
        for j, key in enumerate(keys):
            arrays[f"{prefix}.s{n}.v{j}"] = np.asarray(vectors[key], np.float32)
        samples.append({"n": n, "layer": layer, "side": side, "keys": keys, "declared": sorted(sample._keys or ())})
    maxima = []
    for n, ((layer, side), value) in enumerate(acc._channel_max.items()):
        arrays[f"{prefix}.m{n}"] = np.asarray(value, np.float64)
        maxima.append({"n": n, "layer": layer, "side": side})
    counts = []
    for n, ((layer, side), value) in enumerate(acc._counts.items()):
        arrays[f"{prefix}.k{n}"] = np.asarray(value, np.int64)
        counts.append({"n": n, "layer": layer, "side": side})
    meta = {
        "version": STATE_VERSION,
        "config": {"layers": list(acc.layers), "cap": acc.cap, "seed": acc.seed, "paired": acc.paired,
                   "dead_atol": acc.dead_atol},  # fmt: skip
        "chunks": chunks,
        "samples": samples,
        "channel_max": maxima,
        "counts": counts,
    }
    return meta, arrays


def accumulator_from_arrays(meta: Mapping, arrays: Mapping[str, np.ndarray], prefix: str = "acc") -> PairAccumulator:
    """The accumulator saved by `accumulator_arrays` (raises GapvizError on a malformed state)."""
    try:
        if meta["version"] != STATE_VERSION:
            raise GapvizError(f"accumulator state version {meta['version']!r}, expected {STATE_VERSION}")
        cfg = meta["config"]
        acc = PairAccumulator(layers=cfg["layers"], cap=cfg["cap"], seed=cfg["seed"], paired=cfg["paired"],
                              dead_atol=cfg["dead_atol"])  # fmt: skip
        for c in meta["chunks"]:
            ids = np.asarray(arrays[f"{prefix}.c{c['n']}.ids"])
            cols = {key: np.asarray(arrays[f"{prefix}.c{c['n']}.v{j}"], np.float64) for j, key in enumerate(c["keys"])}
            section = tuple(c["section"])
            acc._chunks.setdefault((section, c["side"]), []).append((ids, cols))
        for s in meta["samples"]:
            n = s["n"]
            sample = _Sample(acc.cap)
            vectors = {key: np.asarray(arrays[f"{prefix}.s{n}.v{j}"]) for j, key in enumerate(s["keys"])}
            sample._keys = set(s["declared"]) if s["declared"] else set(vectors)
            ids = np.asarray(arrays[f"{prefix}.s{n}.ids"])
            if len(ids):
                sample._parts.append((ids, np.asarray(arrays[f"{prefix}.s{n}.prio"]),
                                      np.asarray(arrays[f"{prefix}.s{n}.finite"], bool), vectors))  # fmt: skip
                sample._rows = len(ids)
            acc._samples[(s["layer"], s["side"])] = sample
        for m in meta["channel_max"]:
            acc._channel_max[(m["layer"], m["side"])] = np.asarray(arrays[f"{prefix}.m{m['n']}"], np.float64)
        for k in meta["counts"]:
            acc._counts[(k["layer"], k["side"])] = np.asarray(arrays[f"{prefix}.k{k['n']}"], np.int64)
    except (KeyError, TypeError, ValueError) as exc:
        raise GapvizError(f"malformed accumulator state ({type(exc).__name__}: {exc})") from None
    return acc
