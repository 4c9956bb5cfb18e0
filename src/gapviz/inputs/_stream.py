"""Streaming a PairSet as decoded, resized, masked batches, prefetched by a thread pool."""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from gapviz._checks import check_choice, check_int
from gapviz._errors import GapvizError
from gapviz.inputs._boxes import box_of_mask, estimate_mask_in_box, item_key, scale_box
from gapviz.inputs._decode import (
    DecodeError,
    _check_size,
    decode_image_info,
    decode_mask,
    mask_from_array,
    probe_size,
    resize_image,
    resize_mask,
)
from gapviz.inputs._masks import estimate_mask
from gapviz.inputs._pairset import SIDES, Item, Pair, PairSet, Ref
from gapviz.inputs._provenance import boundary_error, mask_iou
from gapviz.inputs._size import MIN_SIDE, crop_box, geometry_notes, parse_size, rule_size, sample_evenly

MaskEstimator = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class SideView:
    """One side of a :class:`Batch` (``batch.view("real")``); fields may be None, see Batch.

    Examples
    --------
    >>> import numpy as np
    >>> from gapviz.inputs import build_pairs, iter_batches
    >>> masks = np.zeros((2, 16, 16), bool)
    >>> ps = build_pairs(np.zeros((2, 16, 16, 3), np.uint8), np.ones((2, 16, 16, 3), np.uint8),
    ...                  masks={"real": masks, "synth": masks})
    >>> batch = next(iter(iter_batches(ps, model_size=(8, 8))))
    >>> for side in ("real", "synth"):
    ...     view = batch.view(side)
    ...     print(side, view.images.shape, view.mask_analysis.shape, view.mask_source, view.refs)
    real (2, 8, 8, 3) (2, 16, 16) ('given', 'given') (0, 1)
    synth (2, 8, 8, 3) (2, 16, 16) ('given', 'given') (0, 1)
    """

    images: np.ndarray | None
    analysis: np.ndarray | None
    mask: np.ndarray | None
    mask_analysis: np.ndarray | None
    mask_source: tuple[str, ...]
    refs: tuple[Ref, ...]


