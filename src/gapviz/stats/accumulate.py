"""Mergeable accumulation of per-pair statistics over a streaming pass.

:class:`PairAccumulator` keeps

* the per-pair scalars (image statistics, per-layer scalars such as ``background_ratio``), by
  pair id and side: O(pairs x scalars) memory;
* per layer and side, a capped sample of the vectors (``gap``, ``pooled``) for CKA and KID;
* per layer and side, the running maximum ``|activation|`` per channel (``dead_fraction``) and
  image counts.

The vector sample is a *bottom-k sample by hash*: each pair id gets a pseudo-random priority
``hash(seed, id)`` and the ``cap`` pairs of lowest priority are kept. That is a uniform random
sample of the pairs (unlike "the first N", which follows the input order, e.g. files sorted by
wear), it is the same for real and synthetic sides (the priority depends on the id only, so the
kept rows stay paired), and it is exactly mergeable: the ``cap`` lowest of a union is the ``cap``
lowest of the two parts' ``cap`` lowest, so merging accumulators of any split of the pairs gives
the same sample as one pass, for any number of pairs. :meth:`PairAccumulator.finalize` orders all
data by pair id (scalars) or priority (samples) before computing, so results never depend on the
order in which batches or accumulators arrived.

Pair ids are the caller's: integers (e.g. the index of the pair in the sorted pair list) or
strings (e.g. the file stem). An id may appear once per section and side; merging two
accumulators that saw the same pair is an error.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np

from gapviz._checks import check_choice, check_int
from gapviz._errors import GapvizError
from gapviz.stats.decay import decay_slope
from gapviz.stats.inference import SetStat, Stat, derive_seed, json_float, paired_stat, unpaired_stat
from gapviz.stats.similarity import cka_stat, kid_stat, set_stat

#: set statistics per layer: JSON key -> (statistic, vector it is computed on)
SET_STATS: dict[str, tuple[str, str]] = {
    "cka_gap": ("cka", "gap"),
    "cka_pooled": ("cka", "pooled"),
    "kid": ("kid", "gap"),
}
SIDES = ("real", "synth")
_IMAGE = ("image",)
DEFAULT_CAP = 500


def _splitmix64(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        z = x.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def _as_ids(pair_ids) -> np.ndarray:
    ids = np.asarray(pair_ids)
    if ids.ndim != 1:
        raise GapvizError(f"Argument 'pair_ids' must be a 1-D sequence of ids but got shape {ids.shape}")
    if ids.dtype.kind in "iu":
        return ids.astype(np.int64)
    if ids.dtype.kind in "UO" and all(isinstance(i, str) for i in ids.tolist()):
        return ids.astype(str)
    raise GapvizError(f"Argument 'pair_ids' must hold integers or strings but got dtype {ids.dtype}")


def _priority(ids: np.ndarray, seed: int) -> np.ndarray:
    if ids.dtype.kind == "i":
        salt = _splitmix64(np.array([seed], dtype=np.int64))[0]
        return _splitmix64(ids.view(np.uint64) ^ salt)
    return np.array(
        [
            int.from_bytes(hashlib.blake2b(f"{seed}\x00{i}".encode(), digest_size=8).digest(), "little")
            for i in ids.tolist()
        ],
        dtype=np.uint64,
    )


def _concat_ids(parts: Sequence[np.ndarray]) -> np.ndarray:
    kinds = {p.dtype.kind for p in parts if p.size}
    if len(kinds) > 1:
        raise GapvizError("pair ids must be all integers or all strings, not a mix")
    return np.concatenate(parts) if parts else np.zeros(0, np.int64)


def _by_priority(sample: _Sample) -> np.ndarray:
    """Indices of the sample's finite rows in (priority, id) order: the same for any batch order."""
    rows = np.flatnonzero(sample.finite)
    return rows[np.lexsort((sample.ids[rows], sample.prio[rows]))]