@dataclass(frozen=True, repr=False)
class Batch:
    """One decoded batch from :func:`iter_batches`. Never empty.

    Attributes
    ----------
    index : int
        0, 1, 2, ... in yield order.
    side : str
        ``"pair"`` (paired mode: both sides present, row i of each is the same pair), or
        ``"real"`` / ``"synth"`` (unpaired mode: only that side's fields are set).
    stems : tuple of str
        Pair stems (paired) or item stems, one per row.
    pairs : tuple of Pair
        The pairs of the rows (paired mode), else empty.
    refs : dict
        ``{"real": (...), "synth": (...)}``: the file path or array index of each row.
    real, synth : numpy.ndarray or None
        ``(B, h, w, 3)`` uint8 at ``model_size`` (the same centred window as the analysis images).
    real_analysis, synth_analysis : numpy.ndarray or None
        ``(B, H, W, 3)`` uint8 at ``analysis_size`` (the same object as ``real``/``synth`` when
        the two sizes are equal).
    real_mask, synth_mask : numpy.ndarray or None
        ``(B, h, w)`` bool object masks at ``model_size`` (None when ``with_masks=False``).
    real_mask_analysis, synth_mask_analysis : numpy.ndarray or None
        ``(B, H, W)`` bool at ``analysis_size``.
    mask_source : dict
        ``{"real": ("given" | "estimated", ...), "synth": (...)}`` per row.
    skipped : tuple of dict
        ``{"path", "side", "reason", "stem"}`` for pairs/items dropped from this batch (and from
        preceding slices that were skipped entirely, since empty batches are never yielded).
    notes : tuple of dict
        ``{"stem", "side", "kind", "detail"}`` for everything done beyond plain decoding:
        ``image_resized`` / ``image_upscaled`` (to the analysis size), ``aspect_cropped`` (centre
        window of the analysis aspect), ``decoded_reduced`` (a large file decoded at reduced size),
        ``mask_resized``, ``mask_empty``, ``alpha_dropped``, ``first_frame_only``.
    model_size, analysis_size : tuple of int
        ``(h, w)`` and ``(H, W)``.

    Examples
    --------
    >>> import numpy as np
    >>> from gapviz.inputs import build_pairs, iter_batches
    >>> rng = np.random.default_rng(0)
    >>> masks = np.zeros((3, 16, 16), bool)
    >>> masks[:, 4:12, 4:12] = True
    >>> ps = build_pairs(rng.integers(0, 255, (3, 16, 16, 3), dtype=np.uint8),
    ...                  rng.integers(0, 255, (3, 16, 16, 3), dtype=np.uint8),
    ...                  masks={"real": masks, "synth": masks})
    >>> batch = next(iter(iter_batches(ps, model_size=(8, 8), batch_size=2)))
    >>> batch
    Batch(index=0, side='pair', n=2, model_size=(8, 8), analysis_size=(16, 16), skipped=0, notes=0)
    >>> batch.stems, batch.refs["real"], batch.mask_source["real"]
    (('00000', '00001'), (0, 1), ('given', 'given'))
    >>> batch.real.shape, batch.real_analysis.shape, batch.real_mask.shape, batch.real_mask_analysis.shape
    ((2, 8, 8, 3), (2, 16, 16, 3), (2, 8, 8), (2, 16, 16))
    """

    index: int
    side: str
    stems: tuple[str, ...]
    pairs: tuple[Pair, ...]
    refs: dict[str, tuple[Ref, ...]]
    real: np.ndarray | None
    synth: np.ndarray | None
    real_analysis: np.ndarray | None
    synth_analysis: np.ndarray | None
    real_mask: np.ndarray | None
    synth_mask: np.ndarray | None
    real_mask_analysis: np.ndarray | None
    synth_mask_analysis: np.ndarray | None
    mask_source: dict[str, tuple[str, ...]]
    skipped: tuple[dict[str, Any], ...]
    notes: tuple[dict[str, Any], ...]
    model_size: tuple[int, int]
    analysis_size: tuple[int, int]

    def __len__(self) -> int:
        return len(self.stems)

    def view(self, side: str) -> SideView:
        """The fields of one side, so that callers can loop over ``("real", "synth")``."""
        check_choice("side", side, SIDES)
        return SideView(
            getattr(self, side),
            getattr(self, f"{side}_analysis"),
            getattr(self, f"{side}_mask"),
            getattr(self, f"{side}_mask_analysis"),
            self.mask_source.get(side, ()),
            self.refs.get(side, ()),
        )

    def __repr__(self) -> str:
        return (
            f"Batch(index={self.index}, side={self.side!r}, n={len(self)}, model_size={self.model_size}, "
            f"analysis_size={self.analysis_size}, skipped={len(self.skipped)}, notes={len(self.notes)})"
        )


def _ref_label(ref: Ref, side: str) -> str:
    return f"{side} array[{ref}]" if isinstance(ref, int) else os.fspath(ref)


def resolve_analysis_size(
    pairset: PairSet, analysis_size: Any = None, model_size: tuple[int, int] | None = None
) -> tuple[int, int]:
    """The ``(H, W)`` image statistics run at, by rule (see `gapviz.inputs._size`), never by one file.

    ``analysis_size`` if given (an int N is N x N); else the median long side of up to 64 real
    images spread over the set (headers only), clamped to ``[8, 512]``, with the aspect ratio of
    ``model_size`` (or, without one, the sample's median aspect).

    Examples
    --------
    >>> import numpy as np
    >>> from gapviz.inputs import build_pairs
    >>> ps = build_pairs(np.zeros((2, 6, 9, 3), np.uint8), np.zeros((2, 4, 4, 3), np.uint8))
    >>> resolve_analysis_size(ps)
    (8, 9)
    >>> resolve_analysis_size(ps, model_size=(32, 32))
    (9, 9)
    """
    given = parse_size(analysis_size)
    if given is not None:
        return given
    aspect = None if model_size is None else model_size[1] / model_size[0]
    arr = pairset.arrays.get("real")
    if arr is not None:
        return rule_size([(int(arr.shape[1]), int(arr.shape[2]))], aspect)
    refs = [p.real for p in pairset.pairs] if pairset.paired else [it.source for it in pairset.real_items]
    sizes, first_error = [], None
    for ref in sample_evenly(refs):
        try:
            sizes.append(probe_size(ref))
        except DecodeError as exc:
            first_error = first_error or exc
    if not sizes and model_size is not None:
        # no real header is readable: those pairs will be skipped with their reasons; size by the model
        return rule_size([model_size], aspect)
    if not sizes:
        raise GapvizError(
            f"no real image has a readable header to take the analysis size from ({first_error}); "
            "pass analysis_size=(H, W) (--analysis-size on the command line) or fix the files"
        )
    return rule_size(sizes, aspect)


class _Loader:
    """Decodes one item to the arrays a batch needs (runs in worker threads; no shared state)."""

    def __init__(
        self,
        pairset: PairSet,
        model_size: tuple[int, int],
        analysis_size: tuple[int, int],
        with_masks: bool,
        estimator: MaskEstimator,
        mask_policy: str | None = None,
        boxes: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        self.ps, self.model_size, self.analysis_size = pairset, model_size, analysis_size
        self.with_masks, self.estimator = with_masks, estimator
        # the smallest decoded size that still covers both outputs (bounds the decode of large files)
        self.need = (max(model_size[0], analysis_size[0]), max(model_size[1], analysis_size[1]))
        self.policy = mask_policy
        self.boxes = boxes or {}

    def image(self, item: Item, notes: list[dict[str, Any]]) -> tuple[np.ndarray, tuple[int, int]]:
        """The decoded image (reduced when large) and the file's own ``(H, W)``."""
        arr = self.ps.arrays.get(item.side)
        if arr is not None:
            img = arr[int(item.source)]
            img = img if img.dtype == np.uint8 else np.clip(np.rint(img), 0, 255).astype(np.uint8)
            return img, img.shape[:2]
        img, info = decode_image_info(item.source, need=self.need)
        if info["alpha_dropped"]:
            notes.append(
                self._note(item, "alpha_dropped", f"non-opaque alpha channel dropped (mode {info['mode']})")
            )
        if info["frames"] > 1:
            notes.append(self._note(item, "first_frame_only", f"first of {info['frames']} frames used"))
        return img, tuple(info["native_size"])

    @staticmethod
    def _note(item: Item, kind: str, detail: str) -> dict[str, Any]:
        return {"stem": item.stem, "side": item.side, "kind": kind, "detail": detail}

    def _estimate(self, analysis: np.ndarray) -> np.ndarray:
        m_an = np.asarray(self.estimator(analysis), dtype=bool)
        if m_an.shape != self.analysis_size:
            raise GapvizError(
                f"the mask estimator returned shape {m_an.shape} for an image of {self.analysis_size}; "
                "it must return an (H, W) bool mask of the image's size"
            )
        return m_an

    def __call__(self, item: Item) -> dict[str, Any]:
        notes: list[dict[str, Any]] = []
        native, native_size = self.image(item, notes)
        dh, dw = native.shape[:2]
        if min(native_size) < MIN_SIDE:
            raise DecodeError(
                _ref_label(item.source, item.side),
                f"image is {native_size[0]}x{native_size[1]}, below the {MIN_SIDE}-pixel floor; "
                "it carries too little to measure",
            )
        # one centred window of the analysis aspect for the image, its mask and the model input
        top, left, ch, cw = box = crop_box(dh, dw, self.analysis_size)
        window = native[top : top + ch, left : left + cw]
        analysis = resize_image(window, self.analysis_size)
        for kind, detail in geometry_notes(native_size, (dh, dw), box, self.analysis_size):
            notes.append(self._note(item, kind, detail))
        model = analysis if self.model_size == self.analysis_size else resize_image(window, self.model_size)
        mh, mw = self.model_size
        if model is not analysis and (ch < mh * 0.99 or cw < mw * 0.99):
            notes.append(self._note(item, "model_upscaled", f"{native_size[0]}x{native_size[1]} upscaled "
                                    f"x{max(mh / ch, mw / cw):.2f} to the model input {mh}x{mw}"))  # fmt: skip
        out = {
            "model": model,
            "analysis": analysis,
            "notes": notes,
            "mask": None,
            "mask_analysis": None,
            "mask_source": None,
            "mask_provided": None,
            "mask_quality": None,
        }
        if not self.with_masks:
            return out
        box = self.boxes.get(item.side, {}).get(item_key(item))
        if box is not None:  # original pixels -> decoded pixels -> the centred window -> analysis pixels
            x0, y0, x1, y1 = scale_box(box, native_size, (dh, dw))
            box = scale_box((x0 - left, y0 - top, x1 - left, y1 - top), (ch, cw), self.analysis_size)
        if item.mask is None:
            out["mask_provided"] = "estimated"
            if box is not None and self.policy in (None, "boxes"):
                m_an, out["mask_source"] = estimate_mask_in_box(analysis, box), "boxes"
            else:
                m_an, out["mask_source"] = self._estimate(analysis), "estimated"
        else:
            marr = self.ps.mask_arrays.get(item.side)
            if marr is not None:
                m_native, note = mask_from_array(marr[int(item.mask)]), None
                if not m_native.any():
                    note = "mask is empty (no object pixels)"
            else:
                try:
                    m_native, note = decode_mask(item.mask, (dh, dw), need=self.need, image_size=native_size)
                except DecodeError as exc:
                    raise DecodeError(exc.path, f"mask: {exc.reason}") from None
            if note:
                kind = "mask_resized" if "resized" in note else "mask_empty"
                notes.append(self._note(item, kind, note))
            m_an = resize_mask(m_native[top : top + ch, left : left + cw], self.analysis_size)
            out["mask_source"] = out["mask_provided"] = "given"
            if self.policy in ("estimated", "boxes"):
                # same provenance on both sides: the statistics get the estimate, the given mask measures it
                given = m_an
                if self.policy == "boxes":
                    seed = box if box is not None else box_of_mask(given)
                    m_an = estimate_mask_in_box(analysis, seed) if seed is not None else self._estimate(analysis)
                else:
                    m_an = self._estimate(analysis)
                out["mask_source"] = self.policy
                out["mask_quality"] = (mask_iou(m_an, given), boundary_error(m_an, given))
        out["mask_analysis"] = m_an
        out["mask"] = m_an if self.model_size == self.analysis_size else resize_mask(m_an, self.model_size)
        return out


def _load_unit(loader: _Loader, side: str, unit: Pair | Item) -> dict[str, Any]:
    """Load a pair (both sides) or an item; decode problems become a ``skipped`` list, not an exception."""
    items = [unit.item("real"), unit.item("synth")] if side == "pair" else [unit]
    loaded, skipped = {}, []
    for it in items:
        try:
            loaded[it.side] = loader(it)
        except GapvizError as exc:
            reason = exc.reason if isinstance(exc, DecodeError) else str(exc)
            path = exc.path if isinstance(exc, DecodeError) else _ref_label(it.source, it.side)
            if isinstance(it.source, int) and isinstance(exc, DecodeError) and exc.path == "<bytes>":
                path = _ref_label(it.source, it.side)
            skipped.append({"path": path, "side": it.side, "reason": reason, "stem": it.stem})
    return {"loaded": loaded, "skipped": skipped}


class BatchStream:
    """An iterator of :class:`Batch` with running records; returned by :func:`iter_batches`.

    Attributes
    ----------
    model_size, analysis_size : tuple of int
        ``(h, w)`` and ``(H, W)``, fixed before the first batch.
    skipped : list of dict
        Every dropped pair/item so far: ``{"path", "side", "reason", "stem"}``.
    notes : list of dict
        Every note so far (see :class:`Batch`).
    mask_counts : dict
        ``{"real": {"given", "estimated"}, "synth": {...}}`` over the rows yielded so far: the
        masks the inputs *provided* (given, or none so estimated).
    mask_used : dict
        ``{"real": {"given", "estimated", "boxes"}, ...}``: the masks the batches carry
        (``batch.mask_source``; ``"boxes"`` = estimated from a box). Under a ``mask_policy`` a
        given mask is replaced by an estimated one.
    mask_quality : dict
        ``{"real": [(stem, iou, boundary_px), ...], "synth": [...]}``: the estimate against the
        given mask, for each replaced one.
    n_rows : int
        Rows (pairs, or items in unpaired mode) yielded so far.

    Examples
    --------
    A file that cannot be decoded drops its pair and is recorded; the stream goes on:

    >>> import tempfile
    >>> from pathlib import Path
    >>> from PIL import Image
    >>> from gapviz.inputs import build_pairs, iter_batches
    >>> tmp = tempfile.TemporaryDirectory()
    >>> for side in ("real", "synth"):
    ...     (Path(tmp.name) / side).mkdir()
    ...     for i in range(3):
    ...         Image.fromarray(np.full((32, 32, 3), 40 * i, np.uint8)).save(Path(tmp.name, side, f"{i}.png"))
    >>> _ = Path(tmp.name, "synth", "2.png").write_bytes(b"broken")
    >>> ps = build_pairs(Path(tmp.name, "real"), Path(tmp.name, "synth"))
    >>> with iter_batches(ps, model_size=(16, 16), with_masks=False) as stream:
    ...     sizes = [len(batch) for batch in stream]
    >>> sizes, stream
    ([2], BatchStream(rows=2, model_size=(16, 16), analysis_size=(32, 32), skipped=1))
    >>> stream.skipped
    [{'path': '.../synth/2.png', 'side': 'synth',
      'reason': 'not a recognised image format (corrupt or not an image)', 'stem': '2'}]
    >>> tmp.cleanup()
    """

    def __init__(
        self,
        pairset: PairSet,
        *,
        model_size: tuple[int, int] | None,
        analysis_size: tuple[int, int] | None,
        batch_size: int,
        prefetch: int,
        workers: int,
        with_masks: bool,
        mask_estimator: MaskEstimator,
        mask_policy: str | None = None,
        boxes: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        if not isinstance(pairset, PairSet):
            raise GapvizError(f"iter_batches needs a PairSet from build_pairs, got {type(pairset).__name__}")
        for name, value, low in (("batch_size", batch_size, 1), ("prefetch", prefetch, 1), ("workers", workers, 0)):
            check_int(name, value, low=low)
        model_size = None if model_size is None else _check_size(model_size, "model_size")
        self.analysis_size = resolve_analysis_size(pairset, analysis_size, model_size)
        self.model_size = self.analysis_size if model_size is None else model_size
        self.batch_size, self.prefetch, self.workers = int(batch_size), int(prefetch), int(workers)
        self.with_masks = with_masks
        self.pairset = pairset
        self.skipped: list[dict[str, Any]] = []
        self.notes: list[dict[str, Any]] = []
        self.mask_counts = {s: {"given": 0, "estimated": 0} for s in SIDES}
        self.mask_used = {s: {"given": 0, "estimated": 0, "boxes": 0} for s in SIDES}
        self.mask_quality: dict[str, list[tuple[str, float, float]]] = {s: [] for s in SIDES}
        self.n_rows = 0
        self._index = 0
        self._carry: list[dict[str, Any]] = []  # records of slices with no usable row, for the next batch
        self._carry_notes: list[dict[str, Any]] = []
        self._loader = _Loader(
            pairset, self.model_size, self.analysis_size, with_masks, mask_estimator, mask_policy, boxes
        )
        self._gen: Iterator[Batch] | None = None

    def _chunks(self) -> Iterator[tuple[str, list[Any]]]:
        bs = self.batch_size
        if self.pairset.paired:
            plan = [("pair", list(self.pairset.pairs))]
        else:
            plan = [(s, list(self.pairset.items(s))) for s in SIDES]
        for side, units in plan:
            for i in range(0, len(units), bs):
                yield side, units[i : i + bs]

    def __iter__(self) -> BatchStream:
        return self

    def __next__(self) -> Batch:
        if self._gen is None:
            self._gen = self._run()
        return next(self._gen)

    def close(self) -> None:
        """Stop decoding and release the worker threads (also done on exhaustion and by ``with``)."""
        if self._gen is not None:
            self._gen.close()

    def __enter__(self) -> BatchStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self) -> Iterator[Batch]:
        chunks = self._chunks()
        if self.workers == 0:  # synchronous: useful for debugging and profiling
            for side, units in chunks:
                yield from self._emit(side, units, [_load_unit(self._loader, side, u) for u in units])
            return
        pending: deque[tuple[str, list[Any], list[Future]]] = deque()
        pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="gapviz-decode")

        def submit() -> None:
            nxt = next(chunks, None)
            if nxt is not None:
                side, units = nxt
                pending.append((side, units, [pool.submit(_load_unit, self._loader, side, u) for u in units]))

        try:
            for _ in range(self.prefetch):
                submit()
            while pending:
                side, units, futures = pending.popleft()
                results = [f.result() for f in futures]  # in submission order: deterministic
                submit()  # keep `prefetch` batches decoding while the caller works on this one
                yield from self._emit(side, units, results)
        finally:
            for _, _, futures in pending:
                for f in futures:
                    f.cancel()
            pool.shutdown(wait=True, cancel_futures=True)

    def _emit(self, side: str, units: list[Any], results: list[dict[str, Any]]) -> Iterator[Batch]:
        rows, skipped, notes = [], [], []
        sides = SIDES if side == "pair" else (side,)
        for unit, res in zip(units, results, strict=True):
            if res["skipped"]:
                skipped.extend(res["skipped"])
                continue
            rows.append((unit, res["loaded"]))
            for s in sides:
                notes.extend(res["loaded"][s]["notes"])
        self.skipped.extend(skipped)
        self.notes.extend(notes)
        self._carry += skipped
        self._carry_notes += notes
        if not rows:
            return
        fields: dict[str, Any] = {}
        for s in SIDES:
            present = s in sides
            for key, name in (
                ("model", s),
                ("analysis", f"{s}_analysis"),
                ("mask", f"{s}_mask"),
                ("mask_analysis", f"{s}_mask_analysis"),
            ):
                if not present or (key.startswith("mask") and not self.with_masks):
                    fields[name] = None
                elif key == "analysis" and self.model_size == self.analysis_size:
                    fields[name] = fields[s]
                elif key == "mask_analysis" and self.model_size == self.analysis_size:
                    fields[name] = fields[f"{s}_mask"]
                else:
                    fields[name] = np.stack([loaded[s][key] for _, loaded in rows])
        mask_source = {}
        for s in sides:
            src = tuple(loaded[s]["mask_source"] for _, loaded in rows) if self.with_masks else ()
            mask_source[s] = src
            for v in src:
                self.mask_used[s][v] += 1
            for unit, loaded in rows:
                res = loaded[s]
                if res["mask_provided"] is not None:
                    self.mask_counts[s][res["mask_provided"]] += 1
                if res["mask_quality"] is not None:
                    self.mask_quality[s].append((unit.stem, *res["mask_quality"]))
        if side == "pair":
            pairs = tuple(u for u, _ in rows)
            refs = {"real": tuple(p.real for p in pairs), "synth": tuple(p.synth for p in pairs)}
        else:
            pairs = ()
            refs = {side: tuple(u.source for u, _ in rows)}
        batch = Batch(
            index=self._index,
            side=side,
            stems=tuple(u.stem for u, _ in rows),
            pairs=pairs,
            refs=refs,
            mask_source=mask_source,
            skipped=tuple(self._carry),
            notes=tuple(self._carry_notes),
            model_size=self.model_size,
            analysis_size=self.analysis_size,
            **fields,
        )
        self._index = batch.index + 1
        self._carry, self._carry_notes = [], []
        self.n_rows += len(batch)
        yield batch

    def __repr__(self) -> str:
        return (
            f"BatchStream(rows={self.n_rows}, model_size={self.model_size}, analysis_size={self.analysis_size}, "
            f"skipped={len(self.skipped)})"
        )