class _Sample:
    """Bottom-``cap`` rows by priority: ids, priorities, finiteness and vectors.

    Batches are kept as a list of parts and joined only when the rows are read or pruned (at
    most ``2 * cap`` rows are held), so adding a batch never copies the rows already held.
    """

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self._parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]] = []
        self._rows = 0
        self._keys: set[str] | None = None

    def add(self, ids, prio, finite, vectors: Mapping[str, np.ndarray]) -> None:
        if self._keys is not None and set(vectors) != self._keys:
            raise GapvizError(
                f"each batch must carry the same vectors; had {sorted(self._keys)}, got {sorted(vectors)}"
            )
        self._keys = set(vectors)
        if len(ids) == 0:
            return
        vecs = {k: np.asarray(v, dtype=np.float32).reshape(len(ids), -1) for k, v in vectors.items()}
        self._parts.append((np.asarray(ids), np.asarray(prio), np.asarray(finite, bool), vecs))
        self._rows += len(ids)
        if self._rows > 2 * self.cap:  # amortised pruning
            self.prune()

    def _joined(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        if len(self._parts) != 1:
            if not self._parts:
                return np.zeros(0, np.int64), np.zeros(0, np.uint64), np.zeros(0, bool), {}
            ids = _concat_ids([p[0] for p in self._parts])
            prio = np.concatenate([p[1] for p in self._parts])
            finite = np.concatenate([p[2] for p in self._parts])
            vectors = {k: np.concatenate([p[3][k] for p in self._parts]) for k in self._parts[0][3]}
            self._parts = [(ids, prio, finite, vectors)]
        return self._parts[0]

    ids = property(lambda self: self._joined()[0])
    prio = property(lambda self: self._joined()[1])
    finite = property(lambda self: self._joined()[2])
    vectors = property(lambda self: self._joined()[3])

    def prune(self) -> _Sample:
        ids, prio, finite, vectors = self._joined()
        if len(prio) > self.cap:
            order = np.lexsort((ids, prio))[: self.cap]  # priority, ties by id
            self._parts = [(ids[order], prio[order], finite[order], {k: v[order] for k, v in vectors.items()})]
            self._rows = self.cap
        return self

    def merged(self, other: _Sample) -> _Sample:
        out = _Sample(self.cap)
        for part in (self, other):
            for ids, prio, finite, vectors in part._parts:
                out.add(ids, prio, finite, vectors)
        return out.prune()

    @property
    def nbytes(self) -> int:
        return sum(
            ids.nbytes + prio.nbytes + finite.nbytes + sum(v.nbytes for v in vectors.values())
            for ids, prio, finite, vectors in self._parts
        )


class PairAccumulator:
    """Accumulates per-pair statistics batch by batch; mergeable; finalises to the JSON shapes.

    Parameters
    ----------
    layers : sequence of str
        Tapped layer names, shallowest first (the order of the decay slope).
    cap : int, default 500
        Pairs kept in the per-layer vector sample for CKA and KID. Memory is about
        ``cap * 4 bytes * (C + p*p*C)`` per layer and side.
    seed : int, default 0
        Seeds the sample's priorities and, by default, :meth:`finalize`.
    paired : bool, default True
        Real and synthetic images come in pairs sharing an id. If False, each side is its own
        set (ids need not match): statistics are unpaired and CKA is not computed.
    dead_atol : float, default 0.0
        A channel is dead if its running max ``|activation|`` is ``<= dead_atol`` on every image.

    Examples
    --------
    >>> acc = PairAccumulator(layers=["conv1"])
    >>> acc.add_images([0, 1, 2, 3], {"real": {"brightness": [0.5, 0.4, 0.6, 0.5]},
    ...                               "synth": {"brightness": [0.6, 0.5, 0.7, 0.6]}})
    >>> out = acc.finalize(n_boot=100)
    >>> round(out["image_stats"]["brightness"]["diff"], 6)
    0.1
    """

    def __init__(
        self,
        *,
        layers: Sequence[str] = (),
        cap: int = DEFAULT_CAP,
        seed: int = 0,
        paired: bool = True,
        dead_atol: float = 0.0,
    ) -> None:
        cap = check_int("cap", cap, low=4)
        self.layers = tuple(layers)
        if len(set(self.layers)) != len(self.layers):
            raise GapvizError(f"Argument 'layers' must not repeat a name but got {list(self.layers)}")
        self.cap = int(cap)
        self.seed = int(seed)
        self.paired = bool(paired)
        self.dead_atol = float(dead_atol)
        self.vectors = tuple(dict.fromkeys(v for _, v in SET_STATS.values()))
        # (section, side) -> list of (ids, {key: values}); section = ("image",) or ("layer", name)
        self._chunks: dict[tuple, list[tuple[np.ndarray, dict[str, np.ndarray]]]] = {}
        self._samples: dict[tuple[str, str], _Sample] = {}
        self._channel_max: dict[tuple[str, str], np.ndarray] = {}
        self._counts: dict[tuple[str, str], np.ndarray] = {}  # [images, non-finite images]

    # ------------------------------------------------------------------ adding

    def _config(self) -> tuple:
        return (self.layers, self.cap, self.seed, self.paired, self.dead_atol, self.vectors)

    def _add_chunk(self, section: tuple, side: str, ids: np.ndarray, values: Mapping) -> None:
        cols = {}
        for key, v in values.items():
            a = np.asarray(v, dtype=np.float64).reshape(-1)
            if a.shape != ids.shape:
                raise GapvizError(
                    f"statistic {key!r} ({side}) has {a.size} values for a batch of {ids.size} pair ids"
                )
            cols[str(key)] = a
        self._chunks.setdefault((section, side), []).append((ids, cols))

    def add_images(self, pair_ids, stats: Mapping[str, Mapping]) -> None:
        """Add one batch of image statistics.

        Parameters
        ----------
        pair_ids : sequence of int or str (B,)
        stats : dict
            ``{"real": {key: (B,)}, "synth": {key: (B,)}, "pair": {key: (B,)}}``, any subset of
            the sides (e.g. :func:`gapviz.stats.image_stats_pairs`'s output). ``"pair"``
            statistics (edge agreement) belong to the pair, not to a side.
        """
        ids = _as_ids(pair_ids)
        unknown = set(stats) - {"real", "synth", "pair"}
        if unknown:
            raise GapvizError(
                f"Argument 'stats' must have keys among real, synth, pair but got {sorted(unknown)}"
            )
        for side, values in stats.items():
            self._add_chunk(_IMAGE, side, ids, values)

    def add_layer(
        self, layer: str, pair_ids, *, real: Mapping | None = None, synth: Mapping | None = None
    ) -> None:
        """Add one batch of a layer's reducer outputs (see :mod:`gapviz.stats.layer`).

        Parameters
        ----------
        layer : str
            One of ``layers``.
        pair_ids : sequence of int or str (B,)
        real, synth : dict of str to array, optional
            The reducer's outputs for the batch's real / synthetic images (numpy arrays or
            tensors). 1-D float outputs are per-pair scalars; ``gap``/``pooled`` feed the
            sample; ``channel_max`` the dead-channel count; ``finite`` marks the images whose
            outputs are used (the others count as non-finite and their scalars as NaN).
        """
        if layer not in self.layers:
            raise GapvizError(f"unknown layer {layer!r}; this accumulator has layers {list(self.layers)}")
        ids = _as_ids(pair_ids)
        prio = _priority(ids, self.seed)
        for side, out in (("real", real), ("synth", synth)):
            if out is None:
                continue
            out = {k: np.asarray(v) for k, v in out.items()}
            finite = out.get("finite")
            finite = np.ones(ids.size, bool) if finite is None else finite.astype(bool).reshape(-1)
            if finite.shape != ids.shape:
                raise GapvizError(
                    f"layer {layer!r} ({side}): 'finite' has {finite.size} values for {ids.size} ids"
                )
            scalars = {
                k: np.where(finite, v.astype(np.float64), np.nan)
                for k, v in out.items()
                if k != "finite" and v.ndim == 1 and v.dtype.kind == "f"
            }
            self._add_chunk(("layer", layer), side, ids, scalars)
            vectors = {k: out[k] for k in self.vectors if k in out}
            if vectors:
                self._samples.setdefault((layer, side), _Sample(self.cap)).add(ids, prio, finite, vectors)
            if "channel_max" in out:
                cm = out["channel_max"].astype(np.float64).reshape(ids.size, -1)[finite]
                if cm.size:
                    batch_max = cm.max(axis=0)
                    old = self._channel_max.get((layer, side))
                    self._channel_max[(layer, side)] = batch_max if old is None else np.fmax(old, batch_max)
            counts = self._counts.setdefault((layer, side), np.zeros(2, np.int64))
            counts += (ids.size, int(np.count_nonzero(~finite)))

    # ------------------------------------------------------------------ merging

    def merge(self, other: PairAccumulator) -> PairAccumulator:
        """A new accumulator holding both; equal to one pass over both parts' batches.

        Raises
        ------
        GapvizError
            If the configurations differ or a pair id was added to both.
        """
        if not isinstance(other, PairAccumulator) or other._config() != self._config():
            raise GapvizError(
                "can only merge accumulators built with the same layers, cap, seed, paired and dead_atol"
            )
        out = PairAccumulator(
            layers=self.layers, cap=self.cap, seed=self.seed, paired=self.paired, dead_atol=self.dead_atol
        )
        for key in set(self._chunks) | set(other._chunks):
            a, b = self._chunks.get(key, []), other._chunks.get(key, [])
            if a and b:
                common = np.intersect1d(_concat_ids([i for i, _ in a]), _concat_ids([i for i, _ in b]))
                if common.size:
                    raise GapvizError(
                        f"cannot merge: pair id {common[0]!r} was added to both accumulators "
                        f"({' '.join(map(str, key[0]))}, {key[1]})"
                    )
            out._chunks[key] = a + b
        for key in set(self._samples) | set(other._samples):
            a, b = self._samples.get(key), other._samples.get(key)
            out._samples[key] = a.merged(b) if a and b else (a or b).merged(_Sample(self.cap))
        for key in set(self._channel_max) | set(other._channel_max):
            a, b = self._channel_max.get(key), other._channel_max.get(key)
            out._channel_max[key] = b if a is None else a if b is None else np.fmax(a, b)
        for key in set(self._counts) | set(other._counts):
            out._counts[key] = self._counts.get(key, np.zeros(2, np.int64)) + other._counts.get(
                key, np.zeros(2, np.int64)
            )
        return out

    # ------------------------------------------------------------------ reading

    def _column(self, section: tuple, side: str) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """All values of a (section, side), sorted by pair id; keys missing from a batch are NaN."""
        chunks = self._chunks.get((section, side), [])
        if not chunks:
            return np.zeros(0, np.int64), {}
        ids = _concat_ids([i for i, _ in chunks])
        keys = list(dict.fromkeys(k for _, cols in chunks for k in cols))
        cols = {k: np.concatenate([c.get(k, np.full(i.size, np.nan)) for i, c in chunks]) for k in keys}
        order = np.argsort(ids, kind="stable")
        ids = ids[order]
        dup = ids[1:][ids[1:] == ids[:-1]]
        if dup.size:
            raise GapvizError(
                f"pair id {dup[0]!r} was added more than once ({' '.join(map(str, section))}, {side})"
            )
        return ids, {k: v[order] for k, v in cols.items()}

    def side_values(self, side: str) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Pair ids and per-image statistics of one side (``"real"`` or ``"synth"``), sorted by id."""
        check_choice("side", side, SIDES)
        return self._column(_IMAGE, side)

    def pair_values(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Image statistic -> ``(real values, synth values)``.

        Paired: rows aligned by pair id (pairs seen on one side only are left out). Unpaired: each
        side's values, of different lengths. These feed the recommendation rules' tests.
        """
        r_ids, r_cols = self._column(_IMAGE, "real")
        s_ids, s_cols = self._column(_IMAGE, "synth")
        if self.paired:
            _, ir, is_ = np.intersect1d(r_ids, s_ids, assume_unique=True, return_indices=True)
            return {k: (r_cols[k][ir], s_cols[k][is_]) for k in r_cols if k in s_cols}
        return {k: (r_cols[k], s_cols[k]) for k in r_cols if k in s_cols}

    def pair_columns(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Every per-pair scalar held, one row per id (sorted), for :class:`gapviz.pairs.PairTable`.

        Returns
        -------
        ids : np.ndarray
            The sorted union of the ids of every section and side.
        columns : dict of str to np.ndarray
            ``"{key}.real"``, ``"{key}.synth"`` for image statistics, ``"{key}"`` for pair
            statistics (edge agreement), ``"{layer}/{key}.real"`` and ``.synth`` for the layer
            scalars; NaN where an id has no value (unpaired ids have one side only). The values
            are the ones already held for the bootstrap, so this adds one float64 per id and
            column, built once at the end of a pass.
        """
        parts = [i for chunks in self._chunks.values() for i, _ in chunks]
        union = np.unique(_concat_ids(parts)) if parts else np.zeros(0, np.int64)
        columns: dict[str, np.ndarray] = {}
        for section, prefix in [(_IMAGE, "")] + [(("layer", name), f"{name}/") for name in self.layers]:
            for side in ("real", "synth", "pair"):
                ids, values = self._column(section, side)
                if not ids.size:
                    continue
                where = np.searchsorted(union, ids)
                for key, v in values.items():
                    col = np.full(union.size, np.nan)
                    col[where] = v
                    columns[prefix + key + ("" if side == "pair" else f".{side}")] = col
        return union, columns

    @property
    def n_pairs(self) -> int:
        """Distinct pair ids seen so far, over all sections and sides."""
        parts = [i for chunks in self._chunks.values() for i, _ in chunks]
        return int(np.unique(_concat_ids(parts)).size) if parts else 0

    @property
    def nbytes(self) -> int:
        """Approximate memory held (scalars, samples and channel maxima), in bytes."""
        scalars = sum(
            i.nbytes + sum(v.nbytes for v in c.values()) for ch in self._chunks.values() for i, c in ch
        )
        return (
            scalars
            + sum(s.nbytes for s in self._samples.values())
            + sum(v.nbytes for v in self._channel_max.values())
        )

    def __repr__(self) -> str:
        return (
            f"PairAccumulator({self.n_pairs} pairs, {len(self.layers)} layers, cap={self.cap}, "
            f"seed={self.seed}, paired={self.paired})"
        )

    # ------------------------------------------------------------------ finalising

    def _side_stats(self, section: tuple, seed: int, n_boot: int, prefix: str) -> dict[str, Stat]:
        r_ids, r_cols = self._column(section, "real")
        s_ids, s_cols = self._column(section, "synth")
        out = {}
        if self.paired:
            common, ir, is_ = np.intersect1d(r_ids, s_ids, assume_unique=True, return_indices=True)
            unmatched = r_ids.size + s_ids.size - 2 * common.size
        for key in list(dict.fromkeys([*r_cols, *s_cols])):
            r = r_cols.get(key, np.full(r_ids.size, np.nan))
            s = s_cols.get(key, np.full(s_ids.size, np.nan))
            kseed = derive_seed(seed, prefix + key)
            if self.paired:
                stat = paired_stat(r[ir], s[is_], seed=kseed, n_boot=n_boot)
                stat = replace(stat, dropped=stat.dropped + int(unmatched))
            else:
                stat = unpaired_stat(r, s, seed=kseed, n_boot=n_boot)
            out[key] = stat
        p_ids, p_cols = self._column(section, "pair")
        for key, v in p_cols.items():
            # agreement of the synthetic with the real image; a real image agrees with itself (1)
            stat = paired_stat(np.ones_like(v), v, seed=derive_seed(seed, prefix + key), n_boot=n_boot)
            out[key] = replace(stat, noise_floor=None)
        return out

    def _set_stats(self, layer: str, seed: int, n_boot: int) -> dict[str, SetStat]:
        real, synth = self._samples.get((layer, "real")), self._samples.get((layer, "synth"))
        if real is not None and synth is not None:
            real, synth = real.prune(), synth.prune()  # the bottom-cap rows (dropping the rest changes no result)
        out = {}
        for key, (stat, vector) in SET_STATS.items():
            kseed = derive_seed(seed, f"layers.{layer}.{key}")
            if real is None or synth is None or vector not in real.vectors or vector not in synth.vectors:
                out[key] = set_stat(None, None, None, 0)
                continue
            if self.paired:
                _, ir, is_ = np.intersect1d(real.ids, synth.ids, assume_unique=True, return_indices=True)
                keep = real.finite[ir] & synth.finite[is_]
                ir, is_ = ir[keep], is_[keep]
                order = np.lexsort((real.ids[ir], real.prio[ir]))  # rows in priority order, as stored or not
                x, y = real.vectors[vector][ir[order]], synth.vectors[vector][is_[order]]
            else:
                x, y = (side.vectors[vector][_by_priority(side)] for side in (real, synth))
            if stat == "cka":
                out[key] = (
                    cka_stat(x, y, seed=kseed, n_boot=n_boot)
                    if self.paired
                    else set_stat(None, None, None, 0)
                )
            else:
                out[key] = kid_stat(x, y, seed=kseed, n_boot=n_boot, paired=self.paired)
        return out

    def _dead_fraction(self, layer: str, n: int) -> Stat:
        frac = {}
        for side in SIDES:
            cm = self._channel_max.get((layer, side))
            frac[side] = None if cm is None else float(np.mean(cm <= self.dead_atol))
        diff = None if None in frac.values() else frac["synth"] - frac["real"]
        return Stat(
            real=frac["real"], synth=frac["synth"], diff=json_float(diff), effect_size=None,
            ci95=(None, None), noise_floor=None, n=int(n), paired=self.paired, dropped=0,
        )  # fmt: skip

    def _decay(self, seed: int, n_boot: int) -> Stat:
        sides = {}
        all_ids = [self._column(("layer", layer), side)[0] for layer in self.layers for side in SIDES]
        union = np.unique(_concat_ids(all_ids)) if any(i.size for i in all_ids) else np.zeros(0, np.int64)
        for side in SIDES:
            mat = np.full((union.size, len(self.layers)), np.nan)
            for j, layer in enumerate(self.layers):
                ids, cols = self._column(("layer", layer), side)
                if "background_ratio" in cols:
                    mat[np.searchsorted(union, ids), j] = cols["background_ratio"]
            sides[side] = mat
        kseed = derive_seed(seed, "decay.background_ratio_slope")
        if self.paired:
            return paired_stat(
                decay_slope(sides["real"]), decay_slope(sides["synth"]), seed=kseed, n_boot=n_boot
            )
        return unpaired_stat(
            decay_slope(sides["real"]), decay_slope(sides["synth"]), seed=kseed, n_boot=n_boot
        )

    def finalize(self, *, seed: int | None = None, n_boot: int = 1000) -> dict:
        """Every statistic in its JSON shape.

        Parameters
        ----------
        seed : int, optional
            Seeds every bootstrap and half split (each statistic gets its own stream derived from
            the seed and its name); default: the accumulator's seed.
        n_boot : int, default 1000
            Bootstrap resamples.

        Returns
        -------
        dict
            ``{"n_pairs": int,
            "image_stats": {key: Stat},
            "layers": {layer: {"stats": {"background_ratio": Stat, "edge_sharpness": Stat,
            "energy_object": Stat, "energy_background": Stat, "dead_fraction": Stat,
            "cka_gap": SetStat, "cka_pooled": SetStat, "kid": SetStat},
            "nonfinite": {"real": int, "synth": int}, "images": {"real": int, "synth": int},
            "channels": int | None}},
            "decay": {"background_ratio_slope": Stat}}``.
            `gapviz.stats.inference.Stat` and ``SetStat``: typed, and read-only mappings of the
            JSON shapes of docs/architecture.md (``Stat`` also carries ``dropped``). ``dead_fraction`` is a whole-set count, so it has no CI or effect size.
            Pair statistics (``canny_edge_agreement``) are reported with ``real = 1`` (a real edge
            map agrees with itself) and no noise floor.
        """
        seed = self.seed if seed is None else int(seed)
        layers = {}
        for layer in self.layers:
            stats = self._side_stats(("layer", layer), seed, n_boot, f"layers.{layer}.")
            counts = {s: self._counts.get((layer, s), np.zeros(2, np.int64)) for s in SIDES}
            n_layer = max((st["n"] for st in stats.values()), default=0)
            stats["dead_fraction"] = self._dead_fraction(layer, n_layer)
            stats.update(self._set_stats(layer, seed, n_boot))
            cm = self._channel_max.get((layer, "real"), self._channel_max.get((layer, "synth")))
            layers[layer] = {
                "stats": stats,
                "nonfinite": {s: int(counts[s][1]) for s in SIDES},
                "images": {s: int(counts[s][0]) for s in SIDES},
                "channels": None if cm is None else int(cm.size),
            }
        return {
            "n_pairs": self.n_pairs,
            "image_stats": self._side_stats(_IMAGE, seed, n_boot, "image_stats."),
            "layers": layers,
            "decay": {"background_ratio_slope": self._decay(seed, n_boot)},
        }