def iter_batches(
    pairset: PairSet,
    *,
    model_size: tuple[int, int] | None,
    analysis_size: tuple[int, int] | None = None,
    batch_size: int = 16,
    prefetch: int = 2,
    workers: int = 2,
    with_masks: bool = True,
    mask_estimator: MaskEstimator = estimate_mask,
    mask_policy: str | None = None,
    boxes: dict[str, dict[str, Any]] | None = None,
) -> BatchStream:
    """Stream a PairSet as decoded batches, prefetched by a thread pool, in a fixed order.

    Each pair (or, unpaired, each item: all real items first, then all synth items) is
    decoded, resized to ``analysis_size`` (image statistics) and to ``model_size`` (the
    network input, resized from the full-resolution image), and given an object mask: the
    given one (resized if its size differs, recorded) or an estimated one
    (``mask_estimator`` on the analysis-size image). A pair whose image or given mask cannot
    be decoded is dropped and recorded in ``batch.skipped`` and ``stream.skipped``; the
    stream never raises for one bad file.

    Parameters
    ----------
    pairset : PairSet
        From :func:`build_pairs`.
    model_size : tuple of int or None
        ``(h, w)`` of the model input; None means the analysis size.
    analysis_size : int or tuple of int, optional
        ``(H, W)`` for image statistics. Default: by rule (:func:`resolve_analysis_size`): the
        real images' median long side capped at 512, at the model's aspect ratio. Every image is
        centre-cropped to that aspect and resized (recorded as notes); images with a side under
        8 pixels are skipped and recorded.
    batch_size : int
        Rows per batch (the last, or one with skipped rows, is smaller; none is empty).
    prefetch : int
        Batches decoding ahead of the consumer: at most ``prefetch`` batches are in flight,
        which bounds memory.
    workers : int
        Decoder threads (PIL and OpenCV release the GIL). 0 decodes synchronously. The output
        does not depend on it.
    with_masks : bool
        Produce masks (False skips decoding and estimating them).
    mask_estimator : callable
        ``(H, W, 3) uint8 -> (H, W) bool``, used where no mask is given; default
        :func:`estimate_mask`. Must be thread-safe and deterministic.
    mask_policy : {None, "estimated", "boxes"}
        None: each image's given mask, else a mask estimated from its box, else an estimated
        one. ``"estimated"`` / ``"boxes"``: every mask estimated (from the image's box, or the
        given mask's bounding box, for ``"boxes"``), and where a mask was given it measures the
        estimate (``stream.mask_quality``). `compare` chooses it so that both sides'
        statistics use masks of the same provenance (`gapviz.inputs._provenance.choose_policy`).
    boxes : dict, optional
        ``{"real": {key: (x0, y0, x1, y1)}, "synth": {...}}`` in pixels of the original images;
        ``key`` is the image file's stem, or the row index as a string for arrays
        (`gapviz.inputs._boxes.item_key`).

    Returns
    -------
    BatchStream
        Iterate it for :class:`Batch` objects; its ``skipped``, ``notes`` and ``mask_counts``
        hold the running records. Use it in a ``with`` block (or call ``close()``) to stop
        early without leaving threads behind.

    Examples
    --------
    >>> import numpy as np
    >>> from gapviz.inputs import build_pairs
    >>> ps = build_pairs(np.zeros((5, 8, 8, 3), np.uint8), np.full((5, 8, 8, 3), 9, np.uint8))
    >>> with iter_batches(ps, model_size=(4, 4), batch_size=2, with_masks=False) as stream:
    ...     [b.real.shape for b in stream]
    [(2, 4, 4, 3), (2, 4, 4, 3), (1, 4, 4, 3)]
    """
    return BatchStream(
        pairset,
        model_size=model_size,
        analysis_size=analysis_size,
        batch_size=batch_size,
        prefetch=prefetch,
        workers=workers,
        with_masks=with_masks,
        mask_estimator=mask_estimator,
        mask_policy=mask_policy,
        boxes=boxes,
    )
